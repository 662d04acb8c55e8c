/**
 * The control protocol, version 1 (docs/control.md): newline-delimited JSON
 * over a Unix stream socket. One request per line, one reply per request,
 * in order:
 *
 *   -> {"version":1,"id":1,"command":"snapshot","args":{}}
 *   <- {"version":1,"id":1,"ok":true,"result":{...}}
 *   <- {"version":1,"id":1,"ok":false,"error":{"code":"unknown-command","message":"..."}}
 *
 * This module holds the wire types and the request parser; it does no IO, so
 * the parser is fuzzed directly. A bad request is an error value, never an
 * exception (a bad control request gets an error reply and leaves the
 * daemon running: no client can stop the daemon by what it sends).
 */
import { DEFAULT_CONTROLSOCKET } from '../config/config.js';

export const PROTOCOL_VERSION = 1;

/** Where the daemon listens unless `controlsocket` says otherwise: the config's default, so client and daemon agree. */
export const DEFAULT_SOCKET_PATH = DEFAULT_CONTROLSOCKET;

/**
 * The read-only socket next to the main one: `ntpkit.sock` -> `ntpkit-ro.sock`
 * (any other name gets `-ro` appended). It serves the monitoring commands to
 * everyone, as chronyd serves them over its UDP port, while the main socket
 * (mode 0660) serves every command to its owner and group.
 */
export function readOnlySocketPath(path: string): string {
  return path.endsWith('.sock') ? `${path.slice(0, -'.sock'.length)}-ro.sock` : `${path}-ro`;
}

/** The longest request line accepted, newline included. Requests are small; this bounds a client's hold on memory. */
export const MAX_REQUEST_BYTES = 64 * 1024;

/** Request ids are echoed as given: a JSON number or string. */
export type RequestId = number | string;

export interface ControlRequest {
  readonly version: typeof PROTOCOL_VERSION;
  /** Echoed in the reply, so a client may pipeline requests. */
  readonly id: RequestId;
  /** A command name the daemon registered, e.g. "snapshot". */
  readonly command: string;
  /** Command arguments; `{}` when absent. */
  readonly args: Readonly<Record<string, unknown>>;
}

/**
 * Error codes of a reply. Stable: clients branch on them.
 * - `bad-json`: the line is not JSON;
 * - `bad-request`: JSON, but not a request object (missing or mistyped field);
 * - `unsupported-version`: a protocol version this daemon does not speak;
 * - `unknown-command`: no handler of that name;
 * - `bad-args`: the handler refused its arguments;
 * - `request-too-large`: the line exceeds MAX_REQUEST_BYTES (the connection is then closed);
 * - `handler-failed`: the handler threw or rejected;
 * - `internal`: the result could not be sent (not JSON-serializable);
 * - `not-permitted`: the command needs the main socket, and came on the read-only one;
 * - `no-such-source`: no source matches the address or name given;
 * - `source-exists`: `add` of a source already present;
 * - `bad-config`: `reload` found errors (the message lists them as file:line); the running config stays;
 * - `not-serving`: `clients` / `serverstats` while the daemon serves no NTP (no `allow`).
 * - `not-enabled`: `settime` while the config has no `manual`, `dump` without a `dumpdir` (chronyd: 505 Facility not enabled).
 */
export type ControlErrorCode =
  | 'bad-json'
  | 'bad-request'
  | 'unsupported-version'
  | 'unknown-command'
  | 'bad-args'
  | 'request-too-large'
  | 'handler-failed'
  | 'internal'
  | 'not-permitted'
  | 'no-such-source'
  | 'source-exists'
  | 'bad-config'
  | 'not-serving'
  | 'not-enabled';

/** The codes a handler may refuse a request with (by throwing a ControlError of that code). */
export const HANDLER_ERROR_CODES: ReadonlySet<ControlErrorCode> = new Set<ControlErrorCode>(['bad-args', 'no-such-source', 'source-exists', 'bad-config', 'not-serving', 'not-enabled']);

export interface ControlErrorBody {
  readonly code: ControlErrorCode;
  readonly message: string;
}

export type ControlReply =
  | { readonly version: typeof PROTOCOL_VERSION; readonly id: RequestId | null; readonly ok: true; readonly result: unknown }
  | { readonly version: typeof PROTOCOL_VERSION; readonly id: RequestId | null; readonly ok: false; readonly error: ControlErrorBody };

export type ParsedRequest =
  | { readonly ok: true; readonly request: ControlRequest }
  | { readonly ok: false; readonly id: RequestId | null; readonly error: ControlErrorBody };

/** Command names: what a handler registry may hold and a request may name. */
export const COMMAND_NAME = /^[a-z][a-z0-9-]{0,63}$/;

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isRequestId(v: unknown): v is RequestId {
  return (typeof v === 'number' && Number.isFinite(v)) || (typeof v === 'string' && v.length <= 256);
}

/** Parses one request line (without its newline). Never throws. */
export function parseRequest(line: string): ParsedRequest {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch (e) {
    return { ok: false, id: null, error: { code: 'bad-json', message: `Cannot parse the request as JSON: ${(e as Error).message}` } };
  }
  if (!isPlainObject(v)) return { ok: false, id: null, error: { code: 'bad-request', message: 'A request must be a JSON object' } };
  const id = isRequestId(v.id) ? v.id : null;
  const bad = (message: string): ParsedRequest => ({ ok: false, id, error: { code: 'bad-request', message } });
  if (v.version !== PROTOCOL_VERSION) {
    if (typeof v.version === 'number') {
      return { ok: false, id, error: { code: 'unsupported-version', message: `Protocol version ${v.version} is not supported; this daemon speaks version ${PROTOCOL_VERSION}` } };
    }
    return bad(`"version" must be ${PROTOCOL_VERSION}, got ${JSON.stringify(v.version) ?? 'nothing'}`);
  }
  if (!isRequestId(v.id)) return bad('"id" must be a number or a string (up to 256 characters)');
  if (typeof v.command !== 'string' || !COMMAND_NAME.test(v.command)) {
    return bad(`"command" must be a command name such as "snapshot", got ${JSON.stringify(v.command)?.slice(0, 80) ?? 'nothing'}`);
  }
  if (v.args !== undefined && !isPlainObject(v.args)) return bad('"args" must be a JSON object when given');
  return { ok: true, request: { version: PROTOCOL_VERSION, id: v.id, command: v.command, args: (v.args as Record<string, unknown> | undefined) ?? {} } };
}

/** One reply line, newline included. */
export function encodeReply(reply: ControlReply): string {
  return `${JSON.stringify(reply)}\n`;
}

export function errorReply(id: RequestId | null, code: ControlErrorCode, message: string): ControlReply {
  return { version: PROTOCOL_VERSION, id, ok: false, error: { code, message } };
}
