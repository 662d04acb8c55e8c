/** Numeric arguments as chronyd's parser reads them, shared by every directive so all agree on the syntax. */

/** An integer argument in [lo, hi], written in decimal with an optional sign; null otherwise. */
export function parseInteger(text: string | undefined, lo: number, hi: number): number | null {
  if (text === undefined || !/^[-+]?\d+$/.test(text)) return null;
  const n = Number(text);
  return n >= lo && n <= hi ? n : null;
}

/** A number written the way chrony's sscanf("%lf") accepts it, without trailing junk. */
export function parseNumber(text: string | undefined): number | null {
  if (text === undefined || !/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) return null;
  const n = Number(text);
  return Number.isFinite(n) ? n : null;
}
