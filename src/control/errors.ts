/**
 * The one error class of the control layer, with string codes (as undici's
 * UND_ERR_*): a client branches on `code`, people read `message`.
 */
import type { ControlErrorCode } from './protocol.js';

/**
 * Codes of failures on the client's side of the socket:
 * - `no-daemon`: nothing listens at the path (ENOENT, ECONNREFUSED);
 * - `permission-denied`: the socket or its directory is not ours to open (EACCES, EPERM);
 * - `timeout`: no reply in time;
 * - `connection-closed`: the daemon hung up before replying;
 * - `bad-reply`: the reply was not a protocol reply;
 * - `address-in-use`: (server) another process already listens on the path;
 * - `not-a-socket`: (server) the path exists and is something else.
 * Replies with ok:false carry the daemon's code (ControlErrorCode) instead.
 */
export type ControlClientErrorCode =
  | 'no-daemon'
  | 'permission-denied'
  | 'timeout'
  | 'connection-closed'
  | 'bad-reply'
  | 'address-in-use'
  | 'not-a-socket'
  | 'io';

export class ControlError extends Error {
  override readonly name = 'ControlError';
  constructor(
    readonly code: ControlErrorCode | ControlClientErrorCode,
    message: string,
    /** True when the daemon sent this error in a reply (its code is a ControlErrorCode). */
    readonly remote = false,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}
