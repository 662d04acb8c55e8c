/**
 * Test support, not tests: fast-check arbitraries for the wire codec, shared by
 * the proto tests (and the golden tests). The name ends in `.test.ts` because
 * it imports fast-check, which non-test files of a pure layer may not; it
 * defines no tests, so importing it registers none.
 *
 * Fuzzing budget: each property runs `numRuns` cases but stops after a few
 * seconds in CI. Set NTPKIT_FUZZ_RUNS=1000000 for a long local run (no time
 * limit then).
 */
import fc from 'fast-check';
import type { ControlMessage, ControlModePacket, PrivateMessage } from './control.js';
import type { Leap, Mode } from './constants.js';
import type { ExtensionField } from './extension.js';
import type { NtpHeader } from './header.js';
import type { Mac } from './mac.js';
import { encodePacket, type NtpPacket } from './packet.js';

/** fast-check parameters for fuzz properties: time-bounded unless NTPKIT_FUZZ_RUNS is set. */
export function fuzzParams(defaultRuns = 10000, timeLimitMs = 3000): fc.Parameters<unknown> {
  const runs = Number(process.env.NTPKIT_FUZZ_RUNS);
  if (Number.isInteger(runs) && runs > 0) return { numRuns: runs };
  return { numRuns: defaultRuns, interruptAfterTimeLimit: timeLimitMs, markInterruptAsFailure: false };
}

/** Bytes from hex text; spaces and newlines are ignored. */
export function fromHex(hex: string): Uint8Array {
  const clean = hex.replace(/\s+/g, '');
  if (clean.length % 2 !== 0 || /[^0-9a-fA-F]/.test(clean)) throw new Error(`bad hex: ${hex}`);
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export function toHex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

const u8 = fc.integer({ min: 0, max: 255 });
const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffff_ffff });
const i8 = fc.integer({ min: -128, max: 127 });
export const arbTimestamp = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n });

function bytes(length: number): fc.Arbitrary<Uint8Array> {
  return fc.uint8Array({ minLength: length, maxLength: length });
}

/** Any header of NTP modes 1..5, every field over its whole wire range. */
export function arbHeader(version: fc.Arbitrary<number> = fc.integer({ min: 1, max: 4 })): fc.Arbitrary<NtpHeader> {
  return fc.record({
    leap: fc.integer({ min: 0, max: 3 }).map((x) => x as Leap),
    version,
    mode: fc.integer({ min: 1, max: 5 }).map((x) => x as Mode),
    stratum: u8,
    poll: i8,
    precision: i8,
    rootDelay: u32,
    rootDispersion: u32,
    referenceId: u32,
    referenceTimestamp: arbTimestamp,
    originTimestamp: arbTimestamp,
    receiveTimestamp: arbTimestamp,
    transmitTimestamp: arbTimestamp,
  }, { noNullPrototype: true });
}

/** An extension field of at least `minLength` octets (a multiple of 4), body padding included. */
export function arbExtensionField(minLength = 16, maxLength = 96): fc.Arbitrary<ExtensionField> {
  return fc.tuple(u16, fc.integer({ min: Math.ceil(minLength / 4), max: maxLength / 4 }))
    .chain(([type, words]) => bytes(4 * words - 4).map((body) => ({ type, body })));
}

/** A MAC valid at the end of a packet of this version. */
export function arbMac(version: number, afterExtensions = false): fc.Arbitrary<Mac> {
  if (version < 4) {
    return fc.tuple(u32, fc.integer({ min: 0, max: 17 })).chain(([keyId, words]) => bytes(4 * words).map((digest) => ({ keyId, digest })));
  }
  const digestMac = fc.tuple(u32, fc.constantFrom(16, 20)).chain(([keyId, n]) => bytes(n).map((digest) => ({ keyId, digest })));
  return afterExtensions ? digestMac : fc.oneof({ arbitrary: digestMac, weight: 4 }, { arbitrary: fc.constant({ keyId: 0, digest: new Uint8Array(0) }), weight: 1 });
}

/** The extensions and MAC of a packet of this version, respecting RFC 7822's layout rules. */
function arbTrailer(version: number): fc.Arbitrary<Pick<NtpPacket, 'extensions' | 'mac'>> {
  if (version < 4) return fc.option(arbMac(version), { nil: null }).map((mac) => ({ extensions: [], mac }));
  return fc.oneof(
    fc.constant({ extensions: [], mac: null }),
    fc.tuple(fc.array(arbExtensionField(16), { maxLength: 3 }), arbExtensionField(28))
      .map(([efs, last]) => ({ extensions: [...efs, last], mac: null })),
    fc.tuple(fc.array(arbExtensionField(16), { minLength: 1, maxLength: 4 }), arbMac(4, true))
      .map(([extensions, mac]) => ({ extensions, mac })),
    arbMac(4).map((mac) => ({ extensions: [], mac })),
  );
}

/** A valid NTP packet (modes 1..5): parsePacket(encodePacket(p)) must give p back. */
export function arbNtpPacket(): fc.Arbitrary<NtpPacket> {
  return arbHeader().chain((header) => arbTrailer(header.version).map((t) => ({ header, ...t })));
}

export function arbControlMessage(): fc.Arbitrary<ControlMessage> {
  return fc.record({
    kind: fc.constant('control' as const),
    leap: fc.integer({ min: 0, max: 3 }).map((x) => x as Leap),
    version: fc.integer({ min: 1, max: 4 }),
    response: fc.boolean(),
    error: fc.boolean(),
    more: fc.boolean(),
    opcode: fc.integer({ min: 0, max: 31 }),
    sequence: u16,
    status: u16,
    associationId: u16,
    offset: u16,
    data: fc.uint8Array({ maxLength: 64 }),
    trailer: fc.uint8Array({ maxLength: 32 }),
  }, { noNullPrototype: true });
}

export function arbPrivateMessage(): fc.Arbitrary<PrivateMessage> {
  return fc.record({
    kind: fc.constant('private' as const),
    response: fc.boolean(),
    more: fc.boolean(),
    version: fc.integer({ min: 1, max: 4 }),
    authenticated: fc.boolean(),
    sequence: fc.integer({ min: 0, max: 127 }),
    implementation: u8,
    requestCode: u8,
    errorCode: fc.integer({ min: 0, max: 15 }),
    itemCount: fc.integer({ min: 0, max: 0xfff }),
    mbz: fc.integer({ min: 0, max: 15 }),
    itemSize: fc.integer({ min: 0, max: 0xfff }),
    data: fc.uint8Array({ maxLength: 64 }),
  }, { noNullPrototype: true });
}

export function arbAnyPacket(): fc.Arbitrary<NtpPacket | ControlModePacket> {
  return fc.oneof({ arbitrary: arbNtpPacket(), weight: 6 }, arbControlMessage(), arbPrivateMessage());
}

type Mutation =
  | { readonly op: 'set'; readonly at: number; readonly value: number }
  | { readonly op: 'set16'; readonly word: number; readonly value: number }
  | { readonly op: 'truncate'; readonly at: number }
  | { readonly op: 'insert'; readonly at: number; readonly bytes: Uint8Array }
  | { readonly op: 'delete'; readonly at: number; readonly count: number };

const arbMutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant('set' as const), at: fc.nat(), value: u8 }),
  // Rewrites the low half of a 32-bit word, where extension field lengths sit, with small values.
  fc.record({ op: fc.constant('set16' as const), word: fc.nat(), value: fc.integer({ min: 0, max: 120 }) }),
  fc.record({ op: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 12 }) }),
  fc.record({ op: fc.constant('delete' as const), at: fc.nat(), count: fc.integer({ min: 1, max: 12 }) }),
);

function mutate(input: Uint8Array, mutations: readonly Mutation[]): Uint8Array {
  let b = Uint8Array.from(input);
  for (const m of mutations) {
    const at = b.length === 0 ? 0 : ('at' in m ? m.at % (b.length + 1) : 0);
    switch (m.op) {
      case 'set':
        if (b.length > 0) b[at % b.length] = m.value;
        break;
      case 'set16': {
        const words = Math.floor(b.length / 4);
        if (words > 0) {
          const p = (m.word % words) * 4 + 2;
          b[p] = m.value >> 8;
          b[p + 1] = m.value & 0xff;
        }
        break;
      }
      case 'truncate':
        b = b.slice(0, at);
        break;
      case 'insert':
        b = Uint8Array.from([...b.slice(0, at), ...m.bytes, ...b.slice(at)]);
        break;
      case 'delete':
        b = Uint8Array.from([...b.slice(0, at), ...b.slice(at + m.count)]);
        break;
    }
  }
  return b;
}

/** A valid packet's bytes, damaged by 1 to 4 mutations (byte changes, length fields, truncation, splices). */
export function arbMutatedPacketBytes(): fc.Arbitrary<Uint8Array> {
  return fc.tuple(arbAnyPacket().map(encodePacket), fc.array(arbMutation, { minLength: 1, maxLength: 4 }))
    .map(([b, ms]) => mutate(b, ms));
}

/** Random bytes that start like an NTP packet often enough to reach the deeper parsing. */
export function arbNoisyPacketBytes(): fc.Arbitrary<Uint8Array> {
  return fc.oneof(
    fc.uint8Array({ maxLength: 160 }),
    fc.tuple(fc.constantFrom(0x23, 0x24, 0xe3, 0x1b, 0x1c, 0x16, 0x17), fc.uint8Array({ maxLength: 160 }))
      .map(([b0, rest]) => Uint8Array.from([b0, ...rest])),
  );
}
