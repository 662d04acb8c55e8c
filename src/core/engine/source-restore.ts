/**
 * A source's state to and from chronyd's dump (source-dump.ts). The engine
 * keeps samples on its raw timescale (clock-model.ts); chronyd keeps them on
 * its cooked clock, re-basing them at every correction as if the frequency
 * now in force had always been. A dump is written that way: each sample's
 * time on the line through the clock now at the base frequency in force, its
 * offset the source's time then against it. A dump read back is taken as
 * the clock now reads, as chronyd takes it.
 */
import { addSeconds, diffSeconds, type Instant } from '../../time/instant.js';
import { secondsToShort } from '../../time/short.js';
import { Mode } from '../../proto/constants.js';
import type { NtpHeader } from '../../proto/header.js';
import type { SourceMeasurement, Timescale } from './source-measurement.js';
import { dumpFileName, type DumpSample, parseSourceDump, refclockDumpFileName, REFCLOCK_DUMP_NAME, type SourceDump } from './source-dump.js';
import type { TrackedSource } from './tracked-source.js';

const LEAP_CODE = { none: 0, insert: 1, delete: 2 } as const;

/** The file the source's dump goes in (chronyd's get_dumpfile), or null: not resolved yet, or an address no file is named after. */
export function sourceDumpFile(s: TrackedSource): string | null {
  const refid = s.ownRefid();
  if (refid !== null) return refclockDumpFileName(refid);
  return s.address === null ? null : dumpFileName(s.address);
}

/** The source's dump now, or null when it has no samples (chronyd writes no file then). */
export function sourceDump(s: TrackedSource, now: Instant, ts: Timescale): SourceDump | null {
  const window = s.measurement.stats.window;
  if (window.length === 0) return null;
  const rawNow = ts.clock.rawSeconds(now, ts.origin);
  const rate = 1 + ts.clock.basePpm * 1e-6;
  const sinceOrigin = diffSeconds(now, ts.origin);
  const root = s.poller.root();
  const samples: DumpSample[] = window.map((w) => {
    const back = (w.t - rawNow) * rate;
    return {
      time: addSeconds(now, back),
      offset: sinceOrigin + back - w.t - w.rawOffset,
      origOffset: -w.measuredOffset,
      peerDelay: w.delay,
      peerDispersion: w.dispersion,
      rootDelay: (w.rootDelay ?? root.delay) + w.delay,
      rootDispersion: (w.rootDispersion ?? root.dispersion) + w.dispersion,
    };
  });
  const p = s.poller;
  return {
    name: s.refclock === null ? s.options.host : REFCLOCK_DUMP_NAME,
    authenticated: s.options.key !== null || s.options.nts,
    reach: p.reach,
    reachSize: Math.min(8, p.totalTx + s.restoredReachSize),
    stratum: Math.min(15, s.stratum() ?? 0),
    leap: LEAP_CODE[s.leap()],
    asymmetryRun: -s.measurement.stats.asymmetry.run,
    samples,
  };
}

/**
 * The dump in `text` if it can be the source's, else why not (chronyd's
 * load_source checks): it must parse, name the source as configured, and an
 * authenticated source takes no dump of an unauthenticated one.
 */
export function loadableDump(s: TrackedSource, text: string, now: Instant): SourceDump | string {
  const parsed = parseSourceDump(text, now);
  if (!parsed.ok) return parsed.reason;
  const d = parsed.dump;
  if (s.refclock === null && d.name !== s.options.host) return `it is of "${d.name}", not "${s.options.host}"`;
  if (!d.authenticated && (s.options.key !== null || s.options.nts)) return 'it was not authenticated and the source is';
  return d;
}

/**
 * Loads the dump into a source that has no samples yet: the samples, as on
 * the clock now, go through a fresh measurement; reach, stratum, leap and
 * root distance are the dump's until the source answers. Returns the
 * samples the statistics took.
 */
export function restoreSource(s: TrackedSource, d: SourceDump, now: Instant, ts: Timescale, fresh: SourceMeasurement, precision: number): number {
  let taken = 0;
  let last: DumpSample | null = null;
  for (const x of d.samples) {
    const corr = ts.clock.corrAt(x.time);
    const r = fresh.stats.add({
      t: diffSeconds(x.time, ts.origin) - corr,
      rawOffset: corr - x.offset,
      measuredOffset: -x.origOffset,
      delay: Math.max(x.peerDelay, precision),
      dispersion: x.peerDispersion,
      rootDelay: Math.max(0, x.rootDelay - x.peerDelay),
      rootDispersion: Math.max(0, x.rootDispersion - x.peerDispersion),
    }, true);
    if (!r.accepted) continue;
    taken++;
    last = x;
  }
  if (last === null) return 0;
  fresh.stats.asymmetry.restoreRun(-d.asymmetryRun);
  fresh.lastRxAt = last.time > now ? now : last.time;
  fresh.lastSample = { measuredOffset: -last.origOffset, phase: ts.clock.phaseAt(last.time), delay: last.peerDelay, dispersion: last.peerDispersion };
  s.measurement = fresh;
  const p = s.poller;
  p.reach = d.reach & 0xff;
  s.restoredReachSize = d.reachSize;
  // A reference clock's stratum and leap are its own; a server's are what it last said.
  if (s.refclock === null) p.lastHeader = restoredHeader(d, last);
  s.goodRx += taken;
  s.freshSample = true;
  return taken;
}

/** What the source last said of itself, as far as a dump tells: stratum, leap, root delay and dispersion. */
function restoredHeader(d: SourceDump, last: DumpSample): NtpHeader {
  return {
    leap: d.leap as NtpHeader['leap'], version: 4, mode: Mode.Server, stratum: d.stratum, poll: 0, precision: 0,
    rootDelay: secondsToShort(Math.max(0, last.rootDelay - last.peerDelay)),
    rootDispersion: secondsToShort(Math.max(0, last.rootDispersion - last.peerDispersion)),
    referenceId: 0, referenceTimestamp: 0n, originTimestamp: 0n, receiveTimestamp: 0n, transmitTimestamp: 0n,
  };
}
