/**
 * A target for any codec whose parser returns errors as values: parse never
 * throws, an error has a reason and a message, and an accepted input
 * re-encodes to exactly its bytes (`exact`) or to bytes that parse back to
 * the same value. NTS-KE records and NTS extension fields fit this mould:
 * a target for them is one call to roundTripTarget().
 */
import { isDeepStrictEqual } from 'node:util';
import { type FuzzTarget, invariant } from './harness.js';

export type CodecResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly reason?: string; readonly message: string };

export interface RoundTripSpec<T> {
  readonly name: string;
  readonly description: string;
  readonly maxLength: number;
  readonly seeds: () => readonly Uint8Array[];
  readonly dictionary?: readonly Uint8Array[];
  readonly parse: (input: Uint8Array) => CodecResult<T>;
  readonly encode: (value: T) => Uint8Array;
  /** Re-encoding gives back the very bytes parsed (a canonical encoding). Default true. */
  readonly exact?: boolean;
  /** An outcome label for an accepted value (default "ok"). */
  readonly label?: (value: T) => string;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

export function roundTripTarget<T>(spec: RoundTripSpec<T>): FuzzTarget {
  return {
    name: spec.name,
    description: spec.description,
    maxLength: spec.maxLength,
    seeds: spec.seeds,
    dictionary: spec.dictionary,
    create: () => (input) => {
      const r = spec.parse(input);
      if (!r.ok) {
        invariant(typeof r.message === 'string' && r.message.length > 0, 'a parse error without a message');
        return `error:${r.reason ?? 'rejected'}`;
      }
      const bytes = spec.encode(r.value);
      if (spec.exact ?? true) invariant(sameBytes(bytes, input), 'an accepted input does not re-encode to its bytes');
      const again = spec.parse(bytes);
      invariant(again.ok && isDeepStrictEqual(again.value, r.value), 'a re-encoded value does not parse back to itself');
      return spec.label ? spec.label(r.value) : 'ok';
    },
  };
}
