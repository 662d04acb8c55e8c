/**
 * The synchronization engine: sources, selection and discipline tied
 * together behind SyncEngineApi (engine-api.ts). Sans-IO: the driver (daemon,
 * library, simulator) feeds it time, datagrams and resolutions, and carries
 * out the actions it returns.
 *
 * Every estimate lives on the raw timescale of clock-model.ts, so a step or a
 * frequency change made by the engine changes no stored sample (chrony
 * re-bases its samples in change handlers to the same effect); only what is
 * reported against the disciplined clock is converted back.
 */
import { addSeconds, diffSeconds, instantToUnixNanos, type Instant } from '../time/instant.js';
import { fromNtpTimestamp } from '../time/timestamp.js';
import { shortToSeconds } from '../time/short.js';
import { Leap } from '../proto/constants.js';
import { refIdFromAddress, type Md5 } from '../proto/refid.js';
import type { NtpHeader } from '../proto/header.js';
import type {
  ActivityReport, DisciplineOptions, EngineAction, EngineCommand, EngineCommandResult, EngineCommandValues, EngineOptions,
  MeasurementEvent, NtpDataReport, SourceSelector, SyncEngineApi,
} from './engine-api.js';
import { ClockModel } from './clock-model.js';
import type { ClockController } from './clock-controller.js';
import { controllerFactory, DEFAULT_CONTROLLER } from './controllers.js';
import { isLeapDay, leapShift, leapVote, nextMidnight, type LeapKind } from './leap.js';
import { addressKey, DEFAULT_RESOLVE_INTERVAL, FALSETICKER_SAMPLES, isAddressLiteral, Resolver, UNREACHABLE_POLLS } from './pool.js';
import { PHI, rootDistance, type Sample } from './sample.js';
import { selectSources, type SelectionCandidate, type Verdict } from './selection.js';
import { SNAPSHOT_VERSION, type DaemonSnapshot, type SourceSnapshot, type TrackingSnapshot } from './snapshot.js';
import { SourcePoller } from './source.js';
import type { SourceOptions } from './source-options.js';
import { SourceStats, STATS_DEFAULTS, type StatsOptions } from './source-stats.js';
import { synchronizedState, unsynchronizedState, type SystemState } from './system.js';

/** Tuning knobs of the engine beyond the configuration (tests and benchmarks). */
export interface EngineTuning {
  readonly stats?: Partial<StatsOptions>;
  /** Shortest slew of an offset correction, seconds. */
  readonly minSlewTime?: number;
}

interface Entry {
  readonly id: number;
  readonly options: SourceOptions;
  readonly pool: Resolver | null;
  /** Resolver of a `server` given by name, or null for address literals and pool members. */
  readonly resolver: Resolver | null;
  address: string | null;
  key: string | null;
  readonly poller: SourcePoller;
  stats: SourceStats;
  verdict: Verdict;
  lastRxAt: Instant | null;
  lastSample: { measuredOffset: number; phase: number; delay: number; dispersion: number } | null;
  /** Samples the filter accepted (chronyc ntpdata's Total good RX). */
  goodRx: number;
  falsetickerStreak: number;
  /** The last reply said leap 3 / stratum 16. */
  unsynchronized: boolean;
  /** Reported unreachable (event sent). */
  unreachableReported: boolean;
}

const UNRESOLVED: Verdict = Object.freeze({ verdict: 'unusable', reason: 'not resolved yet' });

export class SyncEngine implements SyncEngineApi {
  private readonly o: EngineOptions;
  private readonly d: DisciplineOptions;
  private readonly statsOptions: StatsOptions;
  private readonly minSlewTime: number;
  private readonly md5: Md5;
  private clock: ClockModel | null = null;
  private controller: ClockController | null = null;
  private origin: Instant = 0n;
  private readonly entries: Entry[] = [];
  private readonly pools: { resolver: Resolver; options: SourceOptions; id: number }[] = [];
  private nextId = 1;
  private synchronized = false;
  private selectedId: number | null = null;
  private combinedIds: number[] = [];
  private lastSelectionReason: string | null = 'starting';
  private reference: { stratum: number; referenceId: number; name: string; rootDelay: number; rootDispersion: number; at: Instant } | null = null;
  private pendingLeap: LeapKind = 'none';
  private leapAt: Instant | null = null;
  private started = false;

  constructor(options: EngineOptions & { readonly tuning?: EngineTuning }) {
    this.o = options;
    this.d = options.discipline;
    this.statsOptions = { ...STATS_DEFAULTS, precision: options.precision, ...(options.tuning?.stats ?? {}) };
    this.minSlewTime = options.tuning?.minSlewTime ?? 1;
    this.md5 = options.md5 ?? fnvDigest;
  }

  // ---- SyncEngineApi ----

  start(now: Instant): EngineAction[] {
    if (this.started) return [];
    this.started = true;
    const actions: EngineAction[] = [];
    const ppm = this.d.initialFrequencyPpm ?? 0;
    this.origin = now;
    this.clock = new ClockModel(now, ppm);
    this.controller = controllerFactory(this.o.controller ?? DEFAULT_CONTROLLER)({ options: this.d, clock: this.clock, minSlewTime: this.minSlewTime });
    // The engine's model of the clock starts exact: it sets the frequency itself.
    actions.push({ kind: 'set-frequency', ppm });
    actions.push({ kind: 'set-status', synchronized: false, leap: 'none', estError: 16, maxError: 16 });
    for (const so of this.o.sources) this.addConfigured(so, now, actions);
    this.poll(now, actions);
    return this.finish(now, actions);
  }

  /** A `server` or `pool` line, at start or added at run time: returns its id. */
  private addConfigured(so: SourceOptions, now: Instant, actions: EngineAction[]): number {
    const refresh = this.o.resolveInterval ?? DEFAULT_RESOLVE_INTERVAL;
    if (so.kind === 'pool') {
      const r = new Resolver(so.host, refresh);
      const id = this.nextId++;
      this.pools.push({ resolver: r, options: so, id });
      if (r.request(now)) actions.push({ kind: 'resolve', sourceId: id, host: so.host });
      return id;
    }
    const literal = isAddressLiteral(so.host);
    const e = this.newEntry(so, null, literal ? null : new Resolver(so.host, refresh));
    if (literal) this.assign(e, stripBrackets(so.host), now);
    else if (e.resolver?.request(now)) actions.push({ kind: 'resolve', sourceId: e.id, host: so.host });
    return e.id;
  }

  tick(now: Instant): EngineAction[] {
    if (!this.started) return [];
    const actions: EngineAction[] = [];
    this.disc().tick(now, actions);
    if (this.leapAt !== null && now >= this.leapAt) this.applyLeap(now, actions);
    this.maintain(now, actions);
    this.poll(now, actions);
    return this.finish(now, actions);
  }

  sent(sourceId: number, t1: Instant): void {
    this.entries.find((e) => e.id === sourceId)?.poller.sent(t1);
  }

  receive(datagram: { readonly address: string; readonly port: number; readonly data: Uint8Array; readonly t4: Instant }, now: Instant): EngineAction[] {
    if (!this.started) return [];
    const actions: EngineAction[] = [];
    const key = addressKey(datagram.address);
    const e = this.entries.find((x) => {
      if (x.address === null) return false;
      const d = x.poller.auth?.destination?.() ?? null;
      if (d === null) return x.key === key && x.options.port === datagram.port;
      return (d.address === null ? x.key : addressKey(d.address)) === key && d.port === datagram.port;
    });
    if (e === undefined) return [];
    const clock = this.clk();
    const out = e.poller.receive(datagram.data, datagram.t4, clock.stepEpoch);
    switch (out.kind) {
      case 'ignored':
        return [];
      case 'kod':
        // Once per episode: a refusing server answers every poll with the same kiss.
        if (out.fresh) actions.push({ kind: 'event', event: { type: 'kiss', sourceId: e.id, code: out.code, action: out.action, poll: e.poller.poll } });
        if (out.action === 'refused') this.select(now, null, actions);
        return this.finish(now, actions);
      case 'unsynchronized':
        e.unsynchronized = true;
        e.unreachableReported = false;
        this.select(now, null, actions);
        return this.finish(now, actions);
      case 'sample':
        break;
    }
    e.unsynchronized = false;
    e.unreachableReported = false;
    const s = out.sample;
    if (s.delay > e.options.maxdelay) {
      actions.push(this.measured(e, out, [false, true, true, true], null));
      return this.finish(now, actions);
    }
    const f0 = e.stats.filter.initialized ? { freq: e.stats.filter.freq, sd: Math.sqrt(e.stats.filter.pFreq) } : null;
    const c1 = clock.corrAt(s.t1);
    const c4 = clock.corrAt(s.t4);
    const rawT = (diffSeconds(s.t1, this.origin) - c1 + diffSeconds(s.t4, this.origin) - c4) / 2;
    const res = e.stats.add({
      t: rawT,
      rawOffset: s.offset + (c1 + c4) / 2,
      measuredOffset: s.offset,
      delay: Math.max(s.delay - (c4 - c1), this.o.precision),
      dispersion: s.dispersion,
    });
    if (!res.accepted) {
      actions.push(this.measured(e, out, [true, true, res.reason !== 'delay-outlier', true], null));
      return this.finish(now, actions);
    }
    e.goodRx++;
    e.lastRxAt = datagram.t4;
    e.lastSample = { measuredOffset: s.offset, phase: clock.phaseAt(s.t4), delay: s.delay, dispersion: s.dispersion };
    e.poller.adapt(this.information(e));
    actions.push(this.measured(e, out, [true, true, true, true], this.statsRecord(e, now, f0)));
    this.select(now, e, actions);
    return this.finish(now, actions);
  }

  resolved(sourceId: number, result: { readonly addresses: readonly string[] } | { readonly error: string }, now: Instant): EngineAction[] {
    if (!this.started) return [];
    const actions: EngineAction[] = [];
    const pool = this.pools.find((p) => p.id === sourceId);
    if (pool !== undefined) {
      pool.resolver.resolved(result, now);
      // Nothing new in a fresh list: the addresses given up on may be tried again.
      if ('addresses' in result && pool.resolver.fresh(this.inUse()) === null) pool.resolver.forgetRetired();
      this.fillPool(pool, now, actions);
    } else {
      const e = this.entries.find((x) => x.id === sourceId);
      if (e?.resolver != null) {
        e.resolver.resolved(result, now);
        const first = e.resolver.addresses[0];
        if (first !== undefined && (e.address === null || (e.poller.reach === 0 && addressKey(first) !== e.key))) {
          const old = e.address;
          this.assign(e, first, now);
          if (old !== null) actions.push({ kind: 'event', event: { type: 'source-replaced', sourceId: e.id, oldAddress: old, newAddress: first } });
        }
      }
    }
    this.poll(now, actions);
    return this.finish(now, actions);
  }

  snapshot(now: Instant, clock: DaemonSnapshot['clock']): DaemonSnapshot {
    return {
      version: SNAPSHOT_VERSION,
      time: unixString(now),
      clock,
      tracking: this.tracking(now),
      sources: this.entries.map((e) => this.sourceSnapshot(e, now)),
    };
  }

  /** The state the daemon's NTP server serves (stratum, refid, root delay and dispersion, leap). */
  systemState(now: Instant): SystemState {
    const precision = Math.round(Math.log2(this.o.precision));
    const ref = this.reference;
    if (!this.synchronized || ref === null || ref.stratum >= 16) return unsynchronizedState(precision);
    const leap = this.pendingLeap === 'insert' ? Leap.InsertSecond : this.pendingLeap === 'delete' ? Leap.DeleteSecond : Leap.NoWarning;
    void now;
    return synchronizedState({
      leap, stratum: ref.stratum, referenceId: ref.referenceId, referenceTime: ref.at,
      rootDelay: ref.rootDelay, rootDispersion: ref.rootDispersion, precision,
      dispersionRate: PHI + this.disc().skewPpm * 1e-6,
    });
  }

  /** The drift file's contents now (frequency and skew, ppm): the daemon writes it on demand (SIGTERM). */
  drift(): { frequencyPpm: number; skewPpm: number } {
    return this.disc().drift();
  }

  control<C extends EngineCommand>(command: C, now: Instant): EngineCommandResult<C['op']> {
    if (!this.started) return { ok: false, code: 'not-started', message: 'The engine has not started' };
    const actions: EngineAction[] = [];
    const done = <K extends EngineCommand['op']>(value: EngineCommandValues[K]): EngineCommandResult<K> =>
      ({ ok: true, actions: this.finish(now, actions), value });
    const none = (sel: SourceSelector): EngineCommandResult<C['op']> =>
      ({ ok: false, code: 'no-such-source', message: `No such source: ${sel ?? '(any)'}` });
    const c = command as EngineCommand;
    switch (c.op) {
      case 'makestep':
        return done<'makestep'>({ seconds: this.disc().stepRemaining(now, actions) }) as EngineCommandResult<C['op']>;
      case 'set-makestep':
        if (!(c.threshold >= 0) || !Number.isFinite(c.threshold) || !Number.isInteger(c.limit)) {
          return { ok: false, code: 'bad-value', message: `Cannot set makestep: threshold must be a number >= 0 and limit an integer, got ${c.threshold} ${c.limit}` };
        }
        this.disc().setMakestep(c.threshold, c.limit);
        return done<'set-makestep'>(null) as EngineCommandResult<C['op']>;
      case 'burst': {
        if (!Number.isInteger(c.good) || !Number.isInteger(c.max) || c.good < 1 || c.max < c.good || c.max > 2048) {
          return { ok: false, code: 'bad-value', message: `Cannot burst ${c.good}/${c.max}: give GOOD/MAX with 1 <= GOOD <= MAX <= 2048` };
        }
        const hit = this.matching(c.selector);
        if (hit.length === 0 && c.selector !== null) return none(c.selector);
        let n = 0;
        for (const e of hit) {
          if (e.address === null) continue;
          e.poller.startBurst(now, c.good, c.max);
          n++;
        }
        this.poll(now, actions);
        return done<'burst'>({ sources: n }) as EngineCommandResult<C['op']>;
      }
      case 'online':
      case 'offline': {
        const hit = this.matching(c.selector);
        if (hit.length === 0 && c.selector !== null) return none(c.selector);
        for (const e of hit) e.poller.setOnline(now, c.op === 'online');
        this.poll(now, actions);
        return done<'online'>({ sources: hit.length }) as EngineCommandResult<C['op']>;
      }
      case 'add-source': {
        const so = c.source;
        const key = addressKey(so.host);
        const clash = this.entries.some((e) => e.pool === null && e.options.port === so.port && (addressKey(e.options.host) === key || e.key === key)) ||
          this.pools.some((p) => addressKey(p.options.host) === key && p.options.port === so.port);
        if (clash) return { ok: false, code: 'source-exists', message: `Source ${so.host} port ${so.port} is already present` };
        const id = this.addConfigured(so, now, actions);
        this.poll(now, actions);
        return done<'add-source'>({ sourceId: id }) as EngineCommandResult<C['op']>;
      }
      case 'delete-source': {
        const hit = this.matching(c.selector);
        const pools = this.pools.filter((p) => addressKey(p.options.host) === addressKey(c.selector));
        if (hit.length === 0 && pools.length === 0) return none(c.selector);
        for (const p of pools) this.pools.splice(this.pools.indexOf(p), 1);
        for (const e of hit) {
          this.entries.splice(this.entries.indexOf(e), 1);
          // A pool fills the place again, but not with the address just deleted.
          if (e.pool !== null && e.address !== null) e.pool.retire(e.address);
        }
        this.select(now, null, actions);
        return done<'delete-source'>({ sources: hit.length }) as EngineCommandResult<C['op']>;
      }
      case 'activity':
        return done<'activity'>(this.activity()) as EngineCommandResult<C['op']>;
      case 'ntpdata': {
        const hit = this.matching(c.selector).filter((e) => e.address !== null);
        if (hit.length === 0 && c.selector !== null) return none(c.selector);
        return done<'ntpdata'>(hit.map((e) => this.ntpData(e))) as EngineCommandResult<C['op']>;
      }
    }
  }

  /** The sources a selector names: by address (any spelling), configured name, or pool name. */
  private matching(sel: SourceSelector): Entry[] {
    if (sel === null) return [...this.entries];
    const key = addressKey(sel);
    return this.entries.filter((e) => e.key === key || addressKey(e.options.host) === key);
  }

  private activity(): ActivityReport {
    let online = 0, offline = 0, burstOnline = 0, burstOffline = 0, unresolved = 0;
    for (const e of this.entries) {
      if (e.address === null) unresolved++;
      else if (e.poller.bursting) {
        if (e.poller.online) burstOnline++;
        else burstOffline++;
      } else if (e.poller.online) online++;
      else offline++;
    }
    // A pool whose name has not resolved yet has no members: it counts as one source of unknown address.
    for (const p of this.pools) if (!this.entries.some((e) => e.pool === p.resolver)) unresolved++;
    return { online, offline, burstOnline, burstOffline, unresolved };
  }

  /** chronyc ntpdata shows the last valid reply, a kiss or an unsynchronized one too (chronyd's report). */
  private ntpData(e: Entry): NtpDataReport {
    const reply = e.poller.lastReply;
    const h = reply?.header ?? null;
    // Only a synchronized reply measured anything.
    const ls = reply?.synchronized === true ? e.lastSample : null;
    const root = { delay: h === null ? 0 : shortToSeconds(h.rootDelay), dispersion: h === null ? 0 : shortToSeconds(h.rootDispersion) };
    const leap = h === null ? 'normal' : h.leap === Leap.InsertSecond ? 'insert' : h.leap === Leap.DeleteSecond ? 'delete' : h.leap === Leap.NoWarning ? 'normal' : 'unsynchronized';
    return {
      sourceId: e.id,
      name: e.options.host,
      remoteAddress: e.address as string,
      remotePort: e.options.port,
      leap,
      version: h?.version ?? 0,
      mode: h?.mode ?? 0,
      stratum: h?.stratum ?? 0,
      poll: e.poller.poll,
      precision: h?.precision ?? 0,
      rootDelay: root.delay,
      rootDispersion: root.dispersion,
      referenceId: h?.referenceId ?? 0,
      referenceTime: h === null || h.referenceTimestamp === 0n ? null : unixString(fromNtpTimestamp(h.referenceTimestamp, e.lastRxAt ?? this.origin)),
      offset: ls?.measuredOffset ?? 0,
      peerDelay: ls?.delay ?? 0,
      peerDispersion: ls?.dispersion ?? 0,
      responseTime: ls === null ? 0 : e.poller.lastResponseTime,
      // chronyd's tests 1-3, 5-7, A-D: a valid reply passed 1-3 and 5; one that is not synchronized fails 6 and measures nothing.
      tests: reply === null ? '000 000 0000' : reply.synchronized ? '111 111 1111' : `111 10${root.delay / 2 + root.dispersion < 16 ? 1 : 0} 0000`,
      kissCode: e.poller.kod?.code ?? null,
      interleaved: e.poller.interleaved,
      authenticated: e.poller.authenticated,
      authMode: e.poller.auth?.kind ?? 'none',
      authFailures: e.poller.authFailures,
      authNaks: e.poller.authNaks,
      lastAuthFailure: e.poller.lastAuthFailure,
      totalTx: e.poller.totalTx,
      totalRx: e.poller.totalRx,
      totalValidRx: e.poller.totalValidRx,
      totalGoodRx: e.goodRx,
    };
  }

  // ---- sources ----

  private newEntry(options: SourceOptions, pool: Resolver | null, resolver: Resolver | null): Entry {
    const e: Entry = {
      id: this.nextId++, options, pool, resolver, address: null, key: null,
      poller: new SourcePoller(options, this.o.random, this.o.precision, this.o.authenticatorFor?.(options) ?? null),
      stats: this.newStats(options),
      verdict: UNRESOLVED, lastRxAt: null, lastSample: null, goodRx: 0, falsetickerStreak: 0, unsynchronized: false,
      unreachableReported: false,
    };
    this.entries.push(e);
    return e;
  }

  private newStats(o: SourceOptions): SourceStats {
    // The window always holds maxsamples once filled (the Kalman state carries what is older), so
    // chrony's minsamples only matters when it asks for more than that: then the window grows to it.
    const size = Math.max(o.maxsamples ?? this.statsOptions.maxSamples, o.minsamples ?? 0, 2);
    const so: StatsOptions = { ...this.statsOptions, maxSamples: size };
    return new SourceStats(so, this.freqPrior());
  }

  /** What a new source's filter assumes about the oscillator before its second sample. */
  private freqPrior(): { value: number; variance: number } {
    const d = this.disc();
    const value = this.clk().basePpm * 1e-6;
    if (this.synchronized) return { value, variance: (Math.max(3 * d.skewPpm, 1) * 1e-6) ** 2 };
    if (this.d.initialFrequencyPpm !== null) return { value, variance: (Math.max(3 * (this.d.initialSkewPpm ?? 1), 1) * 1e-6) ** 2 };
    return { value, variance: (this.d.maxdrift * 1e-6) ** 2 };
  }

  private assign(e: Entry, address: string, now: Instant): void {
    e.address = address;
    e.key = addressKey(address);
    e.stats = this.newStats(e.options);
    e.lastRxAt = null;
    e.lastSample = null;
    e.falsetickerStreak = 0;
    e.unsynchronized = false;
    e.unreachableReported = false;
    e.verdict = { verdict: 'unusable', reason: 'no samples yet' };
    e.poller.begin(now);
  }

  private inUse(): Set<string> {
    return new Set(this.entries.flatMap((e) => (e.key === null ? [] : [e.key])));
  }

  private fillPool(pool: { resolver: Resolver; options: SourceOptions; id: number }, now: Instant, actions: EngineAction[]): void {
    const members = this.entries.filter((e) => e.pool === pool.resolver);
    for (const m of members) {
      if (m.address === null || this.needsReplacement(m)) {
        const fresh = pool.resolver.fresh(this.inUse());
        if (fresh === null) continue;
        const old = m.address;
        if (old !== null) pool.resolver.retire(old);
        this.assign(m, fresh, now);
        if (old !== null) actions.push({ kind: 'event', event: { type: 'source-replaced', sourceId: m.id, oldAddress: old, newAddress: fresh } });
      }
    }
    while (this.entries.filter((e) => e.pool === pool.resolver).length < pool.options.maxsources) {
      const fresh = pool.resolver.fresh(this.inUse());
      if (fresh === null) break;
      const m = this.newEntry(pool.options, pool.resolver, null);
      this.assign(m, fresh, now);
    }
  }

  /** chrony replaces pool members that stay unreachable or keep being falsetickers; one that refuses us (KoD DENY/RSTR) goes at once. */
  private needsReplacement(e: Entry): boolean {
    if (e.address === null) return false;
    return e.poller.refused ||
      (e.poller.reach === 0 && e.poller.sentSinceReply >= UNREACHABLE_POLLS) ||
      e.falsetickerStreak >= FALSETICKER_SAMPLES;
  }

  /** Re-resolutions, replacements, unreachability. */
  private maintain(now: Instant, actions: EngineAction[]): void {
    let reachLost = false;
    for (const e of this.entries) {
      // A refusing server answers: its kiss was reported, not silence.
      if (e.address !== null && e.poller.reach === 0 && e.poller.sentSinceReply > 0 && !e.unreachableReported && e.lastRxAt !== null && !e.poller.refused) {
        e.unreachableReported = true;
        reachLost = true;
        actions.push({ kind: 'event', event: { type: 'source-unreachable', sourceId: e.id } });
      }
      // A named server that never answers may have moved: resolve its name again.
      if (e.resolver !== null && e.address !== null && e.poller.reach === 0 && e.poller.sentSinceReply >= UNREACHABLE_POLLS &&
          e.resolver.request(now, true)) {
        actions.push({ kind: 'resolve', sourceId: e.id, host: e.options.host });
      }
      if (e.resolver !== null && e.resolver.due(now) && e.resolver.request(now)) {
        actions.push({ kind: 'resolve', sourceId: e.id, host: e.options.host });
      }
    }
    for (const p of this.pools) {
      const members = this.entries.filter((e) => e.pool === p.resolver);
      const short = members.length < p.options.maxsources || members.some((m) => this.needsReplacement(m));
      if (short) {
        this.fillPool(p, now, actions);
        const still = this.entries.filter((e) => e.pool === p.resolver);
        const needMore = still.length < p.options.maxsources || still.some((m) => this.needsReplacement(m));
        if (needMore && p.resolver.request(now, true)) actions.push({ kind: 'resolve', sourceId: p.id, host: p.options.host });
      } else if (p.resolver.due(now) && p.resolver.request(now)) {
        actions.push({ kind: 'resolve', sourceId: p.id, host: p.options.host });
      }
    }
    if (reachLost) this.select(now, null, actions);
  }

  private poll(now: Instant, actions: EngineAction[]): void {
    const epoch = this.clk().stepEpoch;
    for (const e of this.entries) {
      if (e.address === null || !e.poller.due(now)) continue;
      const req = e.poller.transmit(now, epoch);
      if (req === null) continue;
      const d = e.poller.auth?.destination?.() ?? null;
      actions.push({ kind: 'send', sourceId: e.id, address: d?.address ?? e.address, port: d?.port ?? e.options.port, packet: req.packet });
    }
  }

  /** Samples' worth of information the estimate holds: typical per-sample information (SourceStats.windowVariances) over the estimate's. */
  private information(e: Entry): number {
    const f = e.stats.filter;
    let inv = 0;
    for (const v of e.stats.windowVariances()) inv += 1 / v;
    const n = e.stats.window.length;
    if (n === 0 || inv === 0) return 0;
    const typical = n / inv;
    return typical / f.pPhase;
  }

  // ---- selection and the clock ----

  private estimateOf(e: Entry, now: Instant): { offset: number; freq: number; pPhase: number; pFreq: number; distance: number } | null {
    if (!e.stats.filter.initialized || e.lastSample === null) return null;
    const clock = this.clk();
    const p = e.stats.filter.predict(clock.rawSeconds(now, this.origin));
    const root = e.poller.root();
    const age = e.lastRxAt === null ? 0 : Math.max(0, diffSeconds(now, e.lastRxAt));
    const distance = rootDistance({
      delay: Math.min(e.stats.minDelay(), e.lastSample.delay),
      dispersion: e.lastSample.dispersion + PHI * age,
      rootDelay: root.delay,
      rootDispersion: root.dispersion,
      jitter: 3 * Math.sqrt(p.pPhase),
    });
    return { offset: p.phase - clock.corrAt(now), freq: p.freq, pPhase: p.pPhase, pFreq: p.pFreq, distance };
  }

  private unusableReason(e: Entry): string | null {
    if (e.address === null) return e.resolver?.lastError != null ? `cannot resolve: ${e.resolver.lastError}` : 'not resolved yet';
    const kod = e.poller.kod;
    if (kod !== null && kod.action === 'refused') return `KoD ${kod.code}: the server refuses us; asking again every poll, backing off to maxpoll`;
    if (e.unsynchronized) return 'source unsynchronized';
    if (e.poller.reach === 0) return e.poller.auth?.problem?.() ?? (e.stats.count === 0 ? 'no reply yet' : 'unreachable');
    if (e.stats.count === 0 || !e.stats.filter.initialized) return 'no samples yet';
    const st = e.poller.lastHeader?.stratum ?? 0;
    if (st >= 16) return 'source unsynchronized';
    return null;
  }

  /** Runs selection; `from` is the source whose new sample prompted it (null: a state change). */
  private select(now: Instant, from: Entry | null, actions: EngineAction[]): void {
    const candidates: SelectionCandidate[] = [];
    const estimates = new Map<number, NonNullable<ReturnType<SyncEngine['estimateOf']>>>();
    for (const e of this.entries) {
      const est = this.estimateOf(e, now);
      const unusable = this.unusableReason(e) ?? (est === null ? 'no samples yet' : null);
      if (est !== null) estimates.set(e.id, est);
      candidates.push({
        id: e.id, offset: est?.offset ?? 0, distance: est?.distance ?? Infinity, unusable,
        noselect: e.options.noselect, prefer: e.options.prefer, trust: e.options.trust, require: e.options.require,
      });
    }
    const r = selectSources(candidates, { minsources: this.d.minsources, maxdistance: this.d.maxdistance, previous: this.selectedId });
    for (const e of this.entries) {
      const v = r.verdicts.get(e.id) ?? UNRESOLVED;
      if (v.verdict === 'falseticker' && e.verdict.verdict !== 'falseticker') {
        actions.push({ kind: 'event', event: { type: 'falseticker', sourceId: e.id } });
      }
      e.verdict = v;
    }
    if (from !== null) from.falsetickerStreak = from.verdict.verdict === 'falseticker' ? from.falsetickerStreak + 1 : 0;
    this.lastSelectionReason = r.reason;
    if (r.selected === null) {
      this.selectedId = null;
      this.combinedIds = [];
      if (this.synchronized) {
        this.synchronized = false;
        actions.push({ kind: 'event', event: { type: 'unsynchronized', reason: r.reason ?? 'no source selected' } });
        actions.push({ kind: 'set-status', synchronized: false, leap: 'none', estError: 16, maxError: 16 });
      }
      return;
    }
    this.selectedId = r.selected;
    this.combinedIds = [...r.combined];
    this.updateLeap(now, r.truechimers, actions);
    // Only a new sample from a source in the combination moves the clock.
    if (from === null || !r.combined.includes(from.id)) return;
    this.updateClock(now, r.combined, estimates, actions);
  }

  private updateClock(now: Instant, combined: readonly number[], estimates: ReadonlyMap<number, NonNullable<ReturnType<SyncEngine['estimateOf']>>>, actions: EngineAction[]): void {
    // Combine by inverse root distance (RFC 5905 §11.2.3, chrony's combine).
    let w = 0;
    let off = 0;
    let freq = 0;
    let pFreq = 0;
    let pPhase = 0;
    for (const id of combined) {
      const est = estimates.get(id);
      if (est === undefined) continue;
      const wi = 1 / Math.max(est.distance, 1e-9);
      w += wi;
      off += wi * est.offset;
      freq += wi * est.freq;
      pFreq += wi * est.pFreq;
      pPhase += wi * est.pPhase;
    }
    if (w === 0) return;
    off /= w;
    freq /= w;
    pFreq /= w;
    pPhase /= w;
    const disc = this.disc();
    const remaining = disc.remainingCorrection(now);
    const prev = this.reference;
    const mark = actions.length;
    const outcome = disc.update(now, { offset: off, freqPpm: freq * 1e6, skewPpm: Math.sqrt(pFreq) * 1e6 }, actions);
    if (outcome === 'ignored' || outcome === 'fatal') {
      actions.push({ kind: 'event', event: { type: 'maxchange', offset: off, fatal: outcome === 'fatal' } });
      return;
    }
    // chronyd (reference.c) logs the offset of each update beyond logchange, before a step. Its
    // offsets are against a clock that already counts the correction under way; ours are against
    // the clock as it reads, so that part is taken out: a 10 s jump is reported once, not at every
    // update while it is slewed out.
    const wrong = off - remaining;
    if (Math.abs(wrong) > this.d.logchange) actions.splice(mark, 0, { kind: 'event', event: { type: 'clock-wrong', seconds: wrong } });
    const sel = this.entries.find((e) => e.id === combined[0]) as Entry;
    const root = sel.poller.root();
    const st = sel.poller.lastHeader?.stratum ?? 15;
    const at = outcome === 'stepped' ? addSeconds(now, off) : now;
    const ref = {
      stratum: Math.min(st + 1, 16),
      referenceId: sel.address === null ? 0 : refIdFromAddress(sel.address, this.md5) >>> 0,
      name: sel.address ?? sel.options.host,
      rootDelay: root.delay + (sel.lastSample?.delay ?? 0),
      rootDispersion: root.dispersion + (sel.lastSample?.dispersion ?? 0) + Math.sqrt(pPhase),
      at,
    };
    this.reference = ref;
    if (!this.synchronized) {
      this.synchronized = true;
      actions.push({ kind: 'event', event: { type: 'synchronized', sourceId: sel.id, offset: off } });
    }
    const prevError = prev === null ? 0 : prev.rootDelay / 2 + prev.rootDispersion + (PHI + disc.skewPpm * 1e-6) * Math.max(0, diffSeconds(now, prev.at));
    actions.push({
      kind: 'event',
      event: {
        type: 'clock-update', at: now, address: ref.name, stratum: ref.stratum, frequencyPpm: -disc.frequencyPpm, skewPpm: disc.skewPpm,
        offset: -off, leap: this.pendingLeap, combined: combined.length, offsetSd: Math.sqrt(pPhase), remainingCorrection: remaining,
        rootDelay: ref.rootDelay, rootDispersion: ref.rootDispersion, maxError: Math.abs(off) + Math.abs(remaining) + prevError,
      },
    });
    actions.push({
      kind: 'set-status', synchronized: true,
      leap: this.d.leapsecmode === 'system' ? this.pendingLeap : 'none',
      estError: Math.sqrt(pPhase) + Math.abs(disc.remainingCorrection(at)),
      maxError: ref.rootDelay / 2 + ref.rootDispersion,
    });
  }

  private updateLeap(now: Instant, truechimers: readonly number[], actions: EngineAction[]): void {
    const votes = this.entries.filter((e) => truechimers.includes(e.id)).map((e) => e.poller.leap());
    const vote = isLeapDay(now) ? leapVote(votes) : 'none';
    if (vote !== this.pendingLeap) {
      this.pendingLeap = vote;
      this.leapAt = vote === 'none' ? null : nextMidnight(now);
      if (vote !== 'none') actions.push({ kind: 'event', event: { type: 'leap', leap: vote } });
    }
  }

  /** The leap second is due: UTC moved by a second; make the clock follow per leapsecmode. */
  private applyLeap(now: Instant, actions: EngineAction[]): void {
    const kind = this.pendingLeap;
    const at = this.leapAt as Instant;
    this.pendingLeap = 'none';
    this.leapAt = null;
    const shift = leapShift(kind);
    if (shift === 0) return;
    // Every source's time (UTC) moved; the estimates follow.
    for (const e of this.entries) e.stats.shift(shift);
    const clock = this.clk();
    const disc = this.disc();
    switch (this.d.leapsecmode) {
      case 'system':
        // The kernel applied it at its midnight: account for that step.
        clock.step(at, shift);
        actions.push({ kind: 'set-status', synchronized: this.synchronized, leap: 'none', estError: 0, maxError: 0 });
        break;
      case 'step':
        clock.step(now, shift);
        actions.push({ kind: 'step', seconds: shift });
        actions.push({ kind: 'event', event: { type: 'step', seconds: shift } });
        break;
      case 'slew': {
        disc.slewLeap(now, shift, actions);
        break;
      }
      case 'ignore':
        // The next updates see the 1 s error and correct it as usual (makestep or slew).
        break;
    }
  }

  // ---- statistics logs (measurements.log, statistics.log) ----

  private measured(e: Entry, out: { readonly sample: Sample; readonly header: NtpHeader; readonly interleaved: boolean }, tests: MeasurementEvent['tests'], stats: MeasurementEvent['stats']): EngineAction {
    const h = out.header;
    const root = e.poller.root();
    return {
      kind: 'event',
      event: {
        type: 'measurement', sourceId: e.id, address: e.address ?? e.options.host, at: out.sample.t4,
        leap: h.leap, stratum: h.stratum, mode: h.mode, remotePoll: h.poll, referenceId: h.referenceId >>> 0,
        rootDelay: root.delay, rootDispersion: root.dispersion, localPoll: e.poller.poll,
        score: this.information(e) / Math.max(e.options.polltarget, 1),
        offset: out.sample.offset, delay: out.sample.delay, dispersion: out.sample.dispersion, interleaved: out.interleaved, tests, stats,
      },
    };
  }

  /** The source's estimate after a sample, with chrony's statistics.log signs (local against source); `f0` is the frequency estimate before it. */
  private statsRecord(e: Entry, now: Instant, f0: { readonly freq: number; readonly sd: number } | null): MeasurementEvent['stats'] {
    const est = this.estimateOf(e, now);
    if (est === null) return null;
    const fig = e.stats.figures();
    return {
      stdDev: fig.stdDev, offset: -est.offset, offsetSd: Math.sqrt(est.pPhase),
      freq: this.clk().basePpm * 1e-6 - est.freq, skew: Math.sqrt(est.pFreq),
      stress: f0 === null || f0.sd === 0 ? 0 : Math.abs(est.freq - f0.freq) / f0.sd,
      samples: fig.samples, runs: fig.runs,
    };
  }

  // ---- reports ----

  private tracking(now: Instant): TrackingSnapshot {
    const disc = this.disc();
    const ref = this.reference;
    const sel = this.entries.find((e) => e.id === this.selectedId);
    const est = sel === undefined ? null : this.estimateOf(sel, now);
    const sync = this.synchronized && ref !== null;
    const sinceUpdate = ref === null ? 0 : Math.max(0, diffSeconds(now, ref.at));
    return {
      referenceId: sync ? ref.referenceId : 0,
      referenceName: sync ? ref.name : null,
      stratum: sync ? ref.stratum : 0,
      refTime: ref === null ? null : unixString(ref.at),
      systemTime: -disc.remainingCorrection(now),
      lastOffset: disc.lastOffset,
      rmsOffset: disc.rmsOffset,
      frequencyPpm: disc.frequencyPpm,
      residualFreqPpm: est === null ? 0 : est.freq * 1e6 - disc.frequencyPpm,
      skewPpm: disc.skewPpm,
      rootDelay: ref?.rootDelay ?? 0,
      rootDispersion: ref === null ? 0 : ref.rootDispersion + (PHI + disc.skewPpm * 1e-6) * sinceUpdate,
      updateInterval: disc.updateInterval,
      leapStatus: !sync ? 'unsynchronized' : this.pendingLeap === 'none' ? 'normal' : this.pendingLeap,
      synchronized: sync,
    };
  }

  private sourceSnapshot(e: Entry, now: Instant): SourceSnapshot {
    const est = this.estimateOf(e, now);
    const fig = e.stats.figures();
    const f = e.stats.filter;
    const h = e.poller.lastHeader;
    const clock = this.clk();
    const ls = e.lastSample;
    return {
      id: e.id,
      kind: e.options.kind,
      name: e.options.host,
      address: e.address,
      port: e.options.port,
      verdict: e.address === null ? 'unusable' : e.verdict.verdict,
      // Why a source is unusable can change between selections (no reply yet, a failed NTS-KE): say it as of now.
      reason: e.address === null ? this.unusableReason(e) ?? 'not resolved yet' : e.verdict.verdict === 'unusable' ? this.unusableReason(e) ?? e.verdict.reason : e.verdict.reason,
      prefer: e.options.prefer,
      noselect: e.options.noselect,
      stratum: h?.stratum ?? 0,
      referenceId: h?.referenceId ?? 0,
      poll: e.poller.poll,
      reach: e.poller.reach,
      lastRxAgo: e.lastRxAt === null ? null : Math.max(0, diffSeconds(now, e.lastRxAt)),
      lastSample: ls === null ? null : {
        adjustedOffset: ls.measuredOffset - (clock.phaseAt(now) - ls.phase),
        measuredOffset: ls.measuredOffset,
        error: ls.delay / 2 + ls.dispersion,
        delay: ls.delay,
      },
      jitter: fig.jitter,
      rootDistance: est?.distance ?? 0,
      stats: {
        samples: fig.samples,
        runs: fig.runs,
        span: fig.span,
        frequencyPpm: est === null ? 0 : est.freq * 1e6 - clock.basePpm,
        skewPpm: f.initialized ? Math.sqrt(f.pFreq) * 1e6 : 0,
        offset: est?.offset ?? 0,
        stdDev: fig.stdDev,
      },
      kissCode: e.poller.kissCode,
      authProblem: e.poller.auth?.problem?.() ?? null,
      kod: e.poller.kod === null ? null : { code: e.poller.kod.code, action: e.poller.kod.action, ago: Math.max(0, diffSeconds(now, e.poller.kod.at)) },
      interleaved: e.poller.interleaved,
    };
  }

  // ---- plumbing ----

  private finish(now: Instant, actions: EngineAction[]): EngineAction[] {
    let wake: Instant | null = null;
    const consider = (t: Instant | null): void => {
      if (t !== null && (wake === null || t < wake)) wake = t;
    };
    for (const e of this.entries) consider(e.address === null ? null : e.poller.nextPoll);
    for (const e of this.entries) consider(e.resolver?.nextAt ?? null);
    for (const p of this.pools) consider(p.resolver.nextAt);
    consider(this.disc().nextWake);
    consider(this.leapAt);
    if (wake !== null) actions.push({ kind: 'timer', at: wake < now ? now : wake });
    return actions;
  }

  private clk(): ClockModel {
    if (this.clock === null) throw new Error('Cannot use the engine before start()');
    return this.clock;
  }

  private disc(): ClockController {
    if (this.controller === null) throw new Error('Cannot use the engine before start()');
    return this.controller;
  }
}

function stripBrackets(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

/** Unix seconds with 9 decimals. */
function unixString(i: Instant): string {
  const ns = instantToUnixNanos(i);
  const neg = ns < 0n;
  const a = neg ? -ns : ns;
  return `${neg ? '-' : ''}${a / 1_000_000_000n}.${(a % 1_000_000_000n).toString().padStart(9, '0')}`;
}

/**
 * Stand-in digest for IPv6 reference ids when the driver supplies no MD5
 * (pure code cannot reach node:crypto): 32-bit FNV-1a repeated into 4 octets.
 * Drivers pass node:crypto's MD5 so refids match ntpd's and chronyd's.
 */
function fnvDigest(data: Uint8Array): Uint8Array {
  let h = 0x811c9dc5;
  for (const b of data) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  return new Uint8Array([h >>> 24, (h >>> 16) & 0xff, (h >>> 8) & 0xff, h & 0xff]);
}
