/**
 * A chronyc-style client of chrony's command protocol over UDP: what
 * `ntpkit REPORT -h HOST` uses to read a daemon's cmdport. It retries as
 * chronyc 4.3's submit_request does: a fresh random sequence per attempt,
 * the wait doubling from the initial timeout (1 s, 2 s, 4 s with the default
 * two retries), and replies that do not match the request (sequence,
 * command, type) ignored rather than trusted.
 */
import { randomInt } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import { type CandmReply, encodeRequest, parseReply, REPLY_BODY, STT } from '../../proto/candm/index.js';
import { ControlError } from '../errors.js';

export interface CandmClientOptions {
  /** Wait for the first attempt, ms (chronyc's -t default: 1000); each retry waits twice the one before. */
  readonly initialTimeoutMs?: number;
  /** Retries after the first attempt (chronyc's default: 2). */
  readonly retries?: number;
}

/** chronyc's words when no reply came: scripts match them. */
export const CANNOT_TALK = '506 Cannot talk to daemon';

/** chronyc's texts of the status codes a read-only report can meet (client.c's process_cmd replies). */
const STATUS_TEXT: Readonly<Record<number, string>> = {
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

/** One conversation with a daemon's command port; requests go one at a time, as chronyc sends them. */
export class CandmClient {
  private readonly socket: Socket;
  private readonly initialTimeoutMs: number;
  private readonly retries: number;

  private constructor(socket: Socket, opts: CandmClientOptions) {
    this.socket = socket;
    this.initialTimeoutMs = opts.initialTimeoutMs ?? 1000;
    this.retries = opts.retries ?? 2;
  }

  /** A client connected to host:port (an address; names are the caller's to resolve). */
  static async connect(host: string, port: number, opts: CandmClientOptions = {}): Promise<CandmClient> {
    const socket = createSocket(isIPv6(host) ? 'udp6' : 'udp4');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.connect(port, host, () => { socket.off('error', reject); resolve(); });
    });
    return new CandmClient(socket, opts);
  }

  close(): void {
    this.socket.close();
  }

  /**
   * Sends `command` and resolves with the matching reply whose status is
   * success and whose body is `expectReply`'s. A missing reply rejects with
   * code 'timeout' and chronyc's "506 Cannot talk to daemon"; an error status
   * with chronyc's text for it.
   */
  async request(command: number, fields: Readonly<Record<string, unknown>>, expectReply: number): Promise<CandmReply> {
    for (let attempt = 0; attempt <= this.retries; attempt++) {
      const sequence = randomInt(0, 2 ** 32 - 1);
      const reply = await this.attempt(encodeRequest(command, fields, sequence, attempt), command, sequence, this.initialTimeoutMs * 2 ** attempt);
      if (reply === null) continue;
      if (reply.status !== STT.SUCCESS) {
        throw new ControlError('handler-failed', STATUS_TEXT[reply.status] ?? `${reply.status} Unknown error`, true);
      }
      if (reply.reply !== expectReply || REPLY_BODY[reply.reply] === undefined) {
        // chronyc's words for a reply of the wrong kind.
        throw new ControlError('bad-reply', `508 Bad reply from daemon (reply code ${reply.reply} to request ${command}, expected ${expectReply})`);
      }
      return reply;
    }
    throw new ControlError('timeout', CANNOT_TALK);
  }

  private attempt(packet: Uint8Array, command: number, sequence: number, waitMs: number): Promise<CandmReply | null> {
    return new Promise((resolve) => {
      const done = (r: CandmReply | null): void => {
        clearTimeout(timer);
        this.socket.off('message', onMessage);
        this.socket.off('error', onError);
        resolve(r);
      };
      const onMessage = (data: Buffer): void => {
        const parsed = parseReply(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
        // As chronyc: a stray or late datagram is skipped, a short one ends the attempt.
        if (!parsed.ok) { done(null); return; }
        const r = parsed.reply;
        if (r.sequence !== sequence || r.command !== command) return;
        done(r);
      };
      // ICMP port unreachable arrives as an error on a connected socket: chronyc's recv fails there and it tries again at once.
      const onError = (): void => done(null);
      const timer = setTimeout(() => done(null), waitMs);
      this.socket.on('message', onMessage);
      this.socket.on('error', onError);
      this.socket.send(packet);
    });
  }
}
