/**
 * chrony's `filter N` (samplefilt.c): N polls' samples become one. With
 * more than 4, those whose dispersion is within 1.5 times the least are kept
 * (if at least 4 are); they are sorted by offset and the median (the middle
 * one, or the middle two averaged) stands for them all, dated at the latest.
 */
import type { Sample } from '../sample.js';

export function medianSample(samples: readonly Sample[]): Sample | null {
  if (samples.length === 0) return null;
  let use = samples;
  if (samples.length > 4) {
    const least = Math.min(...samples.map((s) => s.dispersion));
    const close = samples.filter((s) => s.dispersion <= 1.5 * least);
    if (close.length >= 4) use = close;
  }
  const sorted = [...use].sort((a, b) => a.offset - b.offset);
  const mid = sorted.length / 2;
  const middle = sorted.length % 2 === 1 ? [sorted[Math.floor(mid)] as Sample] : [sorted[mid - 1] as Sample, sorted[mid] as Sample];
  const mean = (f: (s: Sample) => number): number => middle.reduce((a, s) => a + f(s), 0) / middle.length;
  const latest = use.reduce((a, s) => (s.t4 > a.t4 ? s : a));
  return { ...latest, offset: mean((s) => s.offset), delay: mean((s) => s.delay), dispersion: mean((s) => s.dispersion) };
}
