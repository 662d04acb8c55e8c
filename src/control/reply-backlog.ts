/**
 * The control connections open now, and the bound on the replies they hold
 * unread in all: past it, the connection that has waited longest for its
 * client to read goes first. A client reading its replies, even large ones,
 * waits only moments, while one that never reads waits from its first reply on.
 */
import type { Socket } from 'node:net';
import type { ControlLogLevel } from './command-table.js';

export class ReplyBacklog {
  private readonly sockets = new Set<Socket>();
  /** Since when each connection waiting for its client to read has waited. */
  private readonly stalledSince = new Map<Socket, number>();

  constructor(private readonly maxBuffered: number, private readonly log: (level: ControlLogLevel, message: string) => void) {}

  get size(): number {
    return this.sockets.size;
  }

  add(sock: Socket): void {
    this.sockets.add(sock);
    sock.on('close', () => { this.sockets.delete(sock); this.stalledSince.delete(sock); });
  }

  /** The connection started (true) or stopped (false) waiting for its client to read. */
  stalled(sock: Socket, waiting: boolean): void {
    if (waiting) this.stalledSince.set(sock, Date.now());
    else this.stalledSince.delete(sock);
  }

  /** After a write: closes the most stalled connections until the total is within the bound. */
  check(): void {
    let total = 0;
    for (const s of this.sockets) total += s.writableLength;
    while (total > this.maxBuffered) {
      let worst: Socket | undefined;
      let since = Infinity;
      for (const [s, t] of this.stalledSince) if (t < since) { worst = s; since = t; }
      if (worst === undefined) return;
      this.log('warn', `control replies waiting to be read exceed ${this.maxBuffered} bytes in all; closing the connection holding ${worst.writableLength} of them unread for ${Date.now() - since} ms`);
      total -= worst.writableLength;
      this.stalledSince.delete(worst);
      worst.destroy();
    }
  }

  destroyAll(): void {
    for (const s of this.sockets) s.destroy();
  }
}
