/** What the gpsd refclock tests share: an NMEA log, ntpshmmon's record of a segment, a line through it. */

function checksum(body: string): string {
  let x = 0;
  for (const c of body) x ^= c.charCodeAt(0);
  return x.toString(16).toUpperCase().padStart(2, '0');
}

/** `seconds` cycles of RMC + GGA (a valid 3D fix, so gpsd ships the time), the first for Unix second `start`. */
export function nmeaLog(start: number, seconds: number): string {
  const out: string[] = [];
  for (let k = 0; k < seconds; k++) {
    const d = new Date((start + k) * 1000);
    const p = (n: number): string => String(n).padStart(2, '0');
    const hms = `${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}.00`;
    const dmy = `${p(d.getUTCDate())}${p(d.getUTCMonth() + 1)}${p(d.getUTCFullYear() % 100)}`;
    for (const body of [
      `GPRMC,${hms},A,4807.038,N,01131.000,E,000.0,000.0,${dmy},,,A`,
      `GPGGA,${hms},4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,`,
    ]) out.push(`$${body}*${checksum(body)}\r\n`);
  }
  return out.join('');
}

/** One sample as ntpshmmon prints it: the system time it was taken at and the reference − system offset, seconds. */
export interface FeedSample {
  readonly clock: number;
  readonly offset: number;
}

/** ntpshmmon's lines `sample NTP0 <seen> <clock> <real> <leap> <precision>`; the nanoseconds are exact in the difference. */
export function shmSamples(text: string, unit = 0): FeedSample[] {
  const out: FeedSample[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f[0] !== 'sample' || f[1] !== `NTP${unit}` || f.length < 5) continue;
    const [cs, cn = '0'] = (f[3] as string).split('.');
    const [rs, rn = '0'] = (f[4] as string).split('.');
    const ns = (BigInt(rs as string) - BigInt(cs as string)) * 1_000_000_000n + BigInt(rn.padEnd(9, '0')) - BigInt(cn.padEnd(9, '0'));
    out.push({ clock: Number(f[3]), offset: Number(ns) / 1e9 });
  }
  return out;
}

/** Least-squares line offset(clock), with the largest residual about it; `at(t)` is the line at Unix time t. */
export function lineFit(s: readonly FeedSample[]): { slope: number; maxResidual: number; at: (t: number) => number } {
  const n = s.length;
  const t0 = s[0]?.clock ?? 0;
  const mx = s.reduce((a, p) => a + p.clock - t0, 0) / n;
  const my = s.reduce((a, p) => a + p.offset, 0) / n;
  let sxy = 0, sxx = 0;
  for (const p of s) { sxy += (p.clock - t0 - mx) * (p.offset - my); sxx += (p.clock - t0 - mx) ** 2; }
  const slope = sxx > 0 ? sxy / sxx : 0;
  const intercept = my - slope * mx;
  const maxResidual = Math.max(...s.map((p) => Math.abs(p.offset - intercept - slope * (p.clock - t0))));
  return { slope, maxResidual, at: (t) => intercept + slope * (t - t0) };
}
