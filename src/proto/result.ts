/**
 * Parse results. Parsers in src/proto never throw on input: a malformed
 * packet is an ordinary outcome on a network, and callers count and drop it
 * by its named reason.
 */

/** Why a buffer was rejected. These names are stable: they become counters and metric labels. */
export type ParseErrorReason =
  | 'too-short'          // fewer bytes than the structure needs (or than a mode 6 count announces)
  | 'bad-version'        // version field outside 1..4
  | 'bad-mode'           // mode 0 (reserved)
  | 'control-mode'       // mode 6 or 7, rejected unless explicitly allowed (whatever the length)
  | 'bad-field-length'   // extension field length not a multiple of 4, below the minimum, or past the end
  | 'bad-mac-length'     // trailing bytes that are neither a valid extension field nor a MAC of an allowed length
  | 'trailing-data';     // bytes left over that no rule accounts for (not a whole number of 32-bit words)

export interface ParseError {
  readonly ok: false;
  readonly reason: ParseErrorReason;
  /** Human-readable: "Cannot parse X: ..." */
  readonly message: string;
  /** Byte offset where parsing failed, when known. */
  readonly offset?: number;
}

export interface ParseOk<T> {
  readonly ok: true;
  readonly value: T;
}

export type ParseResult<T> = ParseOk<T> | ParseError;

export function ok<T>(value: T): ParseOk<T> {
  return { ok: true, value };
}

export function fail(reason: ParseErrorReason, message: string, offset?: number): ParseError {
  return offset === undefined ? { ok: false, reason, message } : { ok: false, reason, message, offset };
}
