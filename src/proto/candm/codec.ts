/**
 * Requests and replies of chrony's command protocol as whole datagrams: the
 * server's view (parse a request, build its reply) and the client's (the
 * reverse), both through the layouts of messages.ts. Parsing never throws.
 */
import { type FieldValue, type Layout, layoutSize, readLayout, writeLayout } from './layout.js';
import {
  MAX_REQUEST_LENGTH, PKT_TYPE_CMD_REPLY, PKT_TYPE_CMD_REQUEST, PROTO_VERSION, PROTO_VERSION_MISMATCH_COMPAT_SERVER,
  REPLY_BODY, REPLY_HEADER_LENGTH, REPLY_LAYOUTS, type ReplyBodyName, REQUEST_HEADER_LENGTH, REQUEST_LAYOUTS,
  REQUEST_SPECS, requestBodyLength, requestLength, requestPadding, RPY, STT,
} from './messages.js';

export interface CandmRequest {
  readonly version: number;
  readonly command: number;
  readonly attempt: number;
  readonly sequence: number;
  /** The body's fields, by the names of the command's layout. */
  readonly body: Readonly<Record<string, FieldValue>>;
  /** Bytes received, which bounds the reply's length. */
  readonly length: number;
}

/** The reply's header fields a request decides. */
export interface ReplyHeader {
  readonly command: number;
  readonly sequence: number;
}

/**
 * What a server does with a datagram, as chronyd's read_from_cmd_socket:
 * `drop` it (too short or long for any reply, not a request, or a version
 * too old to be told), answer only a `status` (wrong version, unknown
 * command, too short for its command), or serve the `request`.
 */
export type RequestVerdict =
  | { readonly kind: 'drop'; readonly reason: 'bad-length' | 'not-request' | 'old-version' }
  | { readonly kind: 'status'; readonly status: number; readonly header: ReplyHeader; readonly length: number; readonly reason: 'bad-version' | 'invalid-command' | 'too-short' }
  | { readonly kind: 'request'; readonly request: CandmRequest };

export function parseRequest(data: Uint8Array): RequestVerdict {
  // An error reply takes a whole reply header; a request shorter than that could not be answered without amplifying.
  if (data.length < REPLY_HEADER_LENGTH || data.length > MAX_REQUEST_LENGTH) return { kind: 'drop', reason: 'bad-length' };
  const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
  if (v.getUint8(1) !== PKT_TYPE_CMD_REQUEST || v.getUint8(2) !== 0 || v.getUint8(3) !== 0) return { kind: 'drop', reason: 'not-request' };
  const version = v.getUint8(0);
  const command = v.getUint16(4);
  const attempt = v.getUint16(6);
  const sequence = v.getUint32(8);
  const header = { command, sequence };
  if (version !== PROTO_VERSION) {
    if (version >= PROTO_VERSION_MISMATCH_COMPAT_SERVER) return { kind: 'status', status: STT.BADPKTVERSION, header, length: data.length, reason: 'bad-version' };
    return { kind: 'drop', reason: 'old-version' };
  }
  const spec = REQUEST_SPECS[command];
  if (spec === undefined) return { kind: 'status', status: STT.INVALID, header, length: data.length, reason: 'invalid-command' };
  if (data.length < requestLength(command)) return { kind: 'status', status: STT.BADPKTLENGTH, header, length: data.length, reason: 'too-short' };
  const body = readLayout(v, REQUEST_HEADER_LENGTH, REQUEST_LAYOUTS[spec.body]);
  return { kind: 'request', request: { version, command, attempt, sequence, body, length: data.length } };
}

export interface ReplyBody {
  /** RPY_* code. */
  readonly reply: number;
  readonly fields: Readonly<Record<string, unknown>>;
}

/**
 * A reply datagram: the header with `status`, and the body of `body.reply`
 * (RPY_NULL when absent). Its length is the reply's, as chronyd's
 * PKL_ReplyLength; the caller checks it against the request's.
 */
export function encodeReply(header: ReplyHeader, status: number, body?: ReplyBody): Uint8Array {
  const reply = body?.reply ?? RPY.NULL;
  const layout = replyLayout(reply);
  const out = new Uint8Array(REPLY_HEADER_LENGTH + layoutSize(layout));
  const v = new DataView(out.buffer);
  v.setUint8(0, PROTO_VERSION);
  v.setUint8(1, PKT_TYPE_CMD_REPLY);
  v.setUint16(4, header.command);
  v.setUint16(6, reply);
  v.setUint16(8, status);
  v.setUint32(16, header.sequence >>> 0);
  writeLayout(v, REPLY_HEADER_LENGTH, layout, body?.fields ?? {});
  return out;
}

function replyLayout(reply: number): Layout {
  const name: ReplyBodyName | undefined = REPLY_BODY[reply];
  return name === undefined ? [] : REPLY_LAYOUTS[name];
}

// ---- the client's side ----

/** A version 6 request datagram of `command`, padded as chronyc pads it. */
export function encodeRequest(command: number, fields: Readonly<Record<string, unknown>>, sequence: number, attempt = 0): Uint8Array {
  const spec = REQUEST_SPECS[command];
  if (spec === undefined) throw new RangeError(`Cannot encode request ${command}: not a command of protocol version ${PROTO_VERSION}`);
  const out = new Uint8Array(REQUEST_HEADER_LENGTH + requestBodyLength(command) + requestPadding(command));
  const v = new DataView(out.buffer);
  v.setUint8(0, PROTO_VERSION);
  v.setUint8(1, PKT_TYPE_CMD_REQUEST);
  v.setUint16(4, command);
  v.setUint16(6, attempt);
  v.setUint32(8, sequence >>> 0);
  writeLayout(v, REQUEST_HEADER_LENGTH, REQUEST_LAYOUTS[spec.body], fields);
  return out;
}

export interface CandmReply {
  readonly version: number;
  readonly command: number;
  readonly reply: number;
  readonly status: number;
  readonly sequence: number;
  readonly body: Readonly<Record<string, FieldValue>>;
}

export type ReplyParse = { readonly ok: true; readonly reply: CandmReply } | { readonly ok: false; readonly message: string };

/** A reply datagram, checked as chronyc checks one (client.c: type, version, length of its body). */
export function parseReply(data: Uint8Array): ReplyParse {
  if (data.length < REPLY_HEADER_LENGTH) return { ok: false, message: `Cannot parse the reply: ${data.length} bytes, fewer than the ${REPLY_HEADER_LENGTH} of its header` };
  const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
  if (v.getUint8(1) !== PKT_TYPE_CMD_REPLY) return { ok: false, message: 'Cannot parse the reply: it is not a reply packet' };
  const version = v.getUint8(0);
  const reply = v.getUint16(6);
  const status = v.getUint16(8);
  const base = { version, command: v.getUint16(4), reply, status, sequence: v.getUint32(16) };
  if (version !== PROTO_VERSION) return { ok: true, reply: { ...base, body: {} } };
  const layout = replyLayout(reply);
  if (data.length < REPLY_HEADER_LENGTH + layoutSize(layout)) return { ok: false, message: `Cannot parse reply ${reply}: ${data.length} bytes, its body needs ${REPLY_HEADER_LENGTH + layoutSize(layout)}` };
  return { ok: true, reply: { ...base, body: readLayout(v, REPLY_HEADER_LENGTH, layout) } };
}
