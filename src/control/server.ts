/**
 * The daemon's side of the control socket (protocol: ./protocol.ts,
 * docs/control.md). Generic: it serves whatever handlers it is given, so
 * later commands (reload, makestep, burst, metrics...) only add entries.
 *
 * What it guarantees:
 * - it never replaces a live socket: if a process answers on the path, start
 *   fails with `address-in-use`; a stale socket file (nobody listening, left
 *   by a crash) is removed; a path holding anything but a socket is left alone;
 * - the socket gets `mode` (default 0660: the daemon's owner and its group,
 *   so operators are let in by group membership, as chronyd's socket); its directory is
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
import { createServer, type Server, type Socket } from 'node:net';
import { ConnectionSlots } from '../net/connection-slots.js';
import type { CommandCounts } from '../core/server/server-stats.js';
import { type ControlCommandSpec, type ControlHandler, type ControlLogLevel, CommandTable } from './command-table.js';
import { serveConnection } from './connection.js';
import { MAX_REQUEST_BYTES } from './protocol.js';
import { ReplyBacklog } from './reply-backlog.js';
import { listenOnPath, prepareSocketPath, removeOwnSocket } from './socket-path.js';

export type { ControlCommandSpec, ControlHandler, ControlLogLevel, HandlerContext } from './command-table.js';

export interface ControlServerOptions {
  /** Socket path (`controlsocket`; default of the daemon: DEFAULT_SOCKET_PATH). */
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
  /** Where requests received are counted (serverstats' command packets); several sockets may share one. */
  readonly counts?: CommandCounts;
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

export async function startControlServer(opts: ControlServerOptions): Promise<ControlServer> {
  const log = opts.log ?? (() => undefined);
  const table = new CommandTable(opts.handlers, { path: opts.path, readOnly: opts.readOnly, mainPath: opts.mainPath, log, counts: opts.counts });

  await prepareSocketPath(opts.path, log);

  const limits = {
    maxRequestBytes: opts.maxRequestBytes ?? MAX_REQUEST_BYTES, idleTimeoutMs: opts.idleTimeoutMs ?? CONTROL_LIMITS.idleTimeoutMs,
    highWaterBytes: CONTROL_LIMITS.replyHighWaterBytes, maxReplyBytes: CONTROL_LIMITS.maxReplyBytes,
  };
  const backlog = new ReplyBacklog(opts.maxBufferedBytes ?? CONTROL_LIMITS.maxBufferedBytes, log);
  const server: Server = createServer({ allowHalfOpen: true });
  const slots = new ConnectionSlots({ max: opts.maxConnections ?? CONTROL_LIMITS.maxConnections });
  server.on('connection', (sock: Socket) => {
    if (!slots.admit(sock, '')) return;
    backlog.add(sock);
    sock.on('error', (e) => log('debug', `control connection error: ${e.message}`));
    serveConnection(sock, limits, {
      answer: (line) => table.answer(line), log, wrote: () => backlog.check(),
      stalled: (waiting) => backlog.stalled(sock, waiting),
      busy: () => slots.busy(sock),
      idle: () => slots.idle(sock),
    });
  });

  const mode = opts.mode ?? 0o660;
  const ino = await listenOnPath(server, opts.path, mode, (e) => log('error', `control socket ${opts.path}: ${e.message}`));
  log('info', `control socket listening on ${opts.path} (mode ${mode.toString(8).padStart(4, '0')})`);

  let closing: Promise<void> | undefined;
  return {
    path: opts.path,
    commands: table.names,
    connections: () => backlog.size,
    close(): Promise<void> {
      closing ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        backlog.destroyAll();
        await closed;
        await removeOwnSocket(opts.path, ino);
      })();
      return closing;
    },
  };
}
