/**
 * Readers of a directive's arguments, for the daemon's parsers (a ParseState)
 * and `ntpkit server`'s (Diagnostics) alike: both only need somewhere to put
 * errors, so one set of readers gives both the same messages.
 */
import { type ConfigDiagnostic } from './diagnostics.js';
import { type ConfigLine } from './lexer.js';
import { parseInteger } from './numbers.js';

/** Where a reader reports: a ParseState or Diagnostics. */
export interface ErrorSink {
  readonly errors: ConfigDiagnostic[];
}

/** Reports `directive: message` at the line. */
export function lineError(d: ErrorSink, l: ConfigLine, message: string): void {
  d.errors.push({ file: l.file, line: l.line, message: `${l.directive}: ${message}` });
}

/** The single argument of `l`, or null after an error naming `what` was expected. */
export function oneArg(d: ErrorSink, l: ConfigLine, what: string): string | null {
  if (l.args.length !== 1) { lineError(d, l, `expected ${what}, got "${l.args.join(' ')}"`); return null; }
  return l.args[0] as string;
}

/** Linux's IFNAMSIZ: an interface name and its NUL. */
const IFNAMSIZ = 16;

/** The single interface name argument of `l` (1 to 15 bytes, no '/'), or null after an error. */
export function interfaceName(d: ErrorSink, l: ConfigLine): string | null {
  const n = l.args.length === 1 ? l.args[0] as string : null;
  const bytes = n === null ? 0 : new TextEncoder().encode(n).length;
  if (n === null || bytes === 0 || bytes >= IFNAMSIZ || n.includes('/') || n === '.' || n === '..') {
    lineError(d, l, `expected one interface name of 1 to ${IFNAMSIZ - 1} bytes, got "${l.args.join(' ')}"`);
    return null;
  }
  return n;
}

/** The single integer argument of `l` in [lo, hi], or null after an error naming `what` was expected. */
export function oneInteger(d: ErrorSink, l: ConfigLine, lo: number, hi: number, what: string): number | null {
  const n = l.args.length === 1 ? parseInteger(l.args[0], lo, hi) : null;
  if (n === null) lineError(d, l, `expected ${what}, got "${l.args.join(' ')}"`);
  return n;
}

/** oneInteger, with the error naming the range after `what`. */
export function oneIntegerInRange(d: ErrorSink, l: ConfigLine, lo: number, hi: number, what: string): number | null {
  return oneInteger(d, l, lo, hi, `${what} from ${lo} to ${hi}`);
}
