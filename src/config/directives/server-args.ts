/** Argument readers for server directives, which report into Diagnostics rather than a ParseState (`ntpkit server` has none). */
import { type Diagnostics } from '../directive.js';
import { type ConfigLine } from '../lexer.js';
import { parseInteger } from '../numbers.js';

/** Reports `directive: message` at the line. */
export function lineError(d: Diagnostics, l: ConfigLine, message: string): void {
  d.errors.push({ file: l.file, line: l.line, message: `${l.directive}: ${message}` });
}

/** The single argument, or null after an error naming `what` was expected. */
export function singleArg(d: Diagnostics, l: ConfigLine, what: string): string | null {
  if (l.args.length !== 1) { lineError(d, l, `expected ${what}, got "${l.args.join(' ')}"`); return null; }
  return l.args[0] as string;
}

/** The single integer argument in [lo, hi], or null after an error. */
export function singleInteger(d: Diagnostics, l: ConfigLine, lo: number, hi: number, what: string): number | null {
  const n = l.args.length === 1 ? parseInteger(l.args[0], lo, hi) : null;
  if (n === null) lineError(d, l, `expected ${what} from ${lo} to ${hi}, got "${l.args.join(' ')}"`);
  return n;
}
