/**
 * What a mode 6 (RFC 9327) exchange carries beyond the 12-byte header that
 * control.ts parses: the opcodes and error codes, the system and peer status
 * words, the "name=value, ..." text of READVAR, and splitting a response
 * into fragments.
 *
 * Layouts follow RFC 9327 §2-§4 and what NTPsec's ntpq (Debian's python3-ntp)
 * checks in a response: the R bit, the request's sequence and opcode, every
 * datagram padded to a multiple of 4 octets, the M bit on every fragment but
 * the last, the offset of each fragment's data in the whole response, and
 * the error code in the status field's high octet with the E bit.
 */
import type { Leap } from './constants.js';
import { CONTROL_HEADER_LENGTH, type ControlMessage, encodeControlModePacket } from './control.js';

/** RFC 9327 §2.1 opcodes (8 and 9 are ntpd's, 10-12 and 31 ntpd's later additions). */
export const ControlOpcode = {
  ReadStatus: 1,
  ReadVariables: 2,
  WriteVariables: 3,
  ReadClock: 4,
  WriteClock: 5,
  SetTrap: 6,
  AsyncMessage: 7,
  Configure: 8,
  SaveConfig: 9,
  ReadMru: 10,
  ReadOrderedList: 11,
  RequestNonce: 12,
  UnsetTrap: 31,
} as const;

/** Opcodes that change the server's state: never served without authentication, so always refused here. */
export const WRITE_OPCODES: ReadonlySet<number> = new Set([
  ControlOpcode.WriteVariables, ControlOpcode.WriteClock, ControlOpcode.SetTrap, ControlOpcode.Configure,
  ControlOpcode.SaveConfig, ControlOpcode.UnsetTrap,
]);

/** RFC 9327 §2.2 error codes (the high octet of the status field when E is set). */
export const ControlErrorCode = {
  Unspecified: 0,
  AuthFailure: 1,
  BadFormat: 2,
  BadOpcode: 3,
  BadAssociation: 4,
  UnknownVariable: 5,
  BadValue: 6,
  Permission: 7,
} as const;

/**
 * Data octets per fragment: ntpd's CTL_MAX_DATA_LEN, which NTPsec's ntpq
 * also takes as the most a request may carry.
 */
export const MAX_FRAGMENT_DATA = 468;

/** System status word clock sources (RFC 9327 §2.3.1). */
export const ClockSource = { Unspecified: 0, Pps: 1, Ntp: 6 } as const;

/** System status word: LI (2) | clock source (6) | event counter (4) | event code (4). */
export function systemStatusWord(leap: number, source: number, eventCount: number, eventCode: number): number {
  return ((leap & 3) << 14) | ((source & 0x3f) << 8) | ((eventCount & 0xf) << 4) | (eventCode & 0xf);
}

/** Peer selection codes (RFC 9327 §2.3.2), shown by ntpq as " x.-+#*o". */
export const PeerSelection = {
  Reject: 0, Falseticker: 1, Excess: 2, Outlier: 3, Candidate: 4, Backup: 5, SystemPeer: 6, PpsPeer: 7,
} as const;

/** The flags of a peer status word's high 5 bits. */
export interface PeerStatusFlags {
  readonly configured: boolean;
  readonly authEnabled: boolean;
  readonly authentic: boolean;
  readonly reachable: boolean;
}

/** Peer status word: flags (5) | selection (3) | event counter (4) | event code (4). */
export function peerStatusWord(f: PeerStatusFlags, selection: number, eventCount: number, eventCode: number): number {
  const flags = (f.configured ? 0x10 : 0) | (f.authEnabled ? 0x08 : 0) | (f.authentic ? 0x04 : 0) | (f.reachable ? 0x02 : 0);
  return (flags << 11) | ((selection & 7) << 8) | ((eventCount & 0xf) << 4) | (eventCode & 0xf);
}

/** A variable as READVAR returns it: its name and its value's text, already in ntpd's format. */
export type ControlVariable = readonly [name: string, value: string];

/** ntpd wraps the variable list so that no line passes 72 characters (ctl_putdata). */
const MAX_LINE = 72;

/**
 * The data of a READVAR response: "name=value" items separated by ",",
 * then a space or, where the line would pass 72 characters, CR LF, as ntpd
 * writes them (ntpq's raw mode prints it as it comes).
 */
export function formatVariables(vars: readonly ControlVariable[]): string {
  let out = '';
  let lineLength = 0;
  for (const [name, value] of vars) {
    const item = value === '' ? name : `${name}=${value}`;
    if (out !== '') {
      out += ',';
      if (lineLength + item.length + 2 > MAX_LINE) {
        out += '\r\n';
        lineLength = 0;
      } else {
        out += ' ';
        lineLength += 2;
      }
    }
    out += item;
    lineLength += item.length;
  }
  return out;
}

/**
 * The names a READVAR request asks for: its data split at commas, each
 * item's name before any "=", blanks trimmed, empty items skipped. Null when
 * the data holds anything but printable ASCII and blanks (ntpd answers such
 * a request with a format error).
 */
export function parseVariableNames(data: Uint8Array): string[] | null {
  let text = '';
  for (const b of data) {
    // A NUL ends the list: ntpq pads its data with zeros it does not count, and some clients count them.
    if (b === 0) break;
    if ((b < 0x20 || b > 0x7e) && b !== 0x09 && b !== 0x0a && b !== 0x0d) return null;
    text += String.fromCharCode(b);
  }
  const names: string[] = [];
  for (const item of text.split(',')) {
    const name = item.split('=')[0]?.trim() ?? '';
    if (name !== '') names.push(name);
  }
  return names;
}

/** The response's header fields, taken from its request where RFC 9327 says so. */
export interface ControlResponseHead {
  readonly request: ControlMessage;
  /** The system or peer status word; ignored for an error, which carries its code there. */
  readonly status: number;
  readonly associationId: number;
  /** The leap indicator in the first octet (the system's). */
  readonly leap: Leap;
}

/** 4-octet alignment of every datagram, as ntpq insists. */
function padding(dataLength: number): Uint8Array {
  return new Uint8Array((4 - ((CONTROL_HEADER_LENGTH + dataLength) % 4)) % 4);
}

/**
 * A response as datagrams: the data cut into fragments of at most
 * MAX_FRAGMENT_DATA octets (at least one, possibly empty), each with its
 * offset, M set on all but the last, and padded to 4 octets.
 */
export function encodeControlResponse(head: ControlResponseHead, data: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let at = 0; at === 0 || at < data.length; at += MAX_FRAGMENT_DATA) {
    const chunk = data.subarray(at, Math.min(data.length, at + MAX_FRAGMENT_DATA));
    out.push(encodeControlModePacket({
      kind: 'control', leap: head.leap, version: head.request.version, response: true, error: false,
      more: at + MAX_FRAGMENT_DATA < data.length, opcode: head.request.opcode, sequence: head.request.sequence,
      status: head.status, associationId: head.associationId, offset: at, data: chunk, trailer: padding(chunk.length),
    }));
  }
  return out;
}

/** An error response: E set, the code in the status field's high octet, no data. */
export function encodeControlError(request: ControlMessage, leap: Leap, code: number): Uint8Array {
  return encodeControlModePacket({
    kind: 'control', leap, version: request.version, response: true, error: true, more: false,
    opcode: request.opcode, sequence: request.sequence, status: (code & 0xff) << 8,
    associationId: request.associationId, offset: 0, data: new Uint8Array(0), trailer: new Uint8Array(0),
  });
}
