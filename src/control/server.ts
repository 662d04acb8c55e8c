/**
 * The daemon's side of the control socket (protocol: ./protocol.ts,
 * docs/control.md). Generic: it serves whatever handlers it is given, so
 * later commands (reload, makestep, burst, metrics...) only add entries.
 *
 * What it guarantees:
 * - it never replaces a live socket: if a process answers on the path, start
 *   fails with `address-in-use`; a stale socket file (nobody listening, left
 *   by a crash) is removed; a path holding anything but a socket is left alone;
 * - the socket gets `mode` (default 0660, as issue 4 asks); its directory is
 *   created 0750 when missing, so the socket is never reachable through it by
 *   others during the moment between bind and chmod;
 * - a bad request (not JSON, wrong shape, unknown command, oversized, a
 *   handler that throws) gets an error reply and the server keeps serving;
 *   an oversized line also ends that connection, as its end cannot be found;
 * - a read-only server (`readOnly`) answers only the commands declared
 *   `access: 'open'`; the others get `not-permitted`, naming the main socket;
 * - requests on one connection are answered in order; connections are served
 *   concurrently, up to `maxConnections`; when all are taken, a new one
 *   closes the connection idle the longest (net/connection-slots.ts), so
 *   holding them all locks nobody out; an idle connection is closed after
 *   `idleTimeoutMs`;
 * - the bytes a connection holds are bounded (./connection.ts: it stops
 *   reading while its replies are not being read), and so is their total:
 *   past `maxBufferedBytes` over all connections, the one that has waited
 *   longest for its client to read is closed;
 * - close() ends every connection and removes the socket file, unless another
 *   process has since put its own socket there.
 */
import { chmod, lstat, mkdir, unlink } from 'node:fs/promises';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import { ConnectionSlots } from '../net/connection-slots.js';
import { serveConnection } from './connection.js';
import { ControlError } from './errors.js';
import {
  COMMAND_NAME, type ControlReply, errorReply, HANDLER_ERROR_CODES, MAX_REQUEST_BYTES, parseRequest, PROTOCOL_VERSION,
} from './protocol.js';

/** What a handler is called with besides its arguments. */
export interface HandlerContext {
  readonly command: string;
}

/**
 * A command. Its return value (or what its promise resolves to) is the
 * reply's `result` and must be JSON-serializable. Throw
 * `new ControlError('bad-args', ...)` to refuse the arguments; anything else
 * thrown becomes a `handler-failed` reply.
 */
export type ControlHandler = (args: Readonly<Record<string, unknown>>, ctx: HandlerContext) => unknown;

/**
 * A command with what it may be used by. `open`: monitoring that changes
 * nothing and reveals no client addresses, served on the read-only socket
 * too (chronyd's commands allowed from the network: tracking, sources,
 * activity...); `local`: only on the main socket (every changing command,
 * and clients, serverstats, ntpdata, as chronyd allows them only locally).
 * A bare handler is `local`.
 */
export interface ControlCommandSpec {
  readonly run: ControlHandler;
  readonly access: 'open' | 'local';
  /** Whether the command changes the daemon's state (documentation, `commands`' reply). */
  readonly changes: boolean;
}

export type ControlLogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface ControlServerOptions {
  /** Socket path (chrony's `bindcmdaddress`; default of the daemon: DEFAULT_SOCKET_PATH). */
  readonly path: string;
  /** Permission bits of the socket (default 0o660: owner and group may connect). */
  readonly mode?: number;
  /** Command name -> handler. Names must match COMMAND_NAME. */
  readonly handlers: Readonly<Record<string, ControlHandler | ControlCommandSpec>>;
  /**
   * Serve only `open` commands; the others are refused with `not-permitted`,
   * whose message names `mainPath`, the socket that serves them.
   */
  readonly readOnly?: boolean;
  readonly mainPath?: string;
  readonly log?: (level: ControlLogLevel, message: string) => void;
  /** Longest request line, newline included (default MAX_REQUEST_BYTES). */
  readonly maxRequestBytes?: number;
  /** Concurrent connections (default CONTROL_LIMITS.maxConnections). */
  readonly maxConnections?: number;
  /** A connection with no traffic for this long is closed (default CONTROL_LIMITS.idleTimeoutMs). */
  readonly idleTimeoutMs?: number;
  /** Replies waiting to be written, over all connections, before the most stalled is closed (default CONTROL_LIMITS.maxBufferedBytes). */
  readonly maxBufferedBytes?: number;
}

/**
 * The defaults. A connection holds at most about maxRequestBytes of
 * requests plus one 64 KiB chunk read ahead, and replyHighWaterBytes plus
 * one reply of unwritten output; the output of all of them together stays
 * under maxBufferedBytes.
 */
export const CONTROL_LIMITS = Object.freeze({
  maxConnections: 64,
  /** ntpkit's own clients send one request and hang up; one that keeps its connection between polls reconnects. */
  idleTimeoutMs: 30_000,
  /** Stop answering a connection while this much output waits for its client. */
  replyHighWaterBytes: 64 * 1024,
  /** Largest reply: a snapshot of hundreds of sources is far below. */
  maxReplyBytes: 4 * 1024 * 1024,
  maxBufferedBytes: 16 * 1024 * 1024,
});

export interface ControlServer {
  readonly path: string;
  /** Commands served, sorted. */
  readonly commands: readonly string[];
  /** Open connections now. */
  connections(): number;
  /** Stops listening, ends every connection, removes the socket file. Idempotent. */
  close(): Promise<void>;
}

/** True when some process accepts connections on the Unix socket at `path`. */
async function someoneListens(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection(path);
    const done = (v: boolean): void => {
      s.destroy();
      resolve(v);
    };
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
    s.setTimeout(1000, () => done(true)); // a listener too busy to accept still owns the path
  });
}

async function prepareSocketPath(path: string, log: (l: ControlLogLevel, m: string) => void): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o750 });
  let st;
  try {
    st = await lstat(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw e;
  }
  if (!st.isSocket()) {
    throw new ControlError('not-a-socket', `Cannot listen on ${path}: it exists and is not a socket; refusing to remove it`);
  }
  if (await someoneListens(path)) {
    throw new ControlError('address-in-use', `Cannot listen on ${path}: another process is already listening there (is another ntpkit daemon running?)`);
  }
  log('info', `removing stale control socket ${path}`);
  await unlink(path);
}

export async function startControlServer(opts: ControlServerOptions): Promise<ControlServer> {
  const log = opts.log ?? (() => undefined);
  const maxBytes = opts.maxRequestBytes ?? MAX_REQUEST_BYTES;
  const idleMs = opts.idleTimeoutMs ?? CONTROL_LIMITS.idleTimeoutMs;
  const maxBuffered = opts.maxBufferedBytes ?? CONTROL_LIMITS.maxBufferedBytes;
  const handlers = new Map<string, ControlCommandSpec>();
  for (const [name, h] of Object.entries(opts.handlers)) {
    if (!COMMAND_NAME.test(name)) throw new RangeError(`Cannot register control command ${JSON.stringify(name)}: names are lower-case letters, digits and '-'`);
    handlers.set(name, typeof h === 'function' ? { run: h, access: 'local', changes: true } : h);
  }
  // `commands` lists what this daemon serves, so clients can tell what it supports; a handler of that name wins.
  if (!handlers.has('commands')) {
    handlers.set('commands', {
      access: 'open', changes: false,
      run: () => ({
        protocol: PROTOCOL_VERSION,
        commands: [...handlers.keys()].sort(),
        readOnly: opts.readOnly === true,
        access: Object.fromEntries([...handlers].sort(([a], [b]) => (a < b ? -1 : 1)).map(([n, c]) => [n, { access: c.access, changes: c.changes }])),
      }),
    });
  }
  const commands = Object.freeze([...handlers.keys()].sort());

  await prepareSocketPath(opts.path, log);

  const sockets = new Set<Socket>();
  const server: Server = createServer({ allowHalfOpen: true });
  const slots = new ConnectionSlots({ max: opts.maxConnections ?? CONTROL_LIMITS.maxConnections });

  async function answer(line: string): Promise<ControlReply> {
    const parsed = parseRequest(line);
    if (!parsed.ok) {
      log('debug', `bad control request: ${parsed.error.message}`);
      return errorReply(parsed.id, parsed.error.code, parsed.error.message);
    }
    const { id, command, args } = parsed.request;
    const spec = handlers.get(command);
    if (!spec) return errorReply(id, 'unknown-command', `Unknown command "${command}"; this daemon serves: ${commands.join(', ')}`);
    if (opts.readOnly && spec.access !== 'open') {
      const main = opts.mainPath ?? 'the main control socket';
      return errorReply(id, 'not-permitted', `Command "${command}" is not served on the read-only socket ${opts.path}: it needs write permission on ${main} (run as root or as a member of its group)`);
    }
    try {
      const result = await spec.run(args, { command });
      return { version: PROTOCOL_VERSION, id, ok: true, result: result === undefined ? null : result };
    } catch (e) {
      if (e instanceof ControlError && !e.remote && HANDLER_ERROR_CODES.has(e.code as never)) return errorReply(id, e.code as 'bad-args', e.message);
      log('error', `control command ${command} failed: ${(e as Error)?.stack ?? String(e)}`);
      return errorReply(id, 'handler-failed', `Command "${command}" failed: ${(e as Error)?.message ?? String(e)}`);
    }
  }

  /** Since when each connection waiting for its client to read has waited. */
  const stalledSince = new Map<Socket, number>();

  /**
   * Past the total, the connection that has waited longest for its client to
   * read goes first: a client reading its replies, even large ones, waits
   * only moments, while one that never reads waits from its first reply on.
   */
  function checkTotal(): void {
    let total = 0;
    for (const s of sockets) total += s.writableLength;
    while (total > maxBuffered) {
      let worst: Socket | undefined;
      let since = Infinity;
      for (const [s, t] of stalledSince) if (t < since) { worst = s; since = t; }
      if (worst === undefined) return;
      log('warn', `control replies waiting to be read exceed ${maxBuffered} bytes in all; closing the connection holding ${worst.writableLength} of them unread for ${Date.now() - since} ms`);
      total -= worst.writableLength;
      stalledSince.delete(worst);
      worst.destroy();
    }
  }

  server.on('connection', (sock: Socket) => {
    if (!slots.admit(sock, '')) return;
    sockets.add(sock);
    sock.on('close', () => { sockets.delete(sock); stalledSince.delete(sock); });
    sock.on('error', (e) => log('debug', `control connection error: ${e.message}`));
    serveConnection(sock, {
      maxRequestBytes: maxBytes, idleTimeoutMs: idleMs,
      highWaterBytes: CONTROL_LIMITS.replyHighWaterBytes, maxReplyBytes: CONTROL_LIMITS.maxReplyBytes,
    }, {
      answer, log, wrote: checkTotal,
      stalled: (waiting) => { if (waiting) stalledSince.set(sock, Date.now()); else stalledSince.delete(sock); },
      busy: () => slots.busy(sock),
      idle: () => slots.idle(sock),
    });
  });

  await new Promise<void>((resolve, reject) => {
    const onError = (e: Error): void => reject(e);
    server.once('error', onError);
    server.listen(opts.path, () => {
      server.off('error', onError);
      resolve();
    });
  }).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'EADDRINUSE') throw new ControlError('address-in-use', `Cannot listen on ${opts.path}: another process took the path first`, false, { cause: e });
    throw e;
  });
  server.on('error', (e) => log('error', `control socket ${opts.path}: ${e.message}`));
  const mode = opts.mode ?? 0o660;
  let ino: number;
  try {
    await chmod(opts.path, mode);
    ino = (await lstat(opts.path)).ino;
  } catch (e) {
    server.close();
    throw e;
  }
  log('info', `control socket listening on ${opts.path} (mode ${mode.toString(8).padStart(4, '0')})`);

  let closing: Promise<void> | undefined;
  return {
    path: opts.path,
    commands,
    connections: () => sockets.size,
    close(): Promise<void> {
      closing ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        for (const s of sockets) s.destroy();
        await closed;
        try {
          // Only our own socket: a newer daemon may already have replaced it.
          if ((await lstat(opts.path)).ino === ino) await unlink(opts.path);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
        }
      })();
      return closing;
    },
  };
}
