/**
 * Number formatting of the report commands, reproducing chronyc 4.3 and
 * ntpq byte for byte. chronyc prints with C's printf, so `cFixed` rounds the
 * way glibc does (to nearest on the double's exact value, ties to even) and
 * keeps the sign of negative values that round to zero ("-0.000"), where
 * Number.prototype.toFixed rounds ties away from zero and drops the sign of -0.
 * The unit-switching helpers follow chronyc's column formats: offsets and
 * errors in 4 significant digits with ns/us/ms/s, intervals with m/h/d/y.
 */

/** Exact decimal rounding of `x` to `decimals` places: [negative, digits without a point]. */
function roundHalfEven(x: number, decimals: number): [boolean, bigint] {
  const negative = x < 0 || Object.is(x, -0);
  const a = Math.abs(x);
  if (a === 0) return [negative, 0n];
  // a = mantissa * 2^exp exactly, with an integer mantissa.
  // Subnormals have their exponent pinned at 2^-1074.
  let exp = Math.max(Math.floor(Math.log2(a)) - 52, -1074);
  let mantissa = a / 2 ** exp;
  // log2 can be off by one at powers of two; keep the mantissa an integer below 2^53.
  while (!Number.isInteger(mantissa)) { exp--; mantissa = a / 2 ** exp; }
  const num = BigInt(mantissa) * 10n ** BigInt(decimals);
  if (exp >= 0) return [negative, num << BigInt(exp)];
  const den = 1n << BigInt(-exp);
  const q = num / den;
  const r2 = (num % den) * 2n;
  return [negative, r2 > den || (r2 === den && q % 2n === 1n) ? q + 1n : q];
}

export interface FixedOptions {
  /** Minimum width, right-aligned with spaces (printf's field width). */
  readonly width?: number;
  /** Print a + on non-negative values (printf's `+` flag). */
  readonly plus?: boolean;
}

/** printf("%[+][width].[decimals]f", x) as glibc prints it. */
export function cFixed(x: number, decimals: number, opts: FixedOptions = {}): string {
  let body: string;
  let negative: boolean;
  if (!Number.isFinite(x)) {
    negative = x < 0;
    body = Number.isNaN(x) ? 'nan' : 'inf';
  } else {
    const [neg, digits] = roundHalfEven(x, decimals);
    negative = neg;
    const s = digits.toString().padStart(decimals + 1, '0');
    body = decimals > 0 ? `${s.slice(0, s.length - decimals)}.${s.slice(s.length - decimals)}` : s;
  }
  const sign = negative ? '-' : opts.plus ? '+' : '';
  return (sign + body).padStart(opts.width ?? 0);
}

/** printf("%Nd"): an integer right-aligned in `width`. */
export function cInt(n: number, width: number): string {
  return String(Math.trunc(n)).padStart(width);
}

/** printf("%No"): octal, right-aligned in `width`. */
export function cOctal(n: number, width: number): string {
  return (n >>> 0).toString(8).padStart(width);
}

const MINUTE = 60;
const HOUR = 3600;
const DAY = 86400;
const YEAR = 365 * DAY;

/**
 * chronyc's offset/error columns: 4 significant digits with ns, us, ms or s,
 * then minutes, hours, days, years. Signed: `s` with a + on non-negative
 * values, one character wider; unsigned: |s|.
 */
function cScaled(s: number, signed: boolean): string {
  const a = Math.abs(s);
  const v = signed ? s : a;
  const f = (x: number, decimals: number, width: number): string => cFixed(x, decimals, { plus: signed, width: signed ? width + 1 : width });
  if (a < 9999.5e-9) return `${f(v * 1e9, 0, 4)}ns`;
  if (a < 9999.5e-6) return `${f(v * 1e6, 0, 4)}us`;
  if (a < 9999.5e-3) return `${f(v * 1e3, 0, 4)}ms`;
  if (a < 999.5) return `${f(v, 1, 5)}s`;
  if (a < 99999.5) return `${f(v, 0, 5)}s`;
  if (a < 99999.5 * MINUTE) return `${f(v / MINUTE, 0, 5)}m`;
  if (a < 99999.5 * HOUR) return `${f(v / HOUR, 0, 5)}h`;
  if (a < 99999.5 * DAY) return `${f(v / DAY, 0, 5)}d`;
  return `${f(v / YEAR, 0, 5)}y`;
}

/**
 * chronyc's unsigned offset/error column, 6 characters: "4617ns", "  54us",
 * "4000ms", " 12.3s", " 1234s", then minutes, hours, days, years.
 */
export function cNanoseconds(s: number): string {
  return cScaled(s, false);
}

/** chronyc's signed offset column, 7 characters: " +235ns", "-2500ms", "  +12.3s". */
export function cSignedNanoseconds(s: number): string {
  return cScaled(s, true);
}

/**
 * chronyc's interval column (LastRx, Span), 4 characters: whole seconds below
 * 20 minutes, then minutes, hours (below 4 days), days, years; "   -" for none.
 * chronyd sends whole seconds, so fractions are dropped (C's cast truncates).
 */
export function cInterval(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds) || seconds < 0) return '   -';
  const s = Math.floor(seconds);
  if (s < 1200) return String(s).padStart(4);
  if (s < 36000) return `${String(Math.floor(s / MINUTE)).padStart(3)}m`;
  if (s < 345600) return `${String(Math.floor(s / HOUR)).padStart(3)}h`;
  const d = Math.floor(s / DAY);
  return d > 999 ? `${String(Math.floor(d / 365)).padStart(3)}y` : `${String(d).padStart(3)}d`;
}

/** chronyc's frequency columns, 10 characters, 3 decimals below 100000 ppm. */
export function cFreqPpm(ppm: number, signed = false): string {
  return cFixed(ppm, Math.abs(ppm) < 99999.5 ? 3 : 0, { width: 10, plus: signed });
}

const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/**
 * A Unix time as chronyc prints Ref time, strftime("%a %b %d %H:%M:%S %Y") in
 * UTC: "Mon Nov 23 12:29:37 2026"; the epoch when never set, as chronyc
 * shows an unsynchronized daemon ("Thu Jan 01 00:00:00 1970").
 * @param unixSeconds decimal string of Unix seconds (the snapshot's form), or null.
 */
export function cUtcTime(unixSeconds: string | null): string {
  const whole = unixSeconds === null ? 0 : Number(unixSeconds.split('.')[0]);
  // A negative instant with a fraction floors one second further down.
  const secs = unixSeconds !== null && unixSeconds.startsWith('-') && /\.\d*[1-9]/.test(unixSeconds) ? whole - 1 : whole;
  const d = new Date(secs * 1000);
  const two = (n: number): string => String(n).padStart(2, '0');
  return `${WEEKDAYS[d.getUTCDay()]} ${MONTHS[d.getUTCMonth()]} ${two(d.getUTCDate())} ${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())} ${d.getUTCFullYear()}`;
}

/**
 * ntpq's interval columns (when, poll), at most 4 characters, as NTPsec's
 * ntpq prints them: whole seconds (truncated, ntpq takes int() of the
 * difference) up to 2048, then minutes up to 300, hours up to 96, days up
 * to 999, then years; "-" for never and for anything under one second,
 * because ntpq never prints a fraction there.
 */
export function ntpqInterval(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return '-';
  let v = Math.trunc(seconds);
  if (v <= 0) return '-';
  if (v <= 2048) return String(v);
  v = Math.floor((v + 29) / 60);
  if (v <= 300) return `${v}m`;
  v = Math.floor((v + 29) / 60);
  if (v <= 96) return `${v}h`;
  v = Math.floor((v + 11) / 24);
  if (v <= 999) return `${v}d`;
  return `${Math.floor((v + 183) / 365)}y`;
}

/**
 * A value in milliseconds in a fixed-width ntpq column: 3 decimals, fewer
 * when the number would not fit (as NTPsec does), so columns stay aligned
 * for offsets of seconds; wider only past 10^width ms.
 */
export function ntpqMs(seconds: number, width: number): string {
  const ms = seconds * 1e3;
  for (let d = 3; d > 0; d--) {
    const s = cFixed(ms, d);
    if (s.length <= width) return s.padStart(width);
  }
  return cFixed(ms, 0, { width });
}
