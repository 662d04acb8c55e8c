/** Human formatting of durations, in the style of chronyc (ns, us, ms, s). */

/** `+12.3us`, `-4.56ms`, `+2.500012s`; `signed` adds a + to non-negative values. */
export function formatSeconds(s: number, signed = false): string {
  if (!Number.isFinite(s)) return String(s);
  const sign = s < 0 ? '-' : signed ? '+' : '';
  const a = Math.abs(s);
  let body: string;
  if (a >= 1) body = `${a.toFixed(6)}s`;
  else if (a >= 1e-3) body = `${(a * 1e3).toFixed(3)}ms`;
  else if (a >= 1e-6) body = `${(a * 1e6).toFixed(1)}us`;
  else body = `${(a * 1e9).toFixed(0)}ns`;
  return sign + body;
}
