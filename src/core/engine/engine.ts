/**
 * The synchronization engine behind SyncEngineApi (engine-api.ts): it
 * orchestrates the sources (source-set.ts, tracked-source.ts,
 * source-measurement.ts), selection and combining (selection.ts), the clock
 * controller (clock-controller.ts, chosen by name in controllers.ts), the
 * leap second (leap.ts) and the reference it reports (reference.ts). Sans-IO:
 * the driver (daemon, library, simulator) feeds it time, datagrams and
 * resolutions, and carries out the actions it returns.
 *
 * Every estimate lives on the raw timescale of clock-model.ts, so a step or a
 * frequency change made by the controller changes no stored sample (chrony
 * re-bases its samples in change handlers to the same effect); only what is
 * reported against the disciplined clock is converted back.
 */
import { addSeconds, diffSeconds, type Instant } from '../../time/instant.js';
import type { NtpTimestamp } from '../../time/timestamp.js';
import type { Sample } from '../sample.js';
import type {
  DisciplineOptions, EngineDatagram, EngineAction, EngineCommand, EngineCommandResult, EngineOptions, EngineReconfigured, StampSource, SyncEngineApi,
} from './engine-api.js';
import type { ClockController, ControllerFactory } from './clock-controller.js';
import { ClockModel } from './clock-model.js';
import { controllerFactory, DEFAULT_CONTROLLER } from './controllers.js';
import { runCommand } from './engine-control.js';
import { FallbackDrifts } from './fallback-drift.js';
import { sameValue } from './same-value.js';
import { leapShift, LeapSchedule } from './leap.js';
import { Reference, trackingWithLocal } from './reference.js';
import type { PulseContext, RefclockInput } from './refclock-source.js';
import { combineEstimates, selectSources } from './selection.js';
import { scoreRound } from './select-score.js';
import { delayDevRatioOk, delayRatioOk } from './delay-tests.js';
import { medianSample } from './sample-filter.js';
import { SNAPSHOT_VERSION, unixString, type DaemonSnapshot } from './snapshot.js';
import { SourceMeasurement, type SourceEstimate, type Timescale } from './source-measurement.js';
import type { SourceOptions } from './source-options.js';
import { measurementEvent, sourceSnapshot, statisticsRecord } from './source-reports.js';
import { SourceSet } from './source-set.js';
import { formatSourceDump } from './source-dump.js';
import { loadableDump, restoreSource, sourceDump, sourceDumpFile } from './source-restore.js';
import { STATS_DEFAULTS, type StatsOptions } from './source-stats.js';
import type { SystemState } from '../system.js';
import { UNRESOLVED, type TrackedSource } from './tracked-source.js';
import { TimeSmoothing } from './time-smoothing.js';
import { Leap } from '../../proto/constants.js';

/** Tuning knobs of the engine beyond the configuration (tests and benchmarks). */
export interface EngineTuning {
  readonly stats?: Partial<StatsOptions>;
  /** Shortest slew of an offset correction, seconds. */
  readonly minSlewTime?: number;
}

/** (t4 − t1) − (t3 − t2) before RFC 5905's floor at the precision, seconds. */
function rawDelay(s: Sample): number {
  return diffSeconds((s.t4 - s.t1) - (s.t3 - s.t2), 0n);
}

/** chronyc ntpdata's spelling of tests A-D: "1101". */
function testBits(tests: readonly boolean[]): string {
  return tests.map((t) => (t ? '1' : '0')).join('');
}

/**
 * The least uncertainty a drift file's frequency is given, ppm (one standard
 * deviation), whatever skew it records: the file may come from before a VM
 * migration to other hardware or from another season, and oscillators
 * differ by tens of ppm over temperature and from one crystal to the next.
 * Below this, a file 100 ppm wrong holds the filter for tens of seconds on
 * noisy paths before the samples refute it (src/sim's 'uml' kernel preset,
 * stale-drift, seeds 1-2: the clock ran off at 100 us/s for 30-50 s with a
 * 1 ppm floor, not at all with this one); a right file still starts the
 * clock at its frequency, and the samples narrow the estimate within a few
 * polls (engine.test.ts).
 */
const DRIFT_FILE_PRIOR_FLOOR_PPM = 30;

/**
 * Whether two configs differ in nothing but their sources (and keys): the
 * frequency and skew to start from are the running engine's own by then.
 */
function sameGround(a: EngineOptions, b: EngineOptions): boolean {
  const discipline = (o: EngineOptions): Omit<DisciplineOptions, 'initialFrequencyPpm' | 'initialSkewPpm'> => {
    const { initialFrequencyPpm: _f, initialSkewPpm: _s, ...rest } = o.discipline;
    return rest;
  };
  return sameValue(discipline(a), discipline(b)) && a.precision === b.precision && a.resolveInterval === b.resolveInterval &&
    (a.controller ?? DEFAULT_CONTROLLER) === (b.controller ?? DEFAULT_CONTROLLER);
}

export class SyncEngine implements SyncEngineApi {
  private o: EngineOptions;
  private readonly d: DisciplineOptions;
  private readonly statsOptions: StatsOptions;
  private readonly minSlewTime: number;
  private readonly makeController: ControllerFactory;
  private ts: Timescale | null = null;
  private controller: ClockController | null = null;
  private smoothing: TimeSmoothing | null = null;
  private fallback: FallbackDrifts | null = null;
  private readonly sources: SourceSet;
  private readonly reference: Reference;
  private readonly leap = new LeapSchedule();
  private selectedId: number | null = null;
  private started = false;
  private refclockSourceIds: number[] = [];
  /** chronyc maxupdateskew, in force over the config's until a new engine. */
  private maxUpdateSkewPpm: number | null = null;
  /** chronyc reselectdist, in force over the directive until a new engine. */
  private reselectDist: number | null = null;
  /** chronyd -r: dumps not loaded yet, by file name. */
  private readonly pendingDumps: Map<string, string>;

  constructor(options: EngineOptions & { readonly tuning?: EngineTuning }) {
    this.o = options;
    this.d = options.discipline;
    this.statsOptions = { ...STATS_DEFAULTS, precision: options.precision, maxClockError: this.d.maxclockerror * 1e-6, ...(options.tuning?.stats ?? {}) };
    this.minSlewTime = options.tuning?.minSlewTime ?? 1;
    this.sources = new SourceSet(options, (so) => this.measurement(so), () => this.announced());
    this.pendingDumps = new Map(options.restore ?? []);
    this.reference = new Reference(options.md5, this.d.leapsecmode, options.precision, this.d.maxclockerror);
    // Looked up here, so that a controller nobody knows fails the construction, not start().
    this.makeController = controllerFactory(options.controller ?? DEFAULT_CONTROLLER);
  }

  // ---- SyncEngineApi ----

  start(now: Instant): EngineAction[] {
    if (this.started) return [];
    this.started = true;
    const actions: EngineAction[] = [];
    const ppm = this.d.initialFrequencyPpm ?? 0;
    const clock = new ClockModel(now, ppm);
    this.ts = { clock, origin: now };
    this.controller = this.makeController({ options: this.d, clock, minSlewTime: this.minSlewTime });
    this.smoothing = this.d.smoothtime === null ? null : new TimeSmoothing(this.d.smoothtime, now);
    this.fallback = FallbackDrifts.create(this.d.fallbackdrift);
    // The engine's model of the clock starts exact: it sets the frequency itself.
    actions.push({ kind: 'set-frequency', ppm });
    actions.push({ kind: 'set-status', synchronized: false, leap: 'none', estError: 16, maxError: 16 });
    for (const so of this.o.sources) this.sources.add(so, now, actions);
    this.refclockSourceIds = (this.o.refclocks ?? []).map((ro) => this.sources.addRefclock(ro, now).id);
    this.restoreDumps(now, actions);
    this.poll(now, actions);
    return this.finish(now, actions);
  }

  tick(now: Instant): EngineAction[] {
    if (!this.started) return [];
    const actions: EngineAction[] = [];
    this.ctrl().tick(now, actions);
    this.fallbackDue(now, actions);
    const due = this.leap.take(now);
    if (due !== null) this.applyLeap(now, due.kind, due.at, actions);
    this.pollRefclocks(now, actions);
    if (this.sources.maintain(now, actions)) this.select(now, null, actions);
    this.poll(now, actions);
    return this.finish(now, actions);
  }

  refclockReading(sourceId: number, reading: RefclockInput, now: Instant): EngineAction[] {
    if (!this.started) return [];
    this.sources.byId(sourceId)?.refclock?.add(reading, this.pulseContext(now));
    return [];
  }

  /** What a pulse is numbered by: another refclock's last reading, or this engine's synchronization (chrony's REF_GetReferenceParams). */
  private pulseContext(now: Instant): PulseContext {
    return {
      lockedReading: (refid) => {
        const rc = this.sources.sources.find((s) => s.refclock?.options.refid === refid)?.refclock ?? null;
        const last = rc?.filter.last ?? null;
        return rc === null || last === null ? null : { reading: last, averageDispersion: rc.filter.averageDispersion, leap: rc.leap };
      },
      reference: (time) => {
        const st = this.systemState(now);
        if (st.leap === Leap.Unsynchronized || st.referenceTime === null) return { synchronized: false, leap: 'none', distance: Infinity };
        const age = Math.max(0, diffSeconds(time, st.referenceTime));
        const leap = st.leap === Leap.InsertSecond ? 'insert' : st.leap === Leap.DeleteSecond ? 'delete' : 'none';
        return { synchronized: true, leap, distance: Math.abs(st.rootDelay) / 2 + st.rootDispersion + st.dispersionRate * age };
      },
    };
  }

  refclockIds(): readonly number[] {
    return this.refclockSourceIds;
  }

  sent(sourceId: number, t1: Instant, stamp: StampSource = 'daemon', transmit?: NtpTimestamp): void {
    this.sources.byId(sourceId)?.poller.sent(t1, stamp, transmit);
  }

  receive(datagram: EngineDatagram, now: Instant): EngineAction[] {
    if (!this.started) return [];
    const actions: EngineAction[] = [];
    const s = this.sources.byOrigin(datagram.address, datagram.port);
    if (s === undefined) return [];
    const ts = this.timescale();
    const out = s.poller.receive(datagram.data, datagram.t4, ts.clock.stepEpoch, datagram.rxStamp ?? 'daemon');
    switch (out.kind) {
      case 'ignored':
        return [];
      case 'kod':
        // Once per episode: a refusing server answers every poll with the same kiss.
        if (out.fresh) actions.push({ kind: 'event', event: { type: 'kiss', sourceId: s.id, code: out.code, action: out.action, poll: s.poller.poll } });
        if (out.action === 'refused') this.select(now, null, actions);
        return this.finish(now, actions);
      case 'unsynchronized':
        s.unsynchronized = true;
        s.unreachableReported = false;
        this.select(now, null, actions);
        return this.finish(now, actions);
      case 'sample':
        break;
    }
    s.unsynchronized = false;
    s.unreachableReported = false;
    const o = s.options;
    // chronyd's test D: a source whose reference id is the address it reaches
    // us at is synchronized to us; following it would close a loop (two peers
    // each taking the other's time once their real sources are gone).
    const local = datagram.localAddress;
    const notOurs = !(local !== undefined && out.header.stratum > 1 && out.header.referenceId >>> 0 === this.reference.refIdOf(local));
    // A round trip shorter than the server's own hold is impossible: one of
    // our stamps is wrong (a kernel transmit stamp taken after the datagram
    // left, as under User-mode Linux, or a server whose clock runs at another
    // rate). RFC 5905 floors such a delay at the precision, which would make
    // this the most trusted sample of all; chronyd (ntp_core.c) takes its
    // absolute value, so the sample faces the delay tests below as a long
    // round trip, and test C (maxdelaydevratio) fails it once the source has
    // a history. So do we.
    const sample: Sample = {
      ...out.sample,
      offset: out.sample.offset + o.offset,
      delay: Math.max(Math.abs(rawDelay(out.sample)), out.sample.delay),
    };
    s.lastMeasured = { offset: sample.offset, delay: sample.delay, dispersion: sample.dispersion };
    const data = s.measurement.delayTestData(sample, ts);
    const tests: [boolean, boolean, boolean, boolean] = [
      !out.presend && sample.delay - sample.dispersion <= o.maxdelay,
      delayRatioOk(sample.delay, o.maxdelayratio, data),
      delayDevRatioOk(sample.delay, sample.offset, o.maxdelaydevratio, data),
      notOurs,
    ];
    const passed = tests.every((t) => t);
    const measured = { ...out, sample };
    let taken: Sample | null = passed ? sample : null;
    if (o.filter > 0) {
      if (taken !== null) s.filtered.push(taken);
      // Every poll counts, a failed one too (chronyd's process_sample(NULL)).
      taken = this.filterStep(s);
    }
    s.lastTests = testBits(tests);
    if (taken === null) {
      actions.push(measurementEvent(s, measured, tests, null));
      return this.finish(now, actions);
    }
    const took = s.measurement.take(taken, datagram.t4, ts, this.o.precision, s.poller.root());
    if (!took.accepted) {
      const failed: [boolean, boolean, boolean, boolean] = [tests[0], tests[1], took.reason !== 'delay-outlier', true];
      s.lastTests = testBits(failed);
      actions.push(measurementEvent(s, measured, failed, null));
      return this.finish(now, actions);
    }
    s.goodRx++;
    s.freshSample = true;
    s.poller.adapt(s.measurement.information());
    const stats = statisticsRecord(s, s.estimate(now, ts), ts.clock.basePpm, took.before);
    actions.push(measurementEvent(s, measured, tests, stats));
    this.select(now, s, actions);
    return this.finish(now, actions);
  }

  sendFailed(sourceId: number, now: Instant): EngineAction[] {
    if (!this.started) return [];
    const s = this.sources.byId(sourceId);
    if (s === undefined || !s.options.autoOffline || !s.poller.online) return [];
    s.poller.setOnline(now, false);
    return this.finish(now, []);
  }

  resolved(sourceId: number, result: { readonly addresses: readonly string[] } | { readonly error: string }, now: Instant): EngineAction[] {
    if (!this.started) return [];
    const actions: EngineAction[] = [];
    this.sources.resolved(sourceId, result, now, actions);
    this.restoreDumps(now, actions);
    this.poll(now, actions);
    return this.finish(now, actions);
  }

  clockPhase(now: Instant): number {
    return this.timescale().clock.phaseAt(now);
  }

  snapshot(now: Instant, clock: DaemonSnapshot['clock']): DaemonSnapshot {
    const controller = this.ctrl();
    const ts = this.timescale();
    const sel = this.selectedId === null ? undefined : this.sources.byId(this.selectedId);
    const est = sel === undefined ? null : sel.estimate(now, ts);
    const residual = est === null ? 0 : est.freq * 1e6 - controller.frequencyPpm;
    return {
      version: SNAPSHOT_VERSION,
      time: unixString(now),
      clock,
      tracking: trackingWithLocal(this.reference.tracking(now, controller, this.leap.pending, residual), this.announced(), now),
      sources: this.sources.sources.map((s) => sourceSnapshot(s, now, ts)),
      ...(this.smoothing === null ? {} : { smoothing: this.smoothing.report(now) }),
    };
  }

  /** The state the daemon's NTP server serves (stratum, refid, root delay and dispersion, leap). */
  systemState(now: Instant): SystemState {
    const state = this.reference.systemState(this.leap.pending, this.controller?.skewPpm ?? 0);
    const smoothing = this.smoothing;
    const controller = this.controller;
    if (smoothing === null || controller === null) return state;
    // As chronyd (ntp_core.c): a leap second being smeared for the clients and slewed here is
    // not announced to them, or they would insert it on top of the smear.
    const leap = this.d.leapsecmode === 'slew' && (state.leap === Leap.InsertSecond || state.leap === Leap.DeleteSecond) ? Leap.NoWarning : state.leap;
    return {
      ...state, leap,
      smoothing: {
        curve: smoothing.curve,
        slewRemaining: controller.remainingCorrection(now), slewAt: now, slewEnd: controller.nextWake ?? now,
        quantum: this.o.precision,
      },
    };
  }

  isPeer(address: string, port: number): boolean {
    return this.sources.byOrigin(address, port)?.options.kind === 'peer';
  }

  /** What our packets to peers say of us. */
  private announced(): SystemState {
    const own = this.reference.systemState(this.leap.pending, this.controller?.skewPpm ?? 0);
    return this.o.servedState?.(own) ?? own;
  }

  dumpSources(now: Instant): { file: string; text: string }[] {
    const ts = this.timescale();
    return this.sources.sources.flatMap((s) => {
      const file = sourceDumpFile(s);
      const d = file === null ? null : sourceDump(s, now, ts);
      return file === null || d === null ? [] : [{ file, text: formatSourceDump(d) }];
    });
  }

  /**
   * Each source that has taken an address with a dump waiting is loaded from
   * it, if it has no samples of its own yet; then, as chronyd after
   * SRC_ReloadSources, selection may update the clock at once.
   */
  private restoreDumps(now: Instant, actions: EngineAction[]): void {
    if (this.pendingDumps.size === 0) return;
    const ts = this.timescale();
    let loaded: TrackedSource | null = null;
    for (const s of this.sources.sources) {
      const file = sourceDumpFile(s);
      const text = file === null ? undefined : this.pendingDumps.get(file);
      if (file === null || text === undefined) continue;
      this.pendingDumps.delete(file);
      if (s.measurement.stats.count > 0) continue;
      const dump = loadableDump(s, text, now);
      if (typeof dump === 'string') {
        actions.push({ kind: 'event', event: { type: 'dump-refused', sourceId: s.id, reason: dump } });
        continue;
      }
      const samples = restoreSource(s, dump, now, ts, this.measurement(s.options), this.o.precision);
      if (samples === 0) {
        actions.push({ kind: 'event', event: { type: 'dump-refused', sourceId: s.id, reason: 'no sample of it was usable' } });
        continue;
      }
      s.poller.adapt(s.measurement.information());
      actions.push({ kind: 'event', event: { type: 'dump-loaded', sourceId: s.id, samples } });
      loaded = s;
    }
    if (loaded !== null) this.select(now, loaded, actions);
  }

  /** The drift file's contents now (frequency and skew, ppm): the daemon writes it on demand (SIGTERM). */
  drift(): { frequencyPpm: number; skewPpm: number } {
    return this.ctrl().drift();
  }

  control<C extends EngineCommand>(command: C, now: Instant): EngineCommandResult<C['op']> {
    if (!this.started) return { ok: false, code: 'not-started', message: 'The engine has not started' };
    const actions: EngineAction[] = [];
    const r = runCommand(command, now, actions, {
      sources: this.sources,
      controller: this.ctrl(),
      origin: this.timescale().origin,
      ts: this.timescale(),
      smoothing: this.smoothing,
      authselectmode: this.d.authselectmode,
      poll: () => this.poll(now, actions),
      select: () => this.select(now, null, actions),
      setMaxUpdateSkew: (ppm) => { this.maxUpdateSkewPpm = ppm; },
      setReselectDist: (seconds) => { this.reselectDist = seconds; },
      reselect: () => { this.selectedId = null; this.select(now, null, actions); },
      maxFrequencyPpm: this.d.maxdrift,
    });
    if (!r.ok) return r;
    return { ok: true, actions: this.finish(now, actions), value: r.value } as EngineCommandResult<C['op']>;
  }

  reconfigure(options: EngineOptions, now: Instant): EngineReconfigured | null {
    if (!this.started || !sameGround(this.o, options)) return null;
    this.o = options;
    const actions: EngineAction[] = [];
    const { kept, added, removed } = this.sources.reconcile(options, now, actions);
    if (this.selectedId !== null && this.sources.byId(this.selectedId) === undefined) this.selectedId = null;
    this.poll(now, actions);
    if (removed > 0) this.select(now, null, actions);
    return { actions: this.finish(now, actions), kept, added, removed };
  }

  /** `filter N`: one more poll counted; the filtered sample once N polls are in (null before, or when none of them gave a sample). */
  private filterStep(s: TrackedSource): Sample | null {
    if (++s.filterCount < s.options.filter) return null;
    s.filterCount = 0;
    const m = medianSample(s.filtered);
    s.filtered.length = 0;
    return m;
  }

  // ---- selection and the clock ----

  /**
   * Each reference clock whose poll is due hands its filtered sample to its
   * statistics and to selection, as a reply does for an NTP source; a poll
   * without one counts as a lost reply in the reach register (refclock.c).
   */
  private pollRefclocks(now: Instant, actions: EngineAction[]): void {
    const ts = this.timescale();
    for (const s of this.sources.sources) {
      const rc = s.refclock;
      if (rc === null || rc.nextPoll > now) continue;
      const f = rc.poll(now);
      const p = s.poller;
      if (f === null) {
        p.reach = (p.reach << 1) & 0xff;
        p.sentSinceReply++;
        if (p.reach === 0 && s.verdict.verdict !== 'unusable') this.select(now, null, actions);
        continue;
      }
      p.reach = ((p.reach << 1) | 1) & 0xff;
      p.sentSinceReply = 0;
      // The sample as an exchange with no round trip: the reading's time on
      // our clock, the reference's at that instant; its delay is the
      // configured one (chrony gives a refclock's sample delay and root
      // delay the `delay` option).
      const ref = addSeconds(f.time, f.offset);
      const sample = { t1: f.time, t2: ref, t3: ref, t4: f.time, offset: f.offset, delay: rc.options.delay, dispersion: f.dispersion };
      const took = s.measurement.take(sample, f.time, ts, this.o.precision, s.poller.root());
      if (!took.accepted) continue;
      s.goodRx++;
      s.freshSample = true;
      this.select(now, s, actions);
    }
  }

  /**
   * What a new source's filter assumes about the oscillator before its
   * second sample. Only a drift file (it has a skew) or the engine's own
   * estimate says how right the frequency in force is; a frequency merely
   * found in the kernel says nothing (a VM migrated, another daemon left it),
   * so the filter then learns it from the samples alone, as chrony's
   * regression does.
   */
  private measurement(options: SourceOptions): SourceMeasurement {
    const d = this.ctrl();
    const value = this.timescale().clock.basePpm * 1e-6;
    const variance = this.reference.synchronized ? (Math.max(3 * d.skewPpm, 1) * 1e-6) ** 2
      : this.d.initialSkewPpm !== null ? (Math.max(3 * this.d.initialSkewPpm, DRIFT_FILE_PRIOR_FLOOR_PPM) * 1e-6) ** 2
      : (this.d.maxdrift * 1e-6) ** 2;
    return new SourceMeasurement(options, this.statsOptions, { value, variance });
  }

  /** Runs selection; `from` is the source whose new sample prompted it (null: a state change). */
  private select(now: Instant, from: TrackedSource | null, actions: EngineAction[]): void {
    const ts = this.timescale();
    const all = this.sources.sources;
    const weighed = all.map((s) => s.candidate(now, ts));
    const estimates = new Map<number, SourceEstimate>();
    for (const w of weighed) if (w.estimate !== null) estimates.set(w.candidate.id, w.estimate);
    const d = this.d;
    const r = selectSources(weighed.map((w) => w.candidate), {
      minsources: d.minsources, maxdistance: d.maxdistance, previous: this.selectedId, combinelimit: d.combinelimit,
      reselectdist: this.reselectDist ?? d.reselectdist, stratumweight: d.stratumweight, maxjitter: d.maxjitter, authselectmode: d.authselectmode,
    });
    const previous = this.selectedId;
    const scores = scoreRound(new Map(all.map((s) => [s.id, s.selScore])), {
      candidates: weighed.map((w, i) => {
        const v = (r.verdicts.get(w.candidate.id) ?? UNRESOLVED).verdict;
        return {
          id: w.candidate.id, selectable: v === 'selected' || v === 'combined' || v === 'not-combined', distance: w.candidate.distance,
          stratum: w.candidate.stratum ?? 0, refclock: all[i]?.options.kind === 'refclock',
        };
      }),
      previous, selected: r.selected, updated: from?.id ?? null, stratumweight: d.stratumweight, reselectdist: d.reselectdist,
    });
    for (const s of all) s.selScore = scores.get(s.id) ?? 1;
    for (const s of all) {
      const v = r.verdicts.get(s.id) ?? UNRESOLVED;
      if (v.verdict === 'falseticker' && s.verdict.verdict !== 'falseticker') {
        actions.push({ kind: 'event', event: { type: 'falseticker', sourceId: s.id } });
      }
      s.verdict = v;
    }
    if (from !== null) from.falsetickerStreak = from.verdict.verdict === 'falseticker' ? from.falsetickerStreak + 1 : 0;
    if (r.selected === null) {
      this.selectedId = null;
      this.reference.lost(r.reason, actions);
      this.scheduleFallback(now, actions);
      return;
    }
    this.selectedId = r.selected;
    this.leap.vote(now, all.filter((s) => r.truechimers.includes(s.id)).map((s) => s.leap()), actions);
    // As chronyd (sources.c): the clock moves only when the selected source
    // has a sample it has not acted on, so it is updated once per poll of
    // that source, not on every sample of every source (which would slew
    // several times per poll on the same estimate).
    const selected = this.sources.byId(r.selected);
    if (from === null || selected === undefined || !selected.freshSample) return;
    for (const s of all) s.freshSample = false;
    this.updateClock(now, r.combined, estimates, actions);
  }

  private updateClock(now: Instant, combined: readonly number[], estimates: ReadonlyMap<number, SourceEstimate>, actions: EngineAction[]): void {
    const c = combineEstimates(combined, estimates);
    if (c === null) return;
    const controller = this.ctrl();
    const remaining = controller.remainingCorrection(now);
    const base = controller.frequencyPpm;
    const mark = actions.length;
    const skewPpm = Math.sqrt(c.pFreq) * 1e6;
    // maxupdateskew (chronyd's reference.c): a rate this uncertain moves the phase only; the frequency in force stays.
    const freqPpm = skewPpm > (this.maxUpdateSkewPpm ?? this.d.maxupdateskew) ? controller.frequencyPpm : c.freq * 1e6;
    const outcome = controller.update(now, { offset: c.offset, freqPpm, skewPpm }, actions);
    if (outcome === 'ignored' || outcome === 'fatal') {
      actions.push({ kind: 'event', event: { type: 'maxchange', offset: c.offset, limit: this.d.maxchange?.offset ?? 0, fatal: outcome === 'fatal' } });
      return;
    }
    this.smoothUpdate(now, outcome === 'slewed' ? controller.remainingCorrection(now) - remaining : 0, (controller.frequencyPpm - base) * 1e-6, actions);
    // chronyd (reference.c) logs the offset of each update beyond logchange, before a step. Its
    // offsets are against a clock that already counts the correction under way; ours are against
    // the clock as it reads, so that part is taken out: a 10 s jump is reported once, not at every
    // update while it is slewed out.
    const wrong = c.offset - remaining;
    if (Math.abs(wrong) > this.d.logchange) actions.splice(mark, 0, { kind: 'event', event: { type: 'clock-wrong', seconds: wrong } });
    const selected = this.sources.byId(combined[0] as number) as TrackedSource;
    this.reference.updated(now, { outcome, selected, estimate: c, combined: combined.length, remaining }, controller, this.leap.pending, actions);
    if (this.fallback !== null) {
      this.fallback.updated(now, controller.frequencyPpm, controller.updateInterval);
      this.scheduleFallback(now, actions);
    }
  }

  /** chronyd's schedule_fb_drift: a fallback drift whose time has already come is set now. */
  private scheduleFallback(now: Instant, actions: EngineAction[]): void {
    const ppm = this.fallback?.schedule(now) ?? null;
    if (ppm !== null) this.ctrl().setBaseFrequency(now, ppm, actions);
  }

  /** The scheduled fallback drift is due: as chronyd, its frequency is set and the clock counts as unsynchronized. */
  private fallbackDue(now: Instant, actions: EngineAction[]): void {
    const f = this.fallback;
    if (f === null || f.due === null || now < f.due) return;
    this.ctrl().setBaseFrequency(now, f.fire(), actions);
    this.reference.lost(null, actions, false);
    this.scheduleFallback(now, actions);
  }

  /** The leap second is due: UTC moved by a second; make the clock follow per leapsecmode. */
  private applyLeap(now: Instant, kind: 'none' | 'insert' | 'delete', at: Instant, actions: EngineAction[]): void {
    const shift = leapShift(kind);
    if (shift === 0) return;
    // Every source's time (UTC) moved; the estimates follow.
    for (const s of this.sources.sources) s.measurement.stats.shift(shift);
    const clock = this.timescale().clock;
    switch (this.d.leapsecmode) {
      case 'system':
        // The kernel applied it at its midnight: account for that step.
        clock.step(at, shift);
        actions.push({ kind: 'set-status', synchronized: this.reference.synchronized, leap: 'none', estError: 0, maxError: 0 });
        break;
      case 'step':
        // chronyd smooths a stepped leap second only in leaponly mode (smooth.c SMT_Leap).
        if (this.d.smoothtime?.leapOnly === true) this.smoothing?.leap(now, shift);
        clock.step(now, shift);
        actions.push({ kind: 'step', seconds: shift });
        actions.push({ kind: 'event', event: { type: 'step', seconds: shift } });
        break;
      case 'slew':
        this.ctrl().slewLeap(now, shift, actions);
        this.smoothing?.leap(now, shift);
        break;
      case 'ignore':
        // The next updates see the 1 s error and correct it as usual (makestep or slew).
        break;
    }
  }

  /**
   * A slewed update moved the corrected time by `jump` seconds and its rate by `rateChange`:
   * the smoothing takes both back (a step is served as it is, as chronyd serves it).
   */
  private smoothUpdate(now: Instant, jump: number, rateChange: number, actions: EngineAction[]): void {
    const s = this.smoothing;
    if (s === null) return;
    if (s.updated(now, jump, rateChange, this.ctrl().skewPpm)) {
      actions.push({ kind: 'event', event: { type: 'smoothing-activated', leapOnly: s.report(now).leapOnly } });
    }
  }

  // ---- plumbing ----

  private poll(now: Instant, actions: EngineAction[]): void {
    this.sources.poll(now, this.timescale().clock.stepEpoch, actions);
  }

  private finish(now: Instant, actions: EngineAction[]): EngineAction[] {
    let wake = this.sources.nextWake();
    for (const t of [this.ctrl().nextWake, this.leap.at, this.fallback?.due ?? null]) if (t !== null && (wake === null || t < wake)) wake = t;
    if (wake !== null) actions.push({ kind: 'timer', at: wake < now ? now : wake });
    return actions;
  }

  private timescale(): Timescale {
    if (this.ts === null) throw new Error('Cannot use the engine before start()');
    return this.ts;
  }

  private ctrl(): ClockController {
    if (this.controller === null) throw new Error('Cannot use the engine before start()');
    return this.controller;
  }
}
