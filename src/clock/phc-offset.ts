/**
 * From the raw timestamps of one PHC reading to an offset: the arithmetic of
 * the PTP hardware clock reader (phc.ts), kept free of IO so it is tested on
 * its own.
 *
 * A reading is n samples, each a PHC timestamp taken between two
 * CLOCK_REALTIME readings. The narrowest bracket bounds the PHC timestamp
 * best, so its sample is used and the PHC time is taken to be at the middle
 * of the bracket, as chronyd does when it falls back to the single best
 * sample (hwclock.c). chronyd 4.3 first averages the samples whose width lies
 * between quantiles it tracks across readings; a single reading has no such
 * history, and the caller's filter (the refclock's median filter) does the
 * averaging across readings.
 */

/** How a PHC was read, from the best to the most basic (chronyd tries them in this order). */
export type PhcMethod = 'precise' | 'extended' | 'basic';

/** One reading of a PHC against the system clock. */
export interface PhcReading {
  /** PHC time minus CLOCK_REALTIME, seconds. */
  readonly offsetS: number;
  /** Width of the CLOCK_REALTIME bracket around the best sample, seconds (0 for a cross-timestamp). */
  readonly delayS: number;
  /** CLOCK_REALTIME at the reading: the middle of the best bracket, Unix ns (rounded down). */
  readonly systemTimeNs: bigint;
  readonly method: PhcMethod;
}

export type PhcOffsetResult = { readonly ok: true; readonly reading: PhcReading } | { readonly ok: false; readonly reason: string };

/**
 * The reading from `ts`, [system before, PHC, system after] ns triples.
 * Refused, as chronyd refuses it, when a bracket is negative: the system
 * clock was stepped during the reading, so no sample of it can be trusted.
 */
export function phcOffsetFromSamples(ts: ArrayLike<bigint>, method: PhcMethod): PhcOffsetResult {
  if (ts.length < 3 || ts.length % 3 !== 0) {
    return { ok: false, reason: `expected [before, phc, after] triples, got ${ts.length} timestamps` };
  }
  let best = -1;
  let bestWidth = 0n;
  for (let i = 0; i < ts.length; i += 3) {
    const width = (ts[i + 2] as bigint) - (ts[i] as bigint);
    if (width < 0n) {
      return { ok: false, reason: `the system clock went back ${-width} ns around sample ${i / 3 + 1} (stepped during the reading)` };
    }
    // Strictly narrower: on a tie the earlier sample stays, as in chronyd.
    if (best < 0 || width < bestWidth) {
      best = i;
      bestWidth = width;
    }
  }
  const before = ts[best] as bigint;
  const phc = ts[best + 1] as bigint;
  const after = ts[best + 2] as bigint;
  return {
    ok: true,
    reading: {
      // Twice the offset is an exact integer of ns; halving it as a float keeps the half ns.
      offsetS: Number(2n * phc - before - after) / 2e9,
      delayS: Number(bestWidth) / 1e9,
      systemTimeNs: before + bestWidth / 2n,
      method,
    },
  };
}
