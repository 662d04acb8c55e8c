/**
 * chronyd's tests B and C of a sample's delay (ntp_core.c check_delay_ratio
 * and check_delay_dev_ratio), before the statistics take it. Both need a few
 * samples of history; until then a sample passes.
 */

/** What the source's statistics say at the sample's time. */
export interface DelayTestData {
  /** Seconds since the last sample the statistics took. */
  readonly lastSampleAgo: number;
  /** The statistics' offset (source − clock) predicted for the sample's time, seconds. */
  readonly predictedOffset: number;
  /** Smallest round trip in the statistics (or `mindelay`), seconds. */
  readonly minDelay: number;
  /** The rate estimate's error, s/s. */
  readonly skew: number;
  /** Standard deviation of the offsets about the fit (chronyc sourcestats' Std Dev), seconds. */
  readonly stdDev: number;
}

/** chronyd's sourcestats.c needs this many samples before it gives the test data. */
export const DELAY_TEST_MIN_SAMPLES = 6;

/** chronyd's maxclockerror default: how fast our own clock's error grows, s/s. */
const MAX_CLOCK_ERROR = 1e-6;

/** Test B (`maxdelayratio`, 0: off): the delay is at most the ratio times the minimum, plus what the clocks drifted since the last sample. */
export function delayRatioOk(delay: number, ratio: number, d: DelayTestData | null): boolean {
  if (ratio < 1 || d === null) return true;
  return delay <= d.minDelay * ratio + d.lastSampleAgo * (d.skew + MAX_CLOCK_ERROR);
}

/**
 * Test C (`maxdelaydevratio`): half the delay above the minimum is at most
 * the ratio times the offsets' standard deviation (plus drift), unless the
 * offset moved from the prediction by clearly more than that extra delay
 * could explain (then the source's time moved, not the path).
 */
export function delayDevRatioOk(delay: number, offset: number, ratio: number, d: DelayTestData | null): boolean {
  if (d === null) return true;
  const maxDelta = d.stdDev * ratio + d.lastSampleAgo * (d.skew + MAX_CLOCK_ERROR);
  const delta = (delay - d.minDelay) / 2;
  if (delta <= maxDelta) return true;
  return Math.abs(offset - d.predictedOffset) - delta > maxDelta;
}
