/**
 * The system's reference (chrony's reference.c, its reporting half): whether
 * the clock is synchronized, to which source, at what stratum, root delay
 * and dispersion; what the NTP server serves from it (system.ts), what
 * chronyc tracking shows, and the clock-update record of tracking.log.
 */
import { addSeconds, diffSeconds, type Instant } from '../../time/instant.js';
import { Leap } from '../../proto/constants.js';
import { refIdFromAddress, type Md5 } from '../../proto/refid.js';
import type { ClockController, UpdateOutcome } from './clock-controller.js';
import type { EngineAction, LeapSecMode } from './engine-api.js';
import type { LeapKind } from './leap.js';
import type { CombinedEstimate } from './selection.js';
import { unixString, type TrackingSnapshot } from './snapshot.js';
import { referenceTimeAt, synchronizedState, unsynchronizedState, type SystemState } from '../system.js';
import type { TrackedSource } from './tracked-source.js';

interface ReferenceRecord {
  readonly stratum: number;
  readonly referenceId: number;
  readonly name: string;
  readonly rootDelay: number;
  readonly rootDispersion: number;
  /** When the clock was last updated (after a step: on the stepped clock). */
  readonly at: Instant;
}

/** A clock update the controller made, as the reference records it. */
export interface ClockUpdate {
  readonly outcome: Exclude<UpdateOutcome, 'ignored' | 'fatal'>;
  /** The source leading the combination. */
  readonly selected: TrackedSource;
  readonly estimate: CombinedEstimate;
  readonly combined: number;
  /** The correction still under way before the update, seconds. */
  readonly remaining: number;
}

export class Reference {
  synchronized = false;
  private ref: ReferenceRecord | null = null;

  private readonly md5: Md5;

  /** chrony `maxclockerror`, s/s: with the skew, how fast the error bound grows after an update. */
  private readonly clockError: number;

  /** Without `md5` the reference id of an IPv6 source uses a stand-in hash. */
  constructor(md5: Md5 | undefined, private readonly leapsecmode: LeapSecMode, private readonly precision: number, maxclockerrorPpm: number) {
    this.md5 = md5 ?? fnvDigest;
    this.clockError = maxclockerrorPpm * 1e-6;
  }

  /** The reference id that names `address` (what a host synchronized to it sends). */
  refIdOf(address: string): number {
    return refIdFromAddress(address, this.md5) >>> 0;
  }

  /** Selection found no source to follow; `announce` false: chronyd logs nothing (a fallback drift took over). */
  lost(reason: string | null, actions: EngineAction[], announce = true): void {
    if (!this.synchronized) return;
    this.synchronized = false;
    if (announce) actions.push({ kind: 'event', event: { type: 'unsynchronized', reason: reason ?? 'no source selected' } });
    actions.push({ kind: 'set-status', synchronized: false, leap: 'none', estError: 16, maxError: 16 });
  }

  /** The controller moved the clock: the reference follows the selected source. */
  updated(now: Instant, u: ClockUpdate, controller: ClockController, leap: LeapKind, actions: EngineAction[]): void {
    const sel = u.selected;
    const off = u.estimate.offset;
    const pPhase = u.estimate.pPhase;
    const prev = this.ref;
    const root = sel.poller.root();
    const st = sel.stratum() ?? 15;
    const at = u.outcome === 'stepped' ? addSeconds(now, off) : now;
    const last = sel.measurement.lastSample;
    const ref = {
      stratum: Math.min(st + 1, 16),
      // A reference clock's refid; `copy`: the server's own reference id, as chronyd's SRC_SetRefid does.
      referenceId: sel.ownRefid() ?? (sel.options.copy && sel.poller.lastHeader !== null ? sel.poller.lastHeader.referenceId >>> 0
        : sel.address === null ? 0 : this.refIdOf(sel.address)),
      name: sel.address ?? sel.options.host,
      rootDelay: root.delay + (last?.delay ?? 0),
      rootDispersion: root.dispersion + (last?.dispersion ?? 0) + Math.sqrt(pPhase),
      at,
    };
    this.ref = ref;
    if (!this.synchronized) {
      this.synchronized = true;
      actions.push({ kind: 'event', event: { type: 'synchronized', sourceId: sel.id, offset: off } });
    }
    const prevError = prev === null ? 0 : prev.rootDelay / 2 + prev.rootDispersion + (this.clockError + controller.skewPpm * 1e-6) * Math.max(0, diffSeconds(now, prev.at));
    actions.push({
      kind: 'event',
      event: {
        type: 'clock-update', at: now, address: ref.name, stratum: ref.stratum, frequencyPpm: -controller.frequencyPpm, skewPpm: controller.skewPpm,
        offset: -off, leap, combined: u.combined, offsetSd: Math.sqrt(pPhase), remainingCorrection: u.remaining,
        rootDelay: ref.rootDelay, rootDispersion: ref.rootDispersion, maxError: Math.abs(off) + Math.abs(u.remaining) + prevError,
      },
    });
    actions.push({
      kind: 'set-status', synchronized: true,
      leap: this.leapsecmode === 'system' ? leap : 'none',
      estError: Math.sqrt(pPhase) + Math.abs(controller.remainingCorrection(at)),
      maxError: ref.rootDelay / 2 + ref.rootDispersion,
    });
  }

  /** The state the daemon's NTP server serves (stratum, refid, root delay and dispersion, leap). */
  systemState(leap: LeapKind, skewPpm: number): SystemState {
    const precision = Math.round(Math.log2(this.precision));
    const ref = this.ref;
    if (!this.synchronized || ref === null || ref.stratum >= 16) return unsynchronizedState(precision);
    return synchronizedState({
      leap: leap === 'insert' ? Leap.InsertSecond : leap === 'delete' ? Leap.DeleteSecond : Leap.NoWarning,
      stratum: ref.stratum, referenceId: ref.referenceId, referenceTime: ref.at,
      rootDelay: ref.rootDelay, rootDispersion: ref.rootDispersion, precision,
      dispersionRate: this.clockError + skewPpm * 1e-6,
    });
  }

  /** chronyc tracking; `residualFreqPpm` is the selected source's rate beyond the correction in force. */
  tracking(now: Instant, controller: ClockController, leap: LeapKind, residualFreqPpm: number): TrackingSnapshot {
    const ref = this.ref;
    const sync = this.synchronized && ref !== null;
    const sinceUpdate = ref === null ? 0 : Math.max(0, diffSeconds(now, ref.at));
    return {
      referenceId: sync ? ref.referenceId : 0,
      referenceName: sync ? ref.name : null,
      stratum: sync ? ref.stratum : 0,
      refTime: ref === null ? null : unixString(ref.at),
      systemTime: -controller.remainingCorrection(now),
      lastOffset: controller.lastOffset,
      rmsOffset: controller.rmsOffset,
      frequencyPpm: controller.frequencyPpm,
      residualFreqPpm,
      skewPpm: controller.skewPpm,
      rootDelay: ref?.rootDelay ?? 0,
      rootDispersion: ref === null ? 0 : ref.rootDispersion + (this.clockError + controller.skewPpm * 1e-6) * sinceUpdate,
      updateInterval: controller.updateInterval,
      leapStatus: !sync ? 'unsynchronized' : leap === 'none' ? 'normal' : leap,
      synchronized: sync,
    };
  }
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

/**
 * chronyc tracking while the local reference stands in (chrony's `local
 * stratum N`, unsynchronized): chronyd reports the reference it serves, refid
 * 127.127.1.1 with no name, its stratum, a reference time kept recent, leap
 * normal and no root delay or dispersion; it stays "not synchronised", so the
 * residual frequency and skew read 0 (reference.c REF_GetTrackingReport).
 */
export function trackingWithLocal(t: TrackingSnapshot, served: SystemState, now: Instant): TrackingSnapshot {
  if (t.synchronized || served.kind !== 'local') return t;
  const at = referenceTimeAt(served, now);
  return {
    ...t,
    referenceId: served.referenceId, referenceName: null, stratum: served.stratum, refTime: at === null ? null : unixString(at),
    residualFreqPpm: 0, skewPpm: 0, rootDelay: 0, rootDispersion: 0, leapStatus: 'normal',
  };
}

