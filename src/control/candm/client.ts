/**
 * A chronyc-style client of chrony's command protocol: what `ntpkit REPORT
 * -h HOST` uses to read a daemon's cmdport or its Unix command socket. It
 * retries as chronyc 4.3's submit_request does: a fresh random sequence per
 * attempt, the wait doubling from the initial timeout (1 s, 2 s, 4 s with the
 * default two retries), and replies that do not match the request (sequence,
 * command, type) ignored rather than trusted. Given several endpoints (-h
 * a,b), it talks to the first and moves on to the next one when a request
 * gets no answer, as chronyc's open_io does; after the last it gives up with
 * chronyc's 506 and starts from the first again.
 */
import { randomInt } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isIPv6 } from 'node:net';
import { type CandmReply, encodeRequest, parseReply, REPLY_BODY, STT } from '../../proto/candm/index.js';
import { openUnixDgram, type UnixDgramHandle } from '../../net/unix-dgram.js';
import { ControlError } from '../errors.js';

export interface CandmClientOptions {
  /** Wait for the first attempt, ms (chronyc's -t default: 1000); each retry waits twice the one before. */
  readonly initialTimeoutMs?: number;
  /** Retries after the first attempt (chronyc's default: 2). */
  readonly retries?: number;
}

/** Where a daemon's command protocol is served: a UDP address (not a name) and port, or a Unix socket path. */
export type CandmEndpoint =
  | { readonly kind: 'udp'; readonly host: string; readonly port: number }
  | { readonly kind: 'unix'; readonly path: string };

/** chronyc's words when no reply came: scripts match them. */
export const CANNOT_TALK = '506 Cannot talk to daemon';

/** chronyc's texts of the status codes a read-only report can meet (client.c's request_reply). */
export const STATUS_TEXT: Readonly<Record<number, string>> = {
  [STT.FAILED]: '500 Failure',
  [STT.UNAUTH]: '501 Not authorised',
  [STT.INVALID]: '502 Invalid command',
  [STT.NOSUCHSOURCE]: '503 No such source',
  [STT.NOTENABLED]: '505 Facility not enabled in daemon',
  [STT.NOHOSTACCESS]: '510 No command access from this host',
  [STT.NORTC]: '513 RTC driver not running',
  [STT.INACTIVE]: '519 Client logging is not active in the daemon',
  [STT.BADPKTVERSION]: '517 Protocol version mismatch',
  [STT.BADPKTLENGTH]: '518 Packet length mismatch',
};

/** A daemon's refusal of a request: its status code and chronyc's line for it. */
export class CandmStatusError extends ControlError {
  readonly status: number;
  constructor(status: number) {
    super('handler-failed', STATUS_TEXT[status] ?? `${status} Unknown error`, true);
    this.status = status;
  }
}

/** One open endpoint: send a datagram, hear datagrams, close. */
interface Link {
  send(packet: Uint8Array): void;
  onMessage(fn: ((data: Uint8Array) => void) | null): void;
  onError(fn: (() => void) | null): void;
  close(): void;
}

async function udpLink(host: string, port: number): Promise<Link> {
  const socket: Socket = createSocket(isIPv6(host) ? 'udp6' : 'udp4');
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.connect(port, host, () => { socket.off('error', reject); resolve(); });
  });
  let message: ((data: Uint8Array) => void) | null = null;
  let error: (() => void) | null = null;
  socket.on('message', (d: Buffer) => message?.(new Uint8Array(d.buffer, d.byteOffset, d.byteLength)));
  // ICMP port unreachable arrives as an error on a connected socket: chronyc's recv fails there and it tries again at once.
  socket.on('error', () => error?.());
  return {
    send: (p) => socket.send(p),
    onMessage: (fn) => { message = fn; },
    onError: (fn) => { error = fn; },
    close: () => socket.close(),
  };
}

let unixClients = 0;

/**
 * chronyc binds its own socket beside the daemon's (chronyc.PID.sock) to be
 * answered; ntpkit binds one in the temporary directory instead, so that a
 * user who may write to the daemon's socket but not its directory is served.
 */
function unixLink(path: string): Link {
  const own = join(tmpdir(), `ntpkit-chronyc.${process.pid}.${unixClients++}.sock`);
  let message: ((data: Uint8Array) => void) | null = null;
  let error: (() => void) | null = null;
  const handle: UnixDgramHandle = openUnixDgram(own, (d) => message?.(new Uint8Array(d.buffer, d.byteOffset, d.byteLength)));
  return {
    send: (p) => { if (handle.send(p, path) !== 0) setImmediate(() => error?.()); },
    onMessage: (fn) => { message = fn; },
    onError: (fn) => { error = fn; },
    close: () => {
      handle.close();
      try { unlinkSync(own); } catch { /* already gone */ }
    },
  };
}

/** One conversation with a daemon (or the first of several that answers); requests go one at a time, as chronyc sends them. */
export class CandmClient {
  private readonly endpoints: readonly CandmEndpoint[];
  private readonly initialTimeoutMs: number;
  private readonly retries: number;
  private index = 0;
  private link: Link | null = null;

  private constructor(endpoints: readonly CandmEndpoint[], opts: CandmClientOptions) {
    this.endpoints = endpoints;
    this.initialTimeoutMs = opts.initialTimeoutMs ?? 1000;
    this.retries = opts.retries ?? 2;
  }

  /** A client of host:port (an address; names are the caller's to resolve). */
  static async connect(host: string, port: number, opts: CandmClientOptions = {}): Promise<CandmClient> {
    return CandmClient.open([{ kind: 'udp', host, port }], opts);
  }

  /** A client of the first of `endpoints` that can be opened; rejects as chronyc ("Could not open connection") when none can. */
  static async open(endpoints: readonly CandmEndpoint[], opts: CandmClientOptions = {}): Promise<CandmClient> {
    const c = new CandmClient(endpoints, opts);
    if (!(await c.openNext())) throw new ControlError('no-daemon', 'Could not open connection to daemon');
    return c;
  }

  /** The endpoint in use. */
  get endpoint(): CandmEndpoint | undefined {
    return this.endpoints[this.index];
  }

  close(): void {
    this.link?.close();
    this.link = null;
  }

  /** chronyc's open_io: from the current index on, the first endpoint whose socket opens; false (and back to the first) when none. */
  private async openNext(): Promise<boolean> {
    for (; this.index < this.endpoints.length; this.index++) {
      const e = this.endpoints[this.index] as CandmEndpoint;
      try {
        this.link = e.kind === 'udp' ? await udpLink(e.host, e.port) : unixLink(e.path);
        return true;
      } catch {
        this.link = null;
      }
    }
    this.index = 0;
    return false;
  }

  /**
   * Sends `command` and resolves with the matching reply whose status is
   * success and whose body is `expectReply`'s. No reply from any endpoint
   * rejects with code 'timeout' and chronyc's "506 Cannot talk to daemon";
   * an error status with a CandmStatusError carrying chronyc's text.
   */
  async request(command: number, fields: Readonly<Record<string, unknown>>, expectReply: number): Promise<CandmReply> {
    for (;;) {
      const reply = this.link === null ? null : await this.submit(this.link, command, fields);
      if (reply !== null) {
        if (reply.status !== STT.SUCCESS) throw new CandmStatusError(reply.status);
        if (reply.reply !== expectReply || REPLY_BODY[reply.reply] === undefined) {
          // chronyc's words for a reply of the wrong kind.
          throw new ControlError('bad-reply', `508 Bad reply from daemon (reply code ${reply.reply} to request ${command}, expected ${expectReply})`);
        }
        return reply;
      }
      // As chronyc's request_reply: try the next address before giving up.
      this.close();
      this.index++;
      if (!(await this.openNext())) {
        await this.openNext();
        throw new ControlError('timeout', CANNOT_TALK);
      }
    }
  }

  private async submit(link: Link, command: number, fields: Readonly<Record<string, unknown>>): Promise<CandmReply | null> {
    for (let attempt = 0; attempt <= this.retries; attempt++) {
      const sequence = randomInt(0, 2 ** 32 - 1);
      const reply = await this.attempt(link, encodeRequest(command, fields, sequence, attempt), command, sequence, this.initialTimeoutMs * 2 ** attempt);
      if (reply !== null) return reply;
    }
    return null;
  }

  private attempt(link: Link, packet: Uint8Array, command: number, sequence: number, waitMs: number): Promise<CandmReply | null> {
    return new Promise((resolve) => {
      const done = (r: CandmReply | null): void => {
        clearTimeout(timer);
        link.onMessage(null);
        link.onError(null);
        resolve(r);
      };
      link.onMessage((data) => {
        const parsed = parseReply(data);
        // As chronyc: a stray or late datagram is skipped, a short one ends the attempt.
        if (!parsed.ok) { done(null); return; }
        const r = parsed.reply;
        if (r.sequence !== sequence || r.command !== command) return;
        done(r);
      });
      link.onError(() => done(null));
      const timer = setTimeout(() => done(null), waitMs);
      link.send(packet);
    });
  }
}
