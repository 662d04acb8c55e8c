/**
 * The client side of the control socket: one request, one reply. Failures
 * are ControlErrors whose messages say what to do ("is ntpkit daemon
 * running? see --socket").
 */
import { createConnection } from 'node:net';
import { ControlError } from './errors.js';
import { type ControlReply, PROTOCOL_VERSION, type RequestId } from './protocol.js';

export interface ControlRequestOptions {
  /** Connect and reply within this long (default 5000 ms). */
  readonly timeoutMs?: number;
  /** Largest reply accepted (default 64 MiB): a snapshot of many sources is still far below. */
  readonly maxReplyBytes?: number;
}

let nextId = 1;

function connectError(path: string, e: NodeJS.ErrnoException): ControlError {
  switch (e.code) {
    case 'ENOENT':
      return new ControlError('no-daemon', `no daemon listening at ${path} (is ntpkit daemon running? see --socket)`, false, { cause: e });
    case 'ECONNREFUSED':
      return new ControlError('no-daemon', `no daemon listening at ${path} (the socket file is stale; is ntpkit daemon running? see --socket)`, false, { cause: e });
    case 'EACCES':
    case 'EPERM':
      return new ControlError('permission-denied', `permission denied opening ${path} (the control socket is for its owner and group: run as root or as a member of the daemon's group)`, false, { cause: e });
    case 'ENOTSOCK':
      return new ControlError('no-daemon', `${path} is not a socket (see --socket)`, false, { cause: e });
    default:
      return new ControlError('io', `cannot talk to the daemon at ${path}: ${e.message}`, false, { cause: e });
  }
}

function isReply(v: unknown): v is ControlReply {
  if (typeof v !== 'object' || v === null) return false;
  const r = v as Record<string, unknown>;
  if (r.version !== PROTOCOL_VERSION || typeof r.ok !== 'boolean') return false;
  if (r.ok) return 'result' in r;
  const err = r.error as Record<string, unknown> | undefined;
  return typeof err === 'object' && err !== null && typeof err.code === 'string' && typeof err.message === 'string';
}

/**
 * Sends `command` with `args` to the daemon listening at `path` and returns
 * the reply's result.
 * @throws ControlError: the client's codes (no-daemon, permission-denied,
 *   timeout, connection-closed, bad-reply, io), or the daemon's code with
 *   `remote` true when it answered ok:false.
 */
export function controlRequest(path: string, command: string, args: Readonly<Record<string, unknown>> = {}, opts: ControlRequestOptions = {}): Promise<unknown> {
  const timeoutMs = opts.timeoutMs ?? 5000;
  const maxBytes = opts.maxReplyBytes ?? 64 * 1024 * 1024;
  const id: RequestId = nextId++;
  return new Promise((resolve, reject) => {
    const sock = createConnection(path);
    const chunks: Buffer[] = [];
    let bytes = 0;
    let connected = false;
    let settled = false;
    const finish = (err: ControlError | null, value?: unknown): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.destroy();
      if (err) reject(err);
      else resolve(value);
    };
    const timer = setTimeout(() => {
      finish(new ControlError('timeout', connected
        ? `no reply from the daemon at ${path} within ${timeoutMs} ms`
        : `cannot connect to ${path} within ${timeoutMs} ms (is the daemon stuck?)`));
    }, timeoutMs);
    sock.once('connect', () => {
      connected = true;
      sock.write(`${JSON.stringify({ version: PROTOCOL_VERSION, id, command, args })}\n`);
    });
    sock.on('error', (e: NodeJS.ErrnoException) => finish(connected ? new ControlError('io', `connection to ${path} failed: ${e.message}`, false, { cause: e }) : connectError(path, e)));
    sock.on('close', () => finish(new ControlError('connection-closed', `the daemon at ${path} closed the connection without replying`)));
    sock.on('data', (chunk: Buffer) => {
      const nl = chunk.indexOf(0x0a);
      bytes += nl >= 0 ? nl : chunk.length;
      if (bytes > maxBytes) return finish(new ControlError('bad-reply', `the reply from ${path} exceeds ${maxBytes} bytes`));
      chunks.push(nl >= 0 ? chunk.subarray(0, nl) : chunk);
      if (nl < 0) return;
      let reply: unknown;
      try {
        reply = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        return finish(new ControlError('bad-reply', `the reply from ${path} is not JSON (is that an ntpkit control socket?)`));
      }
      if (!isReply(reply)) return finish(new ControlError('bad-reply', `the reply from ${path} is not a protocol ${PROTOCOL_VERSION} reply`));
      if (reply.id !== id) return finish(new ControlError('bad-reply', `the reply from ${path} answers request ${JSON.stringify(reply.id)}, not ${id}`));
      if (reply.ok) return finish(null, reply.result);
      finish(new ControlError(reply.error.code, reply.error.message, true));
    });
  });
}
