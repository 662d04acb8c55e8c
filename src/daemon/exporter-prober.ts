/**
 * The probing behind `ntpkit exporter`'s `/probe`: one NTP server queried
 * per call (net/fleet-query.ts, the same requests, reply checks and
 * least-delay choice as `ntpkit fleet`), judged against the references
 * (core/tools/probe.ts).
 *
 * - Concurrency is bounded: at most `maxConcurrent` probes query at once,
 *   at most `maxQueued` wait; beyond that a probe is refused at once
 *   (`overloaded`), so a burst of scrapes cannot grow the queue without end.
 * - The references are queried together, at most once per `refMaxAgeMs`,
 *   and every probe in that window is judged against the same answer: a
 *   probe then costs one server's queries, not one plus the references'.
 *   Both offsets are read against this host's clock, so the age adds the
 *   clock's frequency error times the age (1 ppm over 16 s: 16 us).
 * - Each target keeps a reach register over its last 8 probes (as chrony's
 *   per source), in a map bounded to `maxTargets` (least recently probed out).
 */
import { performance } from 'node:perf_hooks';
import { type Consensus, type HostFailure, type ReferenceInput, referenceConsensus } from '../core/tools/fleet.js';
import { judgeProbe, type ProbeAnswer, type ProbeVerdict, shiftReach } from '../core/tools/probe.js';
import { shortToSeconds } from '../time/short.js';
import { type EndpointResult, type FleetQueryOptions, queryEndpoints } from '../net/fleet-query.js';
import { parseTarget } from '../net/target.js';

export interface ReferenceSpec {
  readonly host: string;
  readonly port: number;
  readonly prefer?: boolean;
  readonly trust?: boolean;
  readonly require?: boolean;
}

export interface ProberOptions {
  readonly references: readonly ReferenceSpec[];
  /** Port for targets given without one. */
  readonly defaultPort: number;
  readonly samples: number;
  /** Per request. */
  readonly timeoutMs: number;
  readonly retries: number;
  readonly version: number;
  readonly family: 0 | 4 | 6;
  readonly maxConcurrent: number;
  readonly maxQueued: number;
  readonly refMaxAgeMs: number;
  readonly outlierSeconds?: number;
  /** Reach registers kept (one per target probed). */
  readonly maxTargets?: number;
  /** Passed through to the queries (socket backend, test lookups). */
  readonly query?: Pick<FleetQueryOptions, 'udp' | 'lookup' | 'now'>;
}

export type ProbeFailure = HostFailure | 'bad-target' | 'overloaded' | 'dns';

export interface ProbeResult {
  readonly target: string;
  /** The address queried, once resolved. */
  readonly address: string | null;
  readonly answer: ProbeAnswer;
  readonly verdict: ProbeVerdict;
  /** Why it failed, in a word (null on success) and in a sentence. */
  readonly failure: ProbeFailure | null;
  readonly message: string | null;
  /** After this probe. Null for a target that could not be parsed or was refused. */
  readonly reach: number | null;
  /** Null when no references are configured. */
  readonly references: { readonly configured: number; readonly answered: number; readonly agree: number; readonly consensus: boolean; readonly ageSeconds: number } | null;
  readonly durationSeconds: number;
}

export interface ProberStats {
  readonly inFlight: number;
  readonly queued: number;
  readonly referenceQueries: number;
  readonly requestsSent: number;
  /** The references' last answer, or null before the first or without references. */
  readonly lastReferences: { readonly answered: number; readonly agree: number; readonly consensus: boolean } | null;
}

export interface Prober {
  probe(target: string, o?: { budgetMs?: number }): Promise<ProbeResult>;
  stats(): ProberStats;
}

interface RefState {
  readonly at: number;
  readonly inputs: readonly ReferenceInput[];
  readonly consensus: Consensus;
}

const NO_ANSWER: ProbeAnswer = { measurement: null, failure: null, stratum: null, leap: null, rootDelay: null, rootDispersion: null, jitter: null, sent: 0, answered: 0 };

/** Milliseconds kept back from a scrape's timeout for writing the answer. */
const BUDGET_MARGIN_MS = 300;

export function createProber(o: ProberOptions): Prober {
  const maxTargets = o.maxTargets ?? 65_536;
  const reach = new Map<string, number>();
  let inFlight = 0;
  const waiting: (() => void)[] = [];
  let referenceQueries = 0;
  let requestsSent = 0;
  let refs: RefState | null = null;
  let refsPending: Promise<RefState> | null = null;

  const acquire = (): Promise<void> | null => {
    if (inFlight < o.maxConcurrent) { inFlight++; return Promise.resolve(); }
    if (waiting.length >= o.maxQueued) return null;
    // The slot is handed over by release(), so inFlight counts it already.
    return new Promise((resolve) => { waiting.push(resolve); });
  };
  const release = (): void => {
    const next = waiting.shift();
    if (next) next();
    else inFlight--;
  };

  const queryOptions = (timeoutMs: number): FleetQueryOptions => ({
    samples: o.samples, timeoutMs, retries: o.retries, version: o.version, family: o.family, ...o.query,
  });

  const references = async (): Promise<RefState | null> => {
    if (o.references.length === 0) return null;
    if (refs !== null && performance.now() - refs.at < o.refMaxAgeMs) return refs;
    refsPending ??= (async () => {
      try {
        referenceQueries++;
        const q = await queryEndpoints(o.references.map((r) => ({ host: r.host, port: r.port })), queryOptions(o.timeoutMs));
        requestsSent += q.requestsSent;
        const inputs = q.results.map((r, i): ReferenceInput => {
          const spec = o.references[i] as ReferenceSpec;
          return {
            measurement: r.estimate ? { offset: r.estimate.best.offset, delay: r.estimate.best.delay, distance: r.estimate.rootDistance } : null,
            prefer: spec.prefer ?? false, trust: spec.trust ?? false, require: spec.require ?? false,
          };
        });
        refs = { at: performance.now(), inputs, consensus: referenceConsensus(inputs) };
        return refs;
      } finally {
        refsPending = null;
      }
    })();
    return refsPending;
  };

  const bumpReach = (key: string, answered: boolean): number => {
    const r = shiftReach(reach.get(key) ?? 0, answered);
    reach.delete(key);
    reach.set(key, r);
    if (reach.size > maxTargets) reach.delete(reach.keys().next().value as string);
    return r;
  };

  const probe = async (target: string, po: { budgetMs?: number } = {}): Promise<ProbeResult> => {
    const started = performance.now();
    const done = (r: Omit<ProbeResult, 'target' | 'durationSeconds'>): ProbeResult => ({ target, ...r, durationSeconds: (performance.now() - started) / 1000 });
    const fail = (failure: ProbeFailure, message: string): ProbeResult => done({
      address: null, answer: NO_ANSWER, verdict: judgeProbe(NO_ANSWER, null), failure, message, reach: null, references: null,
    });
    const parsed = parseTarget(target, o.defaultPort);
    if (!parsed.ok) return fail('bad-target', parsed.message);
    const slot = acquire();
    if (slot === null) return fail('overloaded', `more than ${o.maxConcurrent} probes running and ${o.maxQueued} waiting`);
    await slot;
    try {
      // What is left of the scrape's time is shared by the attempts a dead host gets.
      const left = po.budgetMs === undefined ? Infinity : po.budgetMs - BUDGET_MARGIN_MS - (performance.now() - started);
      if (left <= 0) return fail('overloaded', 'waited for a free probe slot past the scrape timeout');
      const timeoutMs = Math.max(1, Math.min(o.timeoutMs, left / (o.retries + 1)));
      const [q, ref] = await Promise.all([
        queryEndpoints([{ host: parsed.target.host, port: parsed.target.port }], queryOptions(timeoutMs)),
        references(),
      ]);
      requestsSent += q.requestsSent;
      const r = q.results[0] as EndpointResult;
      const answer = answerOf(r);
      const verdict = judgeProbe(answer, ref?.consensus ?? null, o.outlierSeconds !== undefined ? { outlierSeconds: o.outlierSeconds } : {});
      const key = `${parsed.target.host}|${parsed.target.port}`;
      const refSummary = ref === null ? null : {
        configured: o.references.length,
        answered: ref.inputs.filter((x) => x.measurement !== null).length,
        agree: ref.consensus.ok ? ref.consensus.agree.length : 0,
        consensus: ref.consensus.ok,
        ageSeconds: (performance.now() - ref.at) / 1000,
      };
      return done({
        address: r.address, answer, verdict,
        failure: verdict.success ? null : failureOf(r), message: r.error?.message ?? null,
        reach: bumpReach(key, verdict.reachable), references: refSummary,
      });
    } finally {
      release();
    }
  };

  return {
    probe,
    stats: () => ({
      inFlight: inFlight, queued: waiting.length, referenceQueries, requestsSent,
      lastReferences: refs === null ? null : {
        answered: refs.inputs.filter((x) => x.measurement !== null).length,
        agree: refs.consensus.ok ? refs.consensus.agree.length : 0,
        consensus: refs.consensus.ok,
      },
    }),
  };
}

function failureOf(r: EndpointResult): HostFailure | 'dns' {
  const code = r.error?.code;
  if (code === 'dns') return 'dns';
  return code === 'unsynchronized' ? 'unsynchronized' : code === 'kod' ? 'kod'
    : code === 'timeout' || code === 'unreachable' || code === 'bad-target' || code === undefined ? 'unreachable' : 'bad-reply';
}

/** The probe's figures from the query: the best sample's, or the last reply's header when none was usable. */
function answerOf(r: EndpointResult): ProbeAnswer & { failure: HostFailure | null } {
  const sent = r.samples.length;
  const answered = r.samples.filter((s) => s.status === 'ok').length;
  const e = r.estimate;
  if (e !== null) {
    return {
      measurement: { offset: e.best.offset, delay: e.best.delay, distance: e.rootDistance }, failure: null,
      stratum: e.header.stratum, leap: e.header.leap, rootDelay: e.rootDelay, rootDispersion: e.rootDispersion, jitter: e.jitter, sent, answered,
    };
  }
  const last = [...r.samples].reverse().find((s) => s.header !== undefined)?.header;
  const failure = failureOf(r);
  return {
    measurement: null, failure: failure === 'dns' ? 'unreachable' : failure,
    stratum: last?.stratum ?? null, leap: last?.leap ?? null,
    rootDelay: last ? shortToSeconds(last.rootDelay) : null, rootDispersion: last ? shortToSeconds(last.rootDispersion) : null,
    jitter: null, sent, answered,
  };
}
