/**
 * The fields of `chronyc -c`: chronyc prints each report through one
 * printf-like routine which, in CSV mode, drops the labels, widths and `+`
 * flags, joins the fields with commas and turns its human-readable
 * conversions into plain numbers (client.c print_report: offsets with units
 * become %.9f seconds, ppm %.3f, intervals whole seconds with (uint32)-1 for
 * "never", times seconds.nanoseconds since the epoch). Scripts parse these
 * lines by position, so each report's formatter lists its fields in
 * chronyc's order with these helpers.
 */
import { cFixed } from './report-units.js';

/** chronyc's "never" of an interval column (%I), in CSV a plain uint32. */
const NEVER = 4294967295;

/** A double as `%.Nf` without the `+` flag (CSV mode drops it); -0 keeps its sign as printf does. */
export function csvFixed(x: number, decimals: number): string {
  return cFixed(x, decimals);
}

/** An offset or error in seconds (%S, %O in CSV mode: %.9f). */
export function csvSeconds(x: number): string {
  return cFixed(x, 9);
}

/** A frequency in ppm (%P, %F in CSV mode: %.3f). */
export function csvPpm(x: number): string {
  return cFixed(x, 3);
}

/** An interval in whole seconds (%I in CSV mode: %U), null for never. */
export function csvInterval(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds) || seconds < 0) return String(NEVER);
  return String(Math.min(Math.floor(seconds), NEVER));
}

/** A reference id in hex (%R). */
export function csvRefId(id: number): string {
  return (id >>> 0).toString(16).toUpperCase().padStart(8, '0');
}

/** A time as chronyd's UTI_TimespecToString (%T in CSV mode: %V): seconds.nanoseconds, 0 when unknown. */
export function csvTime(unixSeconds: string | null): string {
  if (unixSeconds === null) return '0.000000000';
  const [whole = '0', frac = ''] = unixSeconds.split('.');
  return `${whole}.${frac.padEnd(9, '0').slice(0, 9)}`;
}

/** A boolean (%B). */
export function csvBool(b: boolean): string {
  return b ? 'Yes' : 'No';
}

/** A clientlog interval (%C in CSV mode: %d): chronyd sends 127 for none. */
export function csvLogInterval(x: number | null): string {
  return String(x ?? 127);
}

/** One report line: the fields joined as chronyc does, ending in a newline. */
export function csvLine(fields: readonly (string | number)[]): string {
  return `${fields.join(',')}\n`;
}
