/**
 * The contract between the sans-IO synchronization engine (src/core/engine/engine.ts)
 * and whatever drives it: the daemon (real sockets, timers, a Clock), the
 * library's createSyncedClock(), and the simulator (src/sim). Same engine,
 * same actions everywhere, so the simulator judges exactly the code that runs.
 *
 * Time: every Instant the engine sees is a reading of the clock it
 * disciplines (the "cooked" clock). The engine issues every correction itself
 * (set-frequency, step), so it knows how the clock has moved and re-bases its
 * stored samples, as chrony's change handlers do.
 */
import { type Instant } from '../../time/instant.js';
import type { NtpTimestamp } from '../../time/timestamp.js';
import type { KissAction } from '../../proto/kiss.js';
import type { FallbackDriftRange } from './fallback-drift.js';
import type { RefclockOptions } from './refclock-options.js';
import type { LeapTable } from '../../time/leap-table.js';
import type { RefclockInput } from './refclock-source.js';
import { type SourceOptions } from './source-options.js';
import { type DaemonSnapshot } from './snapshot.js';
import { type SystemState } from '../system.js';
import type { SmoothtimeOptions } from './time-smoothing.js';

export type LeapSecMode = 'system' | 'step' | 'slew' | 'ignore';
/** chrony's authselectmode: how authenticated (key, nts) and unauthenticated sources are selected together. */
export type AuthSelectMode = 'require' | 'prefer' | 'mix' | 'ignore';

export interface DisciplineOptions {
  /** chrony `makestep threshold limit`: step when |offset| > threshold, during the first `limit` updates (limit < 0: always). null: never step. */
  readonly makestep: { readonly threshold: number; readonly limit: number } | null;
  /** Fastest slew, ppm (chrony `maxslewrate`, default 83333.333). */
  readonly maxslewrate: number;
  /** chrony `maxchange offset start ignore`, or null. */
  readonly maxchange: { readonly offset: number; readonly start: number; readonly ignore: number } | null;
  /** Sources with a larger root distance are not selectable, seconds (chrony default 3). */
  readonly maxdistance: number;
  /** Sources that must agree before the clock is updated (chrony default 1). */
  readonly minsources: number;
  readonly leapsecmode: LeapSecMode;
  /** Largest frequency correction, ppm (chrony `maxdrift`; its default 500000 leaves the limit to the clock driver). */
  readonly maxdrift: number;
  /** Frequency at start, ppm: the drift file's, or the kernel's in force (then initialSkewPpm is null), or null. */
  readonly initialFrequencyPpm: number | null;
  /** Skew from the drift file, ppm, or null (no drift file: nothing says how right initialFrequencyPpm is). */
  readonly initialSkewPpm: number | null;
  /** chrony `logchange`: an update that finds the clock wrong by more than this many seconds is reported (default 1). */
  readonly logchange: number;
  /** chrony `smoothtime`: the served time is smoothed (core/engine/time-smoothing.ts); null: served as the clock reads. */
  readonly smoothtime: SmoothtimeOptions | null;
  /** chrony `maxclockerror`: how fast the clock's own error may grow, ppm; the root dispersion grows by it plus the skew (default 1). */
  readonly maxclockerror: number;
  /** chrony `combinelimit`: sources farther than this times the selected one's distance are not combined (default 3). */
  readonly combinelimit: number;
  /** chrony `reselectdist`: the distance another source must beat the selected one by, seconds (default 1e-4). */
  readonly reselectdist: number;
  /** chrony `stratumweight`: seconds of distance added per stratum above the lowest when the reference is chosen (default 1e-3). */
  readonly stratumweight: number;
  /** chrony `maxjitter`: sources whose offsets' standard deviation exceeds this are not selectable, seconds (default 1). */
  readonly maxjitter: number;
  /** chrony `maxupdateskew`: an estimate whose frequency error exceeds this does not change the frequency, ppm (default 1000). */
  readonly maxupdateskew: number;
  readonly authselectmode: AuthSelectMode;
  /** chrony `fallbackdrift MIN MAX`: without updates for 2^MIN ... 2^MAX seconds, the frequency falls back to its average over as long (fallback-drift.ts); null: it stays. */
  readonly fallbackdrift: FallbackDriftRange | null;
}

export const DISCIPLINE_DEFAULTS: DisciplineOptions = Object.freeze({
  makestep: null,
  maxslewrate: 1e6 / 12,
  maxchange: null,
  maxdistance: 3,
  minsources: 1,
  leapsecmode: 'system',
  maxdrift: 500000,
  initialFrequencyPpm: null,
  initialSkewPpm: null,
  logchange: 1,
  smoothtime: null,
  maxclockerror: 1,
  combinelimit: 3,
  reselectdist: 1e-4,
  stratumweight: 1e-3,
  maxjitter: 1,
  maxupdateskew: 1000,
  authselectmode: 'mix',
  fallbackdrift: null,
});

/** What reconfigure() did: its actions, to carry out like tick()'s, and how many sources it kept, added and removed. */
export interface EngineReconfigured {
  readonly actions: EngineAction[];
  readonly kept: number;
  readonly added: number;
  readonly removed: number;
}

export interface EngineOptions {
  readonly sources: readonly SourceOptions[];
  /** `refclock` lines: sources whose readings the driver feeds with refclockReading(). */
  readonly refclocks?: readonly RefclockOptions[];
  /** The leap second table refclocks with `tai` read their TAI − UTC from (null: none configured). */
  readonly leapTable?: LeapTable | null;
  readonly discipline: DisciplineOptions;
  /** Our clock-reading precision, seconds (e.g. 2^-24). */
  readonly precision: number;
  /** Uniform [0, 1) random numbers: request cookies, poll jitter. Seeded in the simulator. */
  readonly random: () => number;
  /** Seconds between re-resolutions of pool names and of sources that never answered (chrony: refresh 1209600, and on failure). */
  readonly resolveInterval?: number;
  /**
   * MD5, for the reference id of an IPv6 source (RFC 5905 §7.3: the first 4
   * octets of the address's MD5). Pure code cannot reach node:crypto, so the
   * driver passes it; without it the engine uses a stand-in hash.
   */
  readonly md5?: (data: Uint8Array) => Uint8Array;
  /**
   * The authenticator of a source's requests (`key N`, `nts`), or null for
   * none. Called once per source (and per pool member) when it is created.
   */
  readonly authenticatorFor?: (source: SourceOptions) => SourceAuthenticator | null;
  /**
   * The sync state our packets to peers announce, given the engine's own:
   * the daemon's served state (its `local` reference stands in while the
   * engine is unsynchronized). Default: the engine's own.
   */
  readonly servedState?: (engine: SystemState) => SystemState;
  /** The clock controller, by its name in core/engine/controllers.ts (default: the one the daemon runs). */
  readonly controller?: string;
  /**
   * chronyd -r: source dumps (source-dump.ts) by file name (`<address>.dat`),
   * each loaded into the source that first takes that address, as chronyd
   * loads them once its sources are resolved.
   */
  readonly restore?: ReadonlyMap<string, string>;
}

/**
 * Authenticates one source's requests (symmetric key or NTS). The pure
 * engine cannot reach node:crypto, so the driver injects it.
 */
export interface SourceAuthenticator {
  readonly kind: 'symmetric' | 'nts';
  /**
   * Secures an outgoing request: appends a MAC or NTS extension fields.
   * null: it cannot send now (NTS without cookies: a key exchange is needed);
   * the poll is then skipped as if sent and lost.
   */
  secure(request: Uint8Array): { readonly packet: Uint8Array; readonly token: unknown } | null;
  /**
   * Checks the reply to the request secured with `token`. Rejected replies
   * are not used as samples (and are counted); `nak` true for a crypto-NAK
   * or an NTS NAK.
   */
  check(reply: Uint8Array, token: unknown): { readonly ok: true } | { readonly ok: false; readonly reason: string; readonly nak: boolean };
  /**
   * Where requests must go instead of the source's own address and port, or
   * null: NTS-KE may name another NTP server address or port (RFC 8915
   * §4.1.7, §4.1.8). A null address keeps the source's own address (only the
   * port changes). Replies are then expected from there.
   */
  destination?(): { readonly address: string | null; readonly port: number } | null;
  /**
   * Why requests cannot be secured now (a failed NTS-KE: host, port and
   * error; a missing key), or null. Shown with the source, so that an
   * operator looks at the key exchange rather than at UDP port 123.
   */
  problem?(): string | null;
  /** chronyc authdata's figures of the key in use (NAKs are counted by the poller). */
  report?(): AuthKeyReport;
}

/** chronyc authdata's key columns. */
export interface AuthKeyReport {
  /** The symmetric key's id; for NTS, the number of the key exchange whose keys are in use. */
  readonly keyId: number;
  /** chronyd's number of the algorithm: hash 1-5 (MD5..SHA512), CMAC 13/14 (AES128/256), NTS the AEAD id (15: AES-SIV-CMAC-256). */
  readonly keyType: number;
  readonly keyLengthBits: number;
  /** Seconds since the last successful NTS-KE, null for none (or not known). */
  readonly lastKeAgo: number | null;
  /** NTS-KE attempts since the last success. */
  readonly keAttempts: number;
  readonly cookies: number;
  /** Length of the cookie to be sent next, octets (0 without one). */
  readonly cookieLength: number;
}

/** Something the driver must do. */
export type EngineAction =
  /** Send this request to `address:port`. The driver should call sent() with the precise T1 once it leaves. */
  /** `symmetric`: a peer's packet, which leaves from the NTP server's port (where the peer expects it), not a client port. */
  | { readonly kind: 'send'; readonly sourceId: number; readonly address: string; readonly port: number; readonly packet: Uint8Array; readonly symmetric?: boolean }
  /** Call tick() at (or soon after) this instant; replaces any earlier request. */
  | { readonly kind: 'timer'; readonly at: Instant }
  /** Resolve `host` and call resolved(); for pools, every address. */
  | { readonly kind: 'resolve'; readonly sourceId: number; readonly host: string }
  /** Set the clock's frequency correction, ppm (absolute; positive speeds the clock up). */
  | { readonly kind: 'set-frequency'; readonly ppm: number }
  /** Step the clock by `seconds` (positive: forward) now. */
  | { readonly kind: 'step'; readonly seconds: number }
  /** Tell the clock's owner (the kernel for SystemClock) the sync status and pending leap. */
  | { readonly kind: 'set-status'; readonly synchronized: boolean; readonly leap: 'none' | 'insert' | 'delete'; readonly estError: number; readonly maxError: number }
  /** Save the drift file (atomically), ppm. */
  | { readonly kind: 'write-drift'; readonly frequencyPpm: number; readonly skewPpm: number }
  | { readonly kind: 'event'; readonly event: EngineEvent };

export type EngineEvent =
  | { readonly type: 'synchronized'; readonly sourceId: number; readonly offset: number }
  | { readonly type: 'unsynchronized'; readonly reason: string }
  | { readonly type: 'step'; readonly seconds: number }
  | { readonly type: 'falseticker'; readonly sourceId: number }
  | { readonly type: 'source-unreachable'; readonly sourceId: number }
  /**
   * A kiss-o'-death, once per episode (until the source serves us again).
   * `action` says what it does to polling (core/engine/source.ts); `poll` is the
   * poll exponent from now on.
   */
  | { readonly type: 'kiss'; readonly sourceId: number; readonly code: string; readonly action: KissAction; readonly poll: number }
  | { readonly type: 'source-replaced'; readonly sourceId: number; readonly oldAddress: string; readonly newAddress: string | null }
  | { readonly type: 'leap'; readonly leap: 'insert' | 'delete' }
  /** chronyd -r: a source's dump was loaded (`samples` taken), or refused and ignored (`reason`). */
  | { readonly type: 'dump-loaded'; readonly sourceId: number; readonly samples: number }
  | { readonly type: 'dump-refused'; readonly sourceId: number; readonly reason: string }
  /**
   * chronyd's "System clock wrong by X seconds": an update found the clock
   * wrong by more than `logchange`, beyond the correction already under way.
   * `seconds`: the correction it needs (positive: the clock is behind).
   */
  | { readonly type: 'clock-wrong'; readonly seconds: number }
  /** chrony `maxchange`: an update's offset exceeded `limit` and was ignored; `fatal` once it happened more than `ignore` times (chronyd exits). */
  | { readonly type: 'maxchange'; readonly offset: number; readonly limit: number; readonly fatal: boolean }
  /** chrony `smoothtime`: the smoothing of the served time starts (the clock has settled, or at the first update with `leaponly`). */
  | { readonly type: 'smoothing-activated'; readonly leapOnly: boolean }
  | MeasurementEvent
  | ClockUpdateEvent;

/**
 * A reply that passed the packet tests (chrony's tests 1-7): what
 * `log measurements` records, and `log statistics` when the source's
 * statistics took the sample. Not for the daemon's own log: it comes with
 * every reply.
 */
export interface MeasurementEvent {
  readonly type: 'measurement';
  readonly sourceId: number;
  readonly address: string;
  /** Receive time (t4) on the disciplined clock. */
  readonly at: Instant;
  /** The reply's header fields. */
  readonly leap: number;
  readonly stratum: number;
  readonly mode: number;
  readonly remotePoll: number;
  readonly referenceId: number;
  readonly rootDelay: number;
  readonly rootDispersion: number;
  /** Our poll interval for the source, log2 seconds. */
  readonly localPoll: number;
  /** What drives the poll adaptation: the estimate's information over `polltarget` (above 1: poll less often). */
  readonly score: number;
  /** θ, δ and ε of the sample, seconds. */
  readonly offset: number;
  readonly delay: number;
  readonly dispersion: number;
  readonly interleaved: boolean;
  /** Who read the sample's T1 and T4 (measurements.log's TxRx columns). */
  readonly txStamp: StampSource;
  readonly rxStamp: StampSource;
  /** chrony's "ABCD" tests: maxdelay (and not presend's extra reply); maxdelayratio; maxdelaydevratio and the statistics' own delay-outlier test; the sync-loop test (always passes). */
  readonly tests: readonly [boolean, boolean, boolean, boolean];
  /** The source's statistics after taking this sample, or null if they refused it. Signs as chrony's statistics.log. */
  readonly stats: null | {
    /** Standard deviation of the samples about the fit, seconds. */
    readonly stdDev: number;
    /** Estimated offset of the local clock against the source, seconds (positive: local clock fast). */
    readonly offset: number;
    readonly offsetSd: number;
    /** Rate the local clock gains on the source beyond the correction in force, s/s. */
    readonly freq: number;
    readonly skew: number;
    /** |old rate - new rate| / old rate error. */
    readonly stress: number;
    readonly samples: number;
    readonly runs: number;
    /** chronyd's jitter asymmetry correcting the offsets for Std Dev, in its sign (local against source), or 0. */
    readonly asymmetry: number;
  };
}

/** A clock update (what `log tracking` records). Signs as chrony's tracking.log. */
export interface ClockUpdateEvent {
  readonly type: 'clock-update';
  readonly at: Instant;
  /** Address of the selected source. */
  readonly address: string;
  readonly stratum: number;
  /** Frequency of the local clock, ppm (positive: it runs fast; the negated correction). */
  readonly frequencyPpm: number;
  readonly skewPpm: number;
  /** Offset of the local clock at the update, seconds (positive: fast). */
  readonly offset: number;
  readonly leap: 'none' | 'insert' | 'delete';
  readonly combined: number;
  readonly offsetSd: number;
  /** Correction of the previous update still to be applied, seconds (positive: the clock was slow). */
  readonly remainingCorrection: number;
  readonly rootDelay: number;
  readonly rootDispersion: number;
  /** Largest error of the clock since the previous update, seconds. */
  readonly maxError: number;
}

/**
 * Who read a packet timestamp (chronyc ntpdata's "TX/RX timestamping"): the
 * kernel as the datagram passed the stack (SO_TIMESTAMPING), or the daemon
 * with a clock reading in user space, late or early by the path in between.
 */
export type StampSource = 'kernel' | 'daemon';

/** How the samples a source gave were stamped: counts per kind, and the last sample's kinds (null before one). */
export interface StampCounts {
  readonly txKernel: number;
  readonly txDaemon: number;
  readonly rxKernel: number;
  readonly rxDaemon: number;
  readonly lastTx: StampSource | null;
  readonly lastRx: StampSource | null;
}

/** What the driver tells the engine. */
/** A datagram for the engine, from a source's address and port. */
export interface EngineDatagram {
  readonly address: string;
  readonly port: number;
  readonly data: Uint8Array;
  /** When it arrived, on the disciplined clock. */
  readonly t4: Instant;
  readonly rxStamp?: StampSource;
  /** The address it was sent to, when the socket knows it (chronyd's test D compares the source's reference id with it). */
  readonly localAddress?: string;
}

export interface SyncEngineApi {
  /** First call: returns the initial sends/resolves/timer. */
  start(now: Instant): EngineAction[];
  /** A requested timer fired (calling it early is harmless). */
  tick(now: Instant): EngineAction[];
  /**
   * The request for `sourceId` left at `t1`, read by `stamp` (default
   * 'daemon'). May come more than once for one request: the latest before
   * its reply counts (a kernel stamp replaces a provisional user-space one).
   * `transmit`: a peer's packet whose transmit timestamp the driver rewrote
   * at the send (restampSymmetric), that timestamp.
   */
  sent(sourceId: number, t1: Instant, stamp?: StampSource, transmit?: NtpTimestamp): void;
  /** The request for `sourceId` could not be sent (no route, ...): a source with `auto_offline` goes offline. */
  sendFailed?(sourceId: number, now: Instant): EngineAction[];
  /** A datagram arrived from `address:port` at `t4` (read by `rxStamp`, default 'daemon'); the engine matches it to a source. */
  receive(datagram: EngineDatagram, now: Instant): EngineAction[];
  /**
   * A reading of the reference clock `sourceId` (a source made from
   * EngineOptions.refclocks, in their order; see refclockIds()). It joins the
   * clock's filter; the filtered sample reaches selection at the clock's poll.
   * Optional: an engine without it cannot run a config with refclocks.
   */
  refclockReading?(sourceId: number, reading: RefclockInput, now: Instant): EngineAction[];
  /** The source ids of EngineOptions.refclocks, in their order (valid after start()). */
  refclockIds?(): readonly number[];
  /** Name resolution finished: addresses (may be empty) or an error message. */
  resolved(sourceId: number, result: { readonly addresses: readonly string[] } | { readonly error: string }, now: Instant): EngineAction[];
  /** The one published state. */
  snapshot(now: Instant, clock: DaemonSnapshot['clock']): DaemonSnapshot;
  /** The steps and slews applied to the clock up to `now`, seconds (positive: moved forward); engines that do not keep it leave it out. */
  clockPhase?(now: Instant): number;
  /** What the daemon's NTP server serves now (feed it to the responder): stratum, refid, root delay/dispersion, leap. */
  systemState(now: Instant): SystemState;
  /** Whether `address`:`port` is a configured peer's (its packets are the engine's, not the NTP server's to answer). */
  isPeer?(address: string, port: number): boolean;
  /** chronyd's dump (SRC_DumpSources): each NTP source with samples, its file name and text (source-dump.ts). */
  dumpSources?(now: Instant): readonly { readonly file: string; readonly text: string }[];
  /** The drift file's contents now, ppm: the driver writes it when it must (SIGTERM), besides the periodic write-drift actions. */
  drift(): { readonly frequencyPpm: number; readonly skewPpm: number };
  /** A run-time control command (chronyc's makestep, burst, online, add...): carry out its actions like tick()'s. */
  control<C extends EngineCommand>(command: C, now: Instant): EngineCommandResult<C['op']>;
  /**
   * A reloaded config applied to the running engine, so that every source
   * whose line did not change keeps its state (reach, samples, poll,
   * selection) and the clock's discipline goes on undisturbed; sources no
   * longer configured (run-time additions too) go, new or changed ones start
   * afresh. null when more than the sources differs (the discipline, the
   * precision, the controller): the caller then starts a new engine.
   */
  reconfigure?(options: EngineOptions, now: Instant): EngineReconfigured | null;
}

/**
 * Which sources a control command applies to: null for every source, else
 * an address (any spelling: "::1" matches "0:0::1") or a configured name
 * (a pool's name selects all its members).
 */
export type SourceSelector = string | null;

/**
 * Run-time control (chronyc's operational commands). Each is carried out
 * through SyncEngineApi.control(), whose actions the driver applies exactly
 * as tick()'s, so the sends and timers they cause happen.
 */
export type EngineCommand =
  /** Step the clock by the offset correction still being slewed out (chronyc `makestep`). */
  | { readonly op: 'makestep' }
  /** Change the makestep setting; `limit` counts updates from now on (chronyc `makestep threshold limit`). */
  | { readonly op: 'set-makestep'; readonly threshold: number; readonly limit: number }
  /**
   * chronyc `settime`: the true time now is `time`; the offset it gives is
   * corrected like a clock update (stepped if makestep allows, else slewed),
   * as chronyd's manual reference does. The daemon refuses it unless `manual`.
   */
  | { readonly op: 'settime'; readonly time: Instant }
  /** chrony's initstepslew below its threshold: `seconds` slewed out as fast as maxslewrate allows (positive: forward), nothing stepped meanwhile. */
  | { readonly op: 'slew-offset'; readonly seconds: number }
  /** Send up to `max` requests 2 s apart, stopping after `good` good replies; then return to the regular schedule. */
  | { readonly op: 'burst'; readonly selector: SourceSelector; readonly good: number; readonly max: number }
  /** Offline: no requests are sent (a burst in progress ends first); the sources keep their state. */
  | { readonly op: 'online' | 'offline'; readonly selector: SourceSelector }
  | { readonly op: 'add-source'; readonly source: SourceOptions }
  | { readonly op: 'delete-source'; readonly selector: string }
  | { readonly op: 'activity' }
  | { readonly op: 'ntpdata'; readonly selector: SourceSelector }
  /** chronyc `reset sources`: every source's samples dropped; polling goes on. */
  | { readonly op: 'reset-sources' }
  /**
   * chronyc minpoll, maxpoll, maxdelay, maxdelayratio, maxdelaydevratio,
   * polltarget, minstratum of the sources `selector` names, from now on
   * (until a reload); maxupdateskew is the clock's, for every source, as in chronyd.
   */
  | { readonly op: 'modify-source'; readonly selector: string; readonly field: ModifiableField; readonly value: number }
  /** chronyc selectdata's figures of every source. */
  | { readonly op: 'selectdata' }
  /** chronyc authdata's figures of every NTP source. */
  | { readonly op: 'authdata' }
  /** chronyc refresh: resolve every source's name again now. */
  | { readonly op: 'refresh' }
  /** chronyc smoothtime reset|activate; refused (not-enabled) without smoothtime. */
  | { readonly op: 'smoothtime'; readonly action: 'reset' | 'activate' }
  /**
   * chronyc dfreq (chronyd's LCL_AccumulateDeltaFrequency): `ppm` added to
   * chronyd's absolute frequency, the oscillator's error (chronyc tracking's
   * Frequency, positive "fast"), which is our correction's opposite; so the
   * correction becomes old - ppm * (1 + old * 1e-6) and a positive `ppm`
   * slows the clock.
   */
  | { readonly op: 'adjust-frequency'; readonly ppm: number }
  /** chronyc reselect: the current choice forgotten and the best source selected again. */
  | { readonly op: 'reselect' }
  /** chronyc reselectdist: the reselectdist directive's distance, seconds, from now on (until a restart). */
  | { readonly op: 'set-reselectdist'; readonly distance: number };

/** chronyc authdata's row of one NTP source. */
export interface AuthDataReport extends AuthKeyReport {
  readonly sourceId: number;
  readonly name: string;
  readonly address: string | null;
  readonly mode: 'none' | 'symmetric' | 'nts';
  /** NAKs received (crypto-NAKs, NTS NAKs). */
  readonly naks: number;
}

/** chronyc selectdata's options letters: N noselect, P prefer, T trust, R require. */
export interface SelectOptions {
  readonly noselect: boolean;
  readonly prefer: boolean;
  readonly trust: boolean;
  readonly require: boolean;
}

/** chronyc selectdata's row of one source. */
export interface SelectDataReport {
  readonly sourceId: number;
  readonly name: string;
  readonly address: string | null;
  /** A reference clock's refid (chronyc names it by that), else null. */
  readonly referenceId: number | null;
  /** chronyd's state letter: * + x P D d ~ N s M (chronyc selectdata -v's legend). */
  readonly state: string;
  readonly authenticated: boolean;
  readonly configuredOptions: SelectOptions;
  /** After authselectmode, as selection applies them (chronyd's sel_options). */
  readonly effectiveOptions: SelectOptions;
  /** Seconds since its last sample (0 before one). */
  readonly lastSampleAgo: number;
  /** How strongly it would replace the selected source: chronyd's score, the ratios of the selected one's distance over its own multiplied over the rounds (select-score.ts), at least 1. */
  readonly score: number;
  /** Its correctness interval (chronyc's sign: local clock against the source), seconds. */
  readonly loLimit: number;
  readonly hiLimit: number;
  readonly leap: 'normal' | 'insert' | 'delete' | 'unsynchronized';
}

/** The source options chronyc changes at run time. */
export type ModifiableField = 'minpoll' | 'maxpoll' | 'maxdelay' | 'maxdelayratio' | 'maxdelaydevratio' | 'polltarget' | 'minstratum' | 'maxupdateskew';

/** chronyc activity's five counts. */
export interface ActivityReport {
  readonly online: number;
  readonly offline: number;
  readonly burstOnline: number;
  readonly burstOffline: number;
  readonly unresolved: number;
}

/** chronyc ntpdata's figures of one source: its last valid reply and our counters. */
export interface NtpDataReport {
  readonly sourceId: number;
  readonly name: string;
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** Of the last valid reply (all zero / null before one came). */
  readonly leap: 'normal' | 'insert' | 'delete' | 'unsynchronized';
  readonly version: number;
  readonly mode: number;
  readonly stratum: number;
  /** Our poll exponent for this source (log2 s), as chronyc shows it. */
  readonly poll: number;
  /** The server's precision (log2 s). */
  readonly precision: number;
  readonly rootDelay: number;
  readonly rootDispersion: number;
  readonly referenceId: number;
  /** Unix seconds (9 decimals) of the reply's reference timestamp, or null. */
  readonly referenceTime: string | null;
  /** RFC 5905 theta of the last valid reply: positive when the server is ahead of us. */
  readonly offset: number;
  readonly peerDelay: number;
  readonly peerDispersion: number;
  /** Server processing time of the last valid reply (t3 - t2), seconds. */
  readonly responseTime: number;
  /**
   * chronyd's estimate of the asymmetry of the network jitter, -0.5..0.5
   * (sourcestats.c): negative when the delay of packets to the source varies
   * more than of those coming back; 0 until ten regressions in a row agree.
   */
  readonly jitterAsymmetry: number;
  /** chronyc's NTP tests of the last valid reply: "111 111 ABCD" for a synchronized one (each of chronyd's tests A-D as it came out), "111 101 0000" for a kiss or an unsynchronized server. */
  readonly tests: string;
  /** The kiss-o'-death in effect (the last reply was one), or null. */
  readonly kissCode: string | null;
  readonly interleaved: boolean;
  /** The last valid reply passed the source's authenticator (chronyc: "Authenticated"). */
  readonly authenticated: boolean;
  /** How the source's packets are authenticated (chronyc authdata's Mode: -, SK, NTS). */
  readonly authMode: 'none' | SourceAuthenticator['kind'];
  /** Replies that matched a request but failed authentication (bad or missing MAC, NTS failure), NAKs included. */
  readonly authFailures: number;
  /** Of those, crypto-NAKs (symmetric keys) and NTS NAKs. */
  readonly authNaks: number;
  /** Why the last rejected reply failed, or null. */
  readonly lastAuthFailure: string | null;
  readonly totalTx: number;
  readonly totalRx: number;
  readonly totalValidRx: number;
  readonly totalGoodRx: number;
  /** How this source's samples had T1 and T4 read (T1 of an interleaved sample: its earlier request's). */
  readonly stamps: StampCounts;
}

/** What each control command returns besides its actions. */
export interface EngineCommandValues {
  readonly makestep: { readonly seconds: number };
  readonly 'set-makestep': null;
  /** `fast`: how far the clock was ahead of the time given, seconds (chronyc: "Clock was X seconds fast"); the frequency in force, ppm. */
  readonly 'slew-offset': null;
  readonly settime: { readonly fast: number; readonly stepped: boolean; readonly frequencyPpm: number };
  readonly burst: { readonly sources: number };
  readonly online: { readonly sources: number };
  readonly offline: { readonly sources: number };
  readonly 'add-source': { readonly sourceId: number };
  readonly 'delete-source': { readonly sources: number };
  readonly activity: ActivityReport;
  readonly ntpdata: readonly NtpDataReport[];
  readonly 'reset-sources': { readonly sources: number };
  readonly 'modify-source': { readonly sources: number };
  readonly selectdata: readonly SelectDataReport[];
  readonly authdata: readonly AuthDataReport[];
  readonly refresh: { readonly resolving: number };
  readonly smoothtime: null;
  /** The frequency correction now in force, ppm (positive: the clock is sped up). */
  readonly 'adjust-frequency': { readonly frequencyPpm: number };
  readonly reselect: null;
  readonly 'set-reselectdist': null;
}

/**
 * Why a control command was refused: no source matches the selector, the
 * source to add is already there, a value is out of range, the engine
 * has not started, it takes no control commands (stand-ins in tests), or
 * the daemon's config does not enable the command (settime without manual).
 */
export type EngineCommandError = 'no-such-source' | 'source-exists' | 'bad-value' | 'not-started' | 'unsupported' | 'not-enabled';

export type EngineCommandResult<K extends EngineCommand['op']> =
  | { readonly ok: true; readonly actions: EngineAction[]; readonly value: EngineCommandValues[K] }
  | { readonly ok: false; readonly code: EngineCommandError; readonly message: string };

/** The answer of an engine that takes no control commands (test stand-ins). */
export function refuseControl(): EngineCommandResult<never> {
  return { ok: false, code: 'unsupported', message: 'This engine takes no control commands' };
}
