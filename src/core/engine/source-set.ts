/**
 * The engine's sources and where their addresses come from: `server` lines
 * (an address, or a name resolved now and again later when the server falls
 * silent), `pool` lines (a name whose addresses fill up to maxsources
 * members, replacing the ones that stay unreachable, keep being
 * falsetickers or refuse us), and sources added or deleted at run time.
 */
import type { Instant } from '../../time/instant.js';
import type { ActivityReport, EngineAction, EngineOptions, SourceSelector } from './engine-api.js';
import { addressKey, DEFAULT_RESOLVE_INTERVAL, isAddressLiteral, Resolver, UNREACHABLE_POLLS } from './pool.js';
import type { RefclockOptions } from './refclock-options.js';
import { RefclockState } from './refclock-source.js';
import { SourcePoller } from './source.js';
import type { SourceMeasurement } from './source-measurement.js';
import { sameValue } from './same-value.js';
import { sourceOptions, type SourceOptions } from './source-options.js';
import type { SystemState } from '../system.js';
import { TrackedSource } from './tracked-source.js';

interface Pool {
  readonly resolver: Resolver;
  readonly options: SourceOptions;
  readonly id: number;
}

type Resolution = { readonly addresses: readonly string[] } | { readonly error: string };

export class SourceSet {
  readonly sources: TrackedSource[] = [];
  private readonly pools: Pool[] = [];
  private nextId = 1;

  constructor(
    private o: EngineOptions,
    /** A fresh measurement for a source at a new address. */
    private readonly measure: (options: SourceOptions) => SourceMeasurement,
    /** Our sync state, which peers' packets carry. */
    private readonly localState: () => SystemState,
  ) {}

  byId(id: number): TrackedSource | undefined {
    return this.sources.find((s) => s.id === id);
  }

  /** The source a datagram from `address:port` answers, if any. */
  byOrigin(address: string, port: number): TrackedSource | undefined {
    const key = addressKey(address);
    return this.sources.find((s) => s.answersFrom(key, port));
  }

  /** The sources a selector names: by address (any spelling), configured name, or pool name. */
  matching(sel: SourceSelector): TrackedSource[] {
    if (sel === null) return [...this.sources];
    const key = addressKey(sel);
    return this.sources.filter((s) => s.key === key || addressKey(s.options.host) === key);
  }

  /** A `server` or `pool` line, at start or added at run time: returns its id. */
  add(so: SourceOptions, now: Instant, actions: EngineAction[]): number {
    const refresh = this.o.resolveInterval ?? DEFAULT_RESOLVE_INTERVAL;
    if (so.kind === 'pool') {
      const r = new Resolver(so.host, refresh);
      const id = this.nextId++;
      this.pools.push({ resolver: r, options: so, id });
      if (r.request(now)) actions.push({ kind: 'resolve', sourceId: id, host: so.host });
      return id;
    }
    const literal = isAddressLiteral(so.host);
    const s = this.create(so, null, literal ? null : new Resolver(so.host, refresh));
    if (literal) s.assign(stripBrackets(so.host), now, this.measure(s.options));
    else if (s.resolver?.request(now)) actions.push({ kind: 'resolve', sourceId: s.id, host: so.host });
    return s.id;
  }

  /**
   * A `refclock` line: a source named by its refid, whose poller sends
   * nothing (its reach and poll are kept by the engine's refclock polls) and
   * whose samples come from the daemon's driver.
   */
  addRefclock(ro: RefclockOptions, now: Instant): TrackedSource {
    const so = sourceOptions('refclock', ro.refid, {
      port: 0, minpoll: ro.poll, maxpoll: ro.poll, prefer: ro.prefer, noselect: ro.noselect, trust: ro.trust, require: ro.require,
      minsamples: ro.minsamples, maxsamples: ro.maxsamples, maxdelay: Infinity,
    });
    const poller = new SourcePoller(so, this.o.random, this.o.precision, null);
    const s = new TrackedSource(this.nextId++, so, null, null, poller, this.measure(so), new RefclockState(ro, now, this.o.precision, this.o.leapTable ?? null));
    this.sources.push(s);
    s.assign(ro.refid, now, this.measure(so));
    return s;
  }

  /** Whether a source at `host` and `port` is already configured (by name or address) or a pool of that name is. */
  has(so: SourceOptions): boolean {
    const key = addressKey(so.host);
    return this.sources.some((s) => s.pool === null && s.options.port === so.port && (addressKey(s.options.host) === key || s.key === key)) ||
      this.pools.some((p) => addressKey(p.options.host) === key && p.options.port === so.port);
  }

  /** chronyc `refresh`: every name (servers given by name, pools) resolved again now; returns how many resolutions started. */
  refresh(now: Instant, actions: EngineAction[]): number {
    let n = 0;
    for (const s of this.sources) {
      if (s.resolver !== null && s.resolver.requestNow(now)) { actions.push({ kind: 'resolve', sourceId: s.id, host: s.options.host }); n++; }
    }
    for (const p of this.pools) {
      if (p.resolver.requestNow(now)) { actions.push({ kind: 'resolve', sourceId: p.id, host: p.options.host }); n++; }
    }
    return n;
  }

  /** chronyc `reset sources`: every source's samples dropped (a reference clock's too). */
  resetSamples(): number {
    for (const s of this.sources) s.resetSamples(this.measure(s.options));
    return this.sources.length;
  }

  /** Deletes the sources and pools `selector` names; returns how many sources went, or null if it names nothing. */
  delete(selector: string): number | null {
    const hit = this.matching(selector);
    const pools = this.pools.filter((p) => addressKey(p.options.host) === addressKey(selector));
    if (hit.length === 0 && pools.length === 0) return null;
    for (const p of pools) this.pools.splice(this.pools.indexOf(p), 1);
    for (const s of hit) {
      this.sources.splice(this.sources.indexOf(s), 1);
      // A pool fills the place again, but not with the address just deleted.
      if (s.pool !== null && s.address !== null) s.pool.retire(s.address);
    }
    return hit.length;
  }

  /**
   * A reloaded config's sources: a source or pool whose line is the same
   * (every option equal) stays as it is, with its state; the others go
   * (run-time additions too, as they last until a reload), and the lines not
   * matched are added. A kept source with a symmetric key takes the new
   * key table's authenticator (the key file may have changed); an NTS one
   * keeps its cookies.
   */
  reconcile(o: EngineOptions, now: Instant, actions: EngineAction[]): { kept: number; added: number; removed: number } {
    this.o = o;
    const wanted = [...o.sources];
    const take = (so: SourceOptions): boolean => {
      const i = wanted.findIndex((w) => sameValue(w, so));
      if (i >= 0) wanted.splice(i, 1);
      return i >= 0;
    };
    let kept = 0, removed = 0;
    for (const p of [...this.pools]) {
      if (take(p.options)) {
        kept++;
        continue;
      }
      this.pools.splice(this.pools.indexOf(p), 1);
      removed++;
      for (const m of this.members(p)) this.sources.splice(this.sources.indexOf(m), 1);
    }
    for (const s of [...this.sources]) {
      // Reference clocks are not source lines; the daemon reloads in place only when they are unchanged.
      if (s.pool !== null || s.refclock !== null) continue;
      if (take(s.options)) {
        kept++;
        if (s.options.key !== null && !s.options.nts) s.poller.auth = o.authenticatorFor?.(s.options) ?? null;
        continue;
      }
      this.sources.splice(this.sources.indexOf(s), 1);
      removed++;
    }
    for (const so of wanted) this.add(so, now, actions);
    return { kept, added: wanted.length, removed };
  }

  resolved(sourceId: number, resolution: Resolution, now: Instant, actions: EngineAction[]): void {
    const pool = this.pools.find((p) => p.id === sourceId);
    const options = pool?.options ?? this.byId(sourceId)?.options;
    const result = options === undefined ? resolution : ofFamily(resolution, options.family);
    if (pool !== undefined) {
      pool.resolver.resolved(result, now);
      // Nothing new in a fresh list: the addresses given up on may be tried again.
      if ('addresses' in result && pool.resolver.fresh(this.inUse()) === null) pool.resolver.forgetRetired();
      this.fill(pool, now, actions);
      return;
    }
    const s = this.byId(sourceId);
    if (s?.resolver != null) {
      s.resolver.resolved(result, now);
      const first = s.resolver.addresses[0];
      if (first !== undefined && (s.address === null || (s.poller.reach === 0 && addressKey(first) !== s.key))) {
        const old = s.address;
        s.assign(first, now, this.measure(s.options));
        if (old !== null) actions.push({ kind: 'event', event: { type: 'source-replaced', sourceId: s.id, oldAddress: old, newAddress: first } });
      }
    }
  }

  /** Re-resolutions, replacements, unreachability; returns whether a source became unreachable. */
  maintain(now: Instant, actions: EngineAction[]): boolean {
    let reachLost = false;
    for (const s of this.sources) {
      // A refusing server answers: its kiss was reported, not silence.
      if (s.address !== null && s.poller.reach === 0 && s.poller.sentSinceReply > 0 && !s.unreachableReported && s.measurement.lastRxAt !== null && !s.poller.refused) {
        s.unreachableReported = true;
        reachLost = true;
        actions.push({ kind: 'event', event: { type: 'source-unreachable', sourceId: s.id } });
      }
      // A named server that never answers may have moved: resolve its name again.
      if (s.resolver !== null && s.address !== null && s.poller.reach === 0 && s.poller.sentSinceReply >= UNREACHABLE_POLLS &&
          s.resolver.request(now, true)) {
        actions.push({ kind: 'resolve', sourceId: s.id, host: s.options.host });
      }
      if (s.resolver !== null && s.resolver.due(now) && s.resolver.request(now)) {
        actions.push({ kind: 'resolve', sourceId: s.id, host: s.options.host });
      }
    }
    for (const p of this.pools) {
      if (this.short(p)) {
        this.fill(p, now, actions);
        if (this.short(p) && p.resolver.request(now, true)) actions.push({ kind: 'resolve', sourceId: p.id, host: p.options.host });
      } else if (p.resolver.due(now) && p.resolver.request(now)) {
        actions.push({ kind: 'resolve', sourceId: p.id, host: p.options.host });
      }
    }
    return reachLost;
  }

  /** Sends the requests that are due. */
  poll(now: Instant, stepEpoch: number, actions: EngineAction[]): void {
    for (const s of this.sources) {
      if (s.address === null || s.refclock !== null || !s.poller.due(now)) continue;
      const req = s.poller.transmit(now, stepEpoch);
      if (req === null) continue;
      const d = s.poller.auth?.destination?.() ?? null;
      actions.push({
        kind: 'send', sourceId: s.id, address: d?.address ?? s.address, port: d?.port ?? s.options.port, packet: req.packet,
        ...(s.options.kind === 'peer' ? { symmetric: true } : {}),
      });
    }
  }

  /** The earliest instant a poll or a resolution is due, or null. */
  nextWake(): Instant | null {
    let wake: Instant | null = null;
    const consider = (t: Instant | null): void => {
      if (t !== null && (wake === null || t < wake)) wake = t;
    };
    for (const s of this.sources) consider(s.refclock !== null ? s.refclock.nextPoll : s.address === null ? null : s.poller.nextPoll);
    for (const s of this.sources) consider(s.resolver?.nextAt ?? null);
    for (const p of this.pools) consider(p.resolver.nextAt);
    return wake;
  }

  activity(): ActivityReport {
    let online = 0, offline = 0, burstOnline = 0, burstOffline = 0, unresolved = 0;
    for (const s of this.sources) {
      if (s.address === null) unresolved++;
      else if (s.poller.bursting) {
        if (s.poller.online) burstOnline++;
        else burstOffline++;
      } else if (s.poller.online) online++;
      else offline++;
    }
    // A pool whose name has not resolved yet has no members: it counts as one source of unknown address.
    for (const p of this.pools) if (!this.sources.some((s) => s.pool === p.resolver)) unresolved++;
    return { online, offline, burstOnline, burstOffline, unresolved };
  }

  private create(options: SourceOptions, pool: Resolver | null, resolver: Resolver | null): TrackedSource {
    const poller = new SourcePoller(options, this.o.random, this.o.precision, this.o.authenticatorFor?.(options) ?? null, this.localState);
    const s = new TrackedSource(this.nextId++, options, pool, resolver, poller, this.measure(options));
    this.sources.push(s);
    return s;
  }

  private inUse(): Set<string> {
    return new Set(this.sources.flatMap((s) => (s.key === null ? [] : [s.key])));
  }

  private members(pool: Pool): TrackedSource[] {
    return this.sources.filter((s) => s.pool === pool.resolver);
  }

  /** Too few members, or one to replace. */
  private short(pool: Pool): boolean {
    const members = this.members(pool);
    return members.length < pool.options.maxsources || members.some((m) => m.needsReplacement());
  }

  private fill(pool: Pool, now: Instant, actions: EngineAction[]): void {
    for (const m of this.members(pool)) {
      if (m.address === null || m.needsReplacement()) {
        const fresh = pool.resolver.fresh(this.inUse());
        if (fresh === null) continue;
        const old = m.address;
        if (old !== null) pool.resolver.retire(old);
        m.assign(fresh, now, this.measure(m.options));
        if (old !== null) actions.push({ kind: 'event', event: { type: 'source-replaced', sourceId: m.id, oldAddress: old, newAddress: fresh } });
      }
    }
    while (this.members(pool).length < pool.options.maxsources) {
      const fresh = pool.resolver.fresh(this.inUse());
      if (fresh === null) break;
      const m = this.create(pool.options, pool.resolver, null);
      m.assign(fresh, now, this.measure(m.options));
    }
  }
}

function stripBrackets(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

/** chrony's ipv4/ipv6 options: a name's addresses of the other family are not used. */
function ofFamily(r: Resolution, family: SourceOptions['family']): Resolution {
  if (family === 'any' || !('addresses' in r)) return r;
  const want = family === 'ipv4' ? 4 : 6;
  const addresses = r.addresses.filter((a) => (a.includes(':') ? 6 : 4) === want);
  return addresses.length > 0 ? { addresses } : { error: `no ${family === 'ipv4' ? 'IPv4' : 'IPv6'} address` };
}
