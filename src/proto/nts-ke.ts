/**
 * NTS Key Establishment records (RFC 8915 §4). Each record is
 *
 *   | C (1) | Record Type (15) | Body Length (16) | Body ... |
 *
 * and a message is a sequence of records ending with End of Message. The
 * records travel over TLS 1.3, a byte stream, so scanNtsKeMessage() also
 * says "incomplete" until End of Message arrives. It never throws: malformed
 * input, from the network or a fuzzer, is a named error.
 *
 * interpretKeRequest() and interpretKeResponse() apply §4.1's rules about
 * which records a request and a response must carry; the TLS and key export
 * around them live in src/daemon/nts-ke-server.ts and src/net/nts-ke-client.ts.
 */

export const NtsKeRecordType = {
  EndOfMessage: 0,
  NextProtocol: 1,
  Error: 2,
  Warning: 3,
  AeadAlgorithm: 4,
  NewCookie: 5,
  Server: 6,
  Port: 7,
} as const;

/** §4.1.3 error codes. */
export const NtsKeErrorCode = { UnrecognizedCriticalRecord: 0, BadRequest: 1, InternalServerError: 2 } as const;

/** §4.1.2: the only next protocol defined, NTPv4. */
export const NTS_NEXT_PROTOCOL_NTPV4 = 0;
/** IANA AEAD registry (RFC 5116 / RFC 5297 / RFC 8452). */
export const AeadId = { AesSivCmac256: 15, AesSivCmac384: 16, AesSivCmac512: 17, Aes128GcmSiv: 30, Aes256GcmSiv: 31 } as const;
/** Key lengths (octets) of the AEADs by id: SIV-CMAC keys are two AES keys. */
export const AEAD_KEY_LENGTH: Readonly<Record<number, number>> = { 15: 32, 16: 48, 17: 64, 30: 16, 31: 32 };
export const NTS_KE_ALPN = 'ntske/1';
export const NTS_KE_DEFAULT_PORT = 4460;
/** §5.1: the TLS exporter label. */
export const NTS_KE_EXPORTER_LABEL = 'EXPORTER-network-time-security';
/**
 * The longest message either side accepts. chrony caps NTS-KE messages at
 * 16384 octets (NKE_MAX_MESSAGE_LENGTH); a peer that sends more without End
 * of Message is misbehaving, and an unbounded buffer would be a memory attack.
 */
export const NTS_KE_MAX_MESSAGE_LENGTH = 16384;
/** Cookies in a response. chrony and ntpd-rs hand out 8 (§4.1.6: "SHOULD ... eight"). */
export const NTS_KE_COOKIES_PER_RESPONSE = 8;
/** Longest server name in a Server Negotiation record: a DNS name is at most 253 octets; chrony allows 255. */
export const NTS_KE_MAX_SERVER_NAME = 255;

export type NtsKeRecord =
  | { readonly type: 'end'; readonly critical: boolean }
  | { readonly type: 'next-protocol'; readonly critical: boolean; readonly protocols: readonly number[] }
  | { readonly type: 'error'; readonly critical: boolean; readonly code: number }
  | { readonly type: 'warning'; readonly critical: boolean; readonly code: number }
  | { readonly type: 'aead'; readonly critical: boolean; readonly algorithms: readonly number[] }
  | { readonly type: 'cookie'; readonly critical: boolean; readonly cookie: Uint8Array }
  | { readonly type: 'server'; readonly critical: boolean; readonly host: string }
  | { readonly type: 'port'; readonly critical: boolean; readonly port: number }
  | { readonly type: 'unknown'; readonly critical: boolean; readonly recordType: number; readonly body: Uint8Array };

/** Why a message was rejected; stable names (counters, logs, fuzz findings). */
export type NtsKeErrorReason =
  | 'too-long'            // no End of Message within NTS_KE_MAX_MESSAGE_LENGTH octets
  | 'bad-record-length'   // a body length the record type does not allow (odd list, wrong fixed size)
  | 'bad-server-name'     // a Server record that is empty, too long or not printable ASCII
  | 'data-after-end'      // octets after End of Message
  | 'unknown-critical'    // an unrecognised record with the critical bit (§4: MUST be rejected)
  | 'bad-request'         // a request that breaks §4.1's rules
  | 'bad-response'        // a response that breaks §4.1's rules
  | 'server-error'        // the response carried an Error record
  | 'no-common-protocol'  // the response's Next Protocol list is empty or not NTPv4
  | 'no-common-aead'      // the response's AEAD list is empty or names one we did not offer
  | 'no-cookies';         // a successful response without a single cookie

export interface NtsKeError {
  readonly ok: false;
  readonly reason: NtsKeErrorReason;
  /** "Cannot parse X: ..." */
  readonly message: string;
  /** For server-error: the code the server sent. */
  readonly code?: number;
}

export type NtsKeScan =
  | { readonly ok: true; readonly complete: false }
  | { readonly ok: true; readonly complete: true; readonly records: readonly NtsKeRecord[]; readonly length: number }
  | NtsKeError;

function err(reason: NtsKeErrorReason, message: string, code?: number): NtsKeError {
  return code === undefined ? { ok: false, reason, message } : { ok: false, reason, message, code };
}

function u16(b: Uint8Array, o: number): number {
  return ((b[o] as number) << 8) | (b[o + 1] as number);
}

function u16List(body: Uint8Array): number[] | null {
  if (body.length % 2 !== 0) return null;
  const out: number[] = [];
  for (let i = 0; i < body.length; i += 2) out.push(u16(body, i));
  return out;
}

/** Printable ASCII without blanks: what an IP address or a DNS name can hold. */
function validServerName(body: Uint8Array): boolean {
  if (body.length === 0 || body.length > NTS_KE_MAX_SERVER_NAME) return false;
  for (const c of body) if (c <= 0x20 || c >= 0x7f) return false;
  return true;
}

function decodeRecord(type: number, critical: boolean, body: Uint8Array, offset: number): NtsKeRecord | NtsKeError {
  const bad = (what: string): NtsKeError => err('bad-record-length', `Cannot parse NTS-KE record type ${type} at offset ${offset}: ${what}, body is ${body.length} octets`);
  switch (type) {
    case NtsKeRecordType.EndOfMessage:
      return body.length === 0 ? { type: 'end', critical } : bad('End of Message must be empty');
    case NtsKeRecordType.NextProtocol: {
      const protocols = u16List(body);
      return protocols === null ? bad('expected a list of 16-bit protocol ids') : { type: 'next-protocol', critical, protocols };
    }
    case NtsKeRecordType.Error:
    case NtsKeRecordType.Warning:
      if (body.length !== 2) return bad('expected a 16-bit code');
      return { type: type === NtsKeRecordType.Error ? 'error' : 'warning', critical, code: u16(body, 0) };
    case NtsKeRecordType.AeadAlgorithm: {
      const algorithms = u16List(body);
      return algorithms === null ? bad('expected a list of 16-bit AEAD ids') : { type: 'aead', critical, algorithms };
    }
    case NtsKeRecordType.NewCookie:
      return { type: 'cookie', critical, cookie: body.slice() };
    case NtsKeRecordType.Server:
      if (!validServerName(body)) {
        return err('bad-server-name', `Cannot parse NTS-KE Server Negotiation at offset ${offset}: expected 1 to ${NTS_KE_MAX_SERVER_NAME} printable ASCII octets, got ${body.length} octets`);
      }
      return { type: 'server', critical, host: String.fromCharCode(...body) };
    case NtsKeRecordType.Port:
      return body.length === 2 ? { type: 'port', critical, port: u16(body, 0) } : bad('expected a 16-bit port');
    default:
      return { type: 'unknown', critical, recordType: type, body: body.slice() };
  }
}

/**
 * Reads one message from the start of `buf`: the records up to and including
 * End of Message. With no End of Message yet it answers incomplete, or
 * too-long once `buf` holds more than `maxLength` octets. Octets after End of
 * Message are an error: in NTS-KE each side sends exactly one message.
 */
export function scanNtsKeMessage(buf: Uint8Array, maxLength = NTS_KE_MAX_MESSAGE_LENGTH): NtsKeScan {
  const records: NtsKeRecord[] = [];
  let o = 0;
  for (;;) {
    if (o + 4 > buf.length) break;
    const word = u16(buf, o);
    const bodyLength = u16(buf, o + 2);
    if (o + 4 + bodyLength > buf.length) break;
    const r = decodeRecord(word & 0x7fff, (word & 0x8000) !== 0, buf.subarray(o + 4, o + 4 + bodyLength), o);
    if ('ok' in r) return r;
    records.push(r);
    o += 4 + bodyLength;
    if (o > maxLength) return err('too-long', `Cannot parse NTS-KE message: longer than ${maxLength} octets`);
    if (r.type === 'end') {
      if (o !== buf.length) return err('data-after-end', `Cannot parse NTS-KE message: ${buf.length - o} octets after End of Message`);
      return { ok: true, complete: true, records, length: o };
    }
  }
  if (buf.length > maxLength) return err('too-long', `Cannot parse NTS-KE message: no End of Message within ${maxLength} octets`);
  return { ok: true, complete: false };
}

function recordHeader(out: number[], type: number, critical: boolean, bodyLength: number): void {
  const word = (critical ? 0x8000 : 0) | (type & 0x7fff);
  out.push(word >> 8, word & 0xff, bodyLength >> 8, bodyLength & 0xff);
}

/** Encodes records. It throws on values that cannot be encoded (a caller's bug, never network input). */
export function encodeNtsKeRecords(records: readonly NtsKeRecord[]): Uint8Array {
  const out: number[] = [];
  const list = (type: number, critical: boolean, values: readonly number[]): void => {
    recordHeader(out, type, critical, values.length * 2);
    for (const v of values) {
      if (!Number.isInteger(v) || v < 0 || v > 0xffff) throw new RangeError(`NTS-KE value ${v} is not a 16-bit integer`);
      out.push(v >> 8, v & 0xff);
    }
  };
  const bytes = (type: number, critical: boolean, body: Uint8Array): void => {
    if (body.length > 0xffff) throw new RangeError(`NTS-KE record body of ${body.length} octets exceeds 65535`);
    recordHeader(out, type, critical, body.length);
    for (const b of body) out.push(b);
  };
  for (const r of records) {
    switch (r.type) {
      case 'end': recordHeader(out, NtsKeRecordType.EndOfMessage, r.critical, 0); break;
      case 'next-protocol': list(NtsKeRecordType.NextProtocol, r.critical, r.protocols); break;
      case 'error': list(NtsKeRecordType.Error, r.critical, [r.code]); break;
      case 'warning': list(NtsKeRecordType.Warning, r.critical, [r.code]); break;
      case 'aead': list(NtsKeRecordType.AeadAlgorithm, r.critical, r.algorithms); break;
      case 'cookie': bytes(NtsKeRecordType.NewCookie, r.critical, r.cookie); break;
      case 'server': {
        const body = Uint8Array.from(r.host, (c) => c.charCodeAt(0));
        if (!validServerName(body)) throw new RangeError(`NTS-KE server name ${JSON.stringify(r.host)} is not 1 to ${NTS_KE_MAX_SERVER_NAME} printable ASCII characters`);
        bytes(NtsKeRecordType.Server, r.critical, body);
        break;
      }
      case 'port': list(NtsKeRecordType.Port, r.critical, [r.port]); break;
      case 'unknown': bytes(r.recordType, r.critical, r.body); break;
    }
  }
  return Uint8Array.from(out);
}

export interface NtsKeRequestOptions {
  /** AEAD ids in order of preference. */
  readonly aeads: readonly number[];
  /** Ask for an NTP server / port (§4.1.7, §4.1.8: the server may ignore it). */
  readonly server?: string;
  readonly port?: number;
}

/** A client's request (§4.1): Next Protocol NTPv4, the AEADs it offers, End of Message; all critical as chrony sends them. */
export function buildKeRequest(o: NtsKeRequestOptions): NtsKeRecord[] {
  return [
    { type: 'next-protocol', critical: true, protocols: [NTS_NEXT_PROTOCOL_NTPV4] },
    { type: 'aead', critical: true, algorithms: o.aeads },
    ...(o.server === undefined ? [] : [{ type: 'server', critical: false, host: o.server } as const]),
    ...(o.port === undefined ? [] : [{ type: 'port', critical: false, port: o.port } as const]),
    { type: 'end', critical: true },
  ];
}

/** What a valid request asks for. */
export interface NtsKeRequest {
  /** The first AEAD we support in the client's order of preference; null when none. */
  readonly aeadId: number | null;
  /** Whether NTPv4 was among the client's protocols. */
  readonly ntpv4: boolean;
}

export type NtsKeRequestResult = { readonly ok: true; readonly value: NtsKeRequest } | (NtsKeError & { readonly errorCode: number });

/**
 * Checks a client's request against §4.1: exactly one Next Protocol record,
 * and (for NTPv4) exactly one AEAD record; unknown critical records earn an
 * Unrecognized Critical Record error, and a client may not send Error,
 * Warning or New Cookie. `supportedAeads` is what this server implements.
 */
export function interpretKeRequest(records: readonly NtsKeRecord[], supportedAeads: readonly number[]): NtsKeRequestResult {
  let protocols: readonly number[] | null = null;
  let algorithms: readonly number[] | null = null;
  let protocolRecords = 0;
  let aeadRecords = 0;
  const bad = (message: string): NtsKeRequestResult => ({ ...err('bad-request', `Cannot accept NTS-KE request: ${message}`), errorCode: NtsKeErrorCode.BadRequest });
  for (const r of records) {
    switch (r.type) {
      case 'unknown':
        if (r.critical) return { ...err('unknown-critical', `Cannot accept NTS-KE request: unrecognised critical record type ${r.recordType}`), errorCode: NtsKeErrorCode.UnrecognizedCriticalRecord };
        break;
      case 'next-protocol': protocolRecords++; protocols = r.protocols; break;
      case 'aead': aeadRecords++; algorithms = r.algorithms; break;
      case 'error': case 'warning': case 'cookie':
        return bad(`a client may not send a ${r.type} record`);
      default: break; // End, and the optional Server/Port hints this server does not act on
    }
  }
  if (protocolRecords !== 1 || protocols === null) return bad(`expected one Next Protocol record, got ${protocolRecords}`);
  const ntpv4 = protocols.includes(NTS_NEXT_PROTOCOL_NTPV4);
  if (ntpv4 && (aeadRecords !== 1 || algorithms === null)) return bad(`expected one AEAD Algorithm record, got ${aeadRecords}`);
  const aeadId = ntpv4 ? (algorithms ?? []).find((a) => supportedAeads.includes(a)) ?? null : null;
  return { ok: true, value: { aeadId, ntpv4 } };
}

export interface NtsKeResponseOptions {
  readonly aeadId: number;
  readonly cookies: readonly Uint8Array[];
  /** NTPv4 server/port the client should use instead of the KE server's address and 123. */
  readonly server?: string;
  readonly port?: number;
}

/** A successful response (§4.1): Next Protocol NTPv4, the chosen AEAD, cookies, optional server/port, End. */
export function buildKeResponse(o: NtsKeResponseOptions): NtsKeRecord[] {
  return [
    { type: 'next-protocol', critical: true, protocols: [NTS_NEXT_PROTOCOL_NTPV4] },
    { type: 'aead', critical: true, algorithms: [o.aeadId] },
    ...(o.server === undefined ? [] : [{ type: 'server', critical: true, host: o.server } as const]),
    ...(o.port === undefined ? [] : [{ type: 'port', critical: true, port: o.port } as const]),
    ...o.cookies.map((cookie) => ({ type: 'cookie', critical: false, cookie }) as const),
    { type: 'end', critical: true },
  ];
}

/**
 * The response when negotiation found nothing in common (§4.1.2, §4.1.5):
 * empty Next Protocol and/or AEAD records tell the client which part failed.
 */
export function buildKeNoCommonResponse(ntpv4: boolean): NtsKeRecord[] {
  return [
    { type: 'next-protocol', critical: true, protocols: ntpv4 ? [NTS_NEXT_PROTOCOL_NTPV4] : [] },
    ...(ntpv4 ? [{ type: 'aead', critical: true, algorithms: [] } as const] : []),
    { type: 'end', critical: true },
  ];
}

/** An Error response (§4.1.3). */
export function buildKeErrorResponse(code: number): NtsKeRecord[] {
  return [{ type: 'error', critical: true, code }, { type: 'end', critical: true }];
}

/** What a successful response gives the client. */
export interface NtsKeResponse {
  readonly aeadId: number;
  readonly cookies: readonly Uint8Array[];
  readonly server: string | null;
  readonly port: number | null;
  readonly warnings: readonly number[];
}

/**
 * Checks a server's response against what the client offered (§4.1): an
 * Error record or an unknown critical record fails it; it must select NTPv4
 * and exactly one of the offered AEADs, and carry at least one cookie.
 */
export function interpretKeResponse(records: readonly NtsKeRecord[], offeredAeads: readonly number[]): { readonly ok: true; readonly value: NtsKeResponse } | NtsKeError {
  let protocols: readonly number[] | null = null;
  let algorithms: readonly number[] | null = null;
  let protocolRecords = 0;
  let aeadRecords = 0;
  let server: string | null = null;
  let port: number | null = null;
  const cookies: Uint8Array[] = [];
  const warnings: number[] = [];
  for (const r of records) {
    switch (r.type) {
      case 'error': return err('server-error', `NTS-KE server answered with error ${r.code} (${errorName(r.code)})`, r.code);
      case 'unknown':
        if (r.critical) return err('unknown-critical', `Cannot accept NTS-KE response: unrecognised critical record type ${r.recordType}`);
        break;
      case 'warning': warnings.push(r.code); break;
      case 'next-protocol': protocolRecords++; protocols = r.protocols; break;
      case 'aead': aeadRecords++; algorithms = r.algorithms; break;
      case 'cookie': cookies.push(r.cookie); break;
      case 'server': server = r.host; break;
      case 'port': port = r.port; break;
      case 'end': break;
    }
  }
  if (protocolRecords !== 1 || protocols === null) return err('bad-response', `Cannot accept NTS-KE response: expected one Next Protocol record, got ${protocolRecords}`);
  if (protocols.length !== 1 || protocols[0] !== NTS_NEXT_PROTOCOL_NTPV4) {
    return err('no-common-protocol', `Cannot accept NTS-KE response: the server selected protocols [${protocols.join(', ')}], expected NTPv4 (0)`);
  }
  if (aeadRecords !== 1 || algorithms === null) return err('bad-response', `Cannot accept NTS-KE response: expected one AEAD Algorithm record, got ${aeadRecords}`);
  if (algorithms.length !== 1 || !offeredAeads.includes(algorithms[0] as number)) {
    return err('no-common-aead', `Cannot accept NTS-KE response: the server selected AEADs [${algorithms.join(', ')}], expected one of [${offeredAeads.join(', ')}]`);
  }
  if (cookies.length === 0) return err('no-cookies', 'Cannot accept NTS-KE response: no New Cookie record');
  return { ok: true, value: { aeadId: algorithms[0] as number, cookies, server, port, warnings } };
}

function errorName(code: number): string {
  switch (code) {
    case NtsKeErrorCode.UnrecognizedCriticalRecord: return 'unrecognized critical record';
    case NtsKeErrorCode.BadRequest: return 'bad request';
    case NtsKeErrorCode.InternalServerError: return 'internal server error';
    default: return 'unassigned';
  }
}

/**
 * The exporter context of §5.1: Protocol ID (NTPv4, 0x0000), the AEAD id,
 * then 0x00 for the client-to-server key or 0x01 for server-to-client.
 */
export function ntsExporterContext(aeadId: number, direction: 'c2s' | 's2c'): Uint8Array {
  return Uint8Array.of(NTS_NEXT_PROTOCOL_NTPV4 >> 8, NTS_NEXT_PROTOCOL_NTPV4 & 0xff, aeadId >> 8, aeadId & 0xff, direction === 'c2s' ? 0 : 1);
}
