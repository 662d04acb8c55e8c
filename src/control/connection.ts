/**
 * One control connection: request lines in, replies out, in order, with the
 * bytes it holds bounded whatever the client does.
 *
 * - Requests are taken one at a time from the bytes received, which are kept
 *   raw (a chunk of tiny lines costs its bytes, not an object per line), and
 *   reading stops while there is a request waiting: at most one chunk
 *   beyond the request being answered is held.
 * - A reply is written only while less than `highWaterBytes` waits to be
 *   written; past that the connection waits for the client to read
 *   ('drain'), reading nothing meanwhile. A client that sends requests and
 *   never reads thus holds at most highWaterBytes plus one reply, and the
 *   kernel's socket buffers; the idle timeout then closes it.
 * - A reply over `maxReplyBytes` is replaced by an `internal` error reply,
 *   so no single reply goes past the bound either.
 * - When the connection closes, whatever it held is dropped, and requests
 *   not yet answered are not answered.
 */
import type { Socket } from 'node:net';
import { type ControlReply, encodeReply, errorReply } from './protocol.js';

export interface ConnectionLimits {
  /** Longest request line, newline included. */
  readonly maxRequestBytes: number;
  /** Stop answering while more than this waits to be written. */
  readonly highWaterBytes: number;
  /** Largest reply line sent; a larger one becomes an `internal` error reply. */
  readonly maxReplyBytes: number;
  /** Closed after this long with nothing received or sent (0: never). */
  readonly idleTimeoutMs: number;
}

export interface ConnectionHooks {
  /** The reply to one request line (without its newline). */
  answer(line: string): Promise<ControlReply>;
  /** A request is being answered: the connection keeps its slot (ConnectionSlots.busy). */
  busy(): void;
  /** Waiting for the client again (ConnectionSlots.idle). */
  idle(): void;
  /** A reply was handed to the socket: the server checks its total. */
  wrote(): void;
  /** The connection waits for its client to read (true) or goes on (false). */
  stalled(waiting: boolean): void;
  log(level: 'debug' | 'warn', message: string): void;
}

function encode(reply: ControlReply, maxBytes: number): string {
  let line: string;
  try {
    line = encodeReply(reply);
  } catch (e) {
    return encodeReply(errorReply(reply.id, 'internal', `Cannot send the result: ${(e as Error).message}`));
  }
  if (Buffer.byteLength(line) > maxBytes) {
    return encodeReply(errorReply(reply.id, 'internal', `Cannot send the result: ${Buffer.byteLength(line)} bytes, over this daemon's limit of ${maxBytes} per reply`));
  }
  return line;
}

/** Resolves once `sock` has written out what it buffered, or is closed. */
function drained(sock: Socket): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      sock.off('drain', done);
      sock.off('close', done);
      resolve();
    };
    sock.on('drain', done);
    sock.on('close', done);
  });
}

export function serveConnection(sock: Socket, limits: ConnectionLimits, hooks: ConnectionHooks): void {
  /** Received bytes not yet taken as requests: `inbox` from `offset` on. */
  let inbox: Buffer = Buffer.alloc(0);
  let offset = 0;
  let working = false;
  let ended = false;
  let dead = false;

  if (limits.idleTimeoutMs > 0) sock.setTimeout(limits.idleTimeoutMs, () => sock.destroy());
  sock.on('close', () => {
    inbox = Buffer.alloc(0);
    offset = 0;
  });

  /** The next complete line, null if none yet, or 'too-large' when the next line cannot fit. */
  const takeLine = (): string | null | 'too-large' => {
    const nl = inbox.indexOf(0x0a, offset);
    const end = nl < 0 ? inbox.length : nl;
    if (end - offset + (nl < 0 ? 0 : 1) > limits.maxRequestBytes) return 'too-large';
    if (nl < 0) {
      if (!ended || offset === inbox.length) return null;
      // The client half-closed after a last line without its newline: that is a request too.
      const last = inbox.toString('utf8', offset);
      offset = inbox.length;
      return last;
    }
    const line = inbox.toString('utf8', offset, nl);
    offset = nl + 1;
    return line;
  };

  const work = async (): Promise<void> => {
    working = true;
    sock.pause();
    for (;;) {
      if (sock.destroyed) return;
      if (sock.writableLength >= limits.highWaterBytes) {
        hooks.stalled(true);
        await drained(sock);
        hooks.stalled(false);
        continue;
      }
      const line = takeLine();
      if (line === null) break;
      if (line === 'too-large') {
        dead = true;
        hooks.log('warn', `control request over ${limits.maxRequestBytes} bytes; closing that connection`);
        sock.end(encodeReply(errorReply(null, 'request-too-large', `A request line may hold at most ${limits.maxRequestBytes} bytes`)));
        return;
      }
      if (line.trim() === '') continue;
      hooks.busy();
      // A slow handler is not an idle client.
      if (limits.idleTimeoutMs > 0) sock.setTimeout(0);
      let reply: string;
      try {
        reply = encode(await hooks.answer(line), limits.maxReplyBytes);
      } finally {
        if (limits.idleTimeoutMs > 0 && !sock.destroyed) sock.setTimeout(limits.idleTimeoutMs);
        hooks.idle();
      }
      if (sock.destroyed || !sock.writable) return;
      sock.write(reply);
      hooks.wrote();
    }
    // Everything received is answered: drop it, and read on (or finish a half-closed connection).
    inbox = inbox.subarray(offset);
    offset = 0;
    working = false;
    if (ended) sock.end();
    else sock.resume();
  };

  const run = (): void => {
    if (working || dead) return;
    work().catch((e: unknown) => {
      hooks.log('warn', `control connection failed: ${(e as Error).message}`);
      sock.destroy();
    });
  };

  sock.on('data', (chunk: Buffer) => {
    if (dead) return;
    inbox = offset === inbox.length ? chunk : Buffer.concat([inbox.subarray(offset), chunk]);
    offset = 0;
    run();
  });
  // The client may half-close after its last request: answer what came, then end.
  sock.on('end', () => {
    ended = true;
    run();
  });
}
