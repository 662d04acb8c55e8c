/**
 * A userspace UDP relay between an NTP client and server on loopback. It
 * records every datagram in both directions (for golden captures and for
 * asserting what went over the wire) and can delay, drop or rewrite them:
 * this kernel has no netem, so delay, jitter and loss in interop tests come
 * from here.
 *
 *     client --> relay.address:relay.port --> [upstream socket] --> target
 *     client <-- relay.address:relay.port <-- [upstream socket] <-- target
 *
 * Each client address:port gets its own upstream socket, bound to the relay's
 * listen address, so the server sees one peer per client and replies find
 * their way back. Upstream sockets idle for `upstreamIdleMs` are closed
 * (chronyd as a client uses a fresh source port per request).
 */
import dgram from 'node:dgram';

export type RelayDirection = 'to-server' | 'to-client';

export interface Endpoint {
  readonly address: string;
  readonly port: number;
}

/** One datagram as the relay received it, and what it did with it. */
export interface RelayRecord {
  /** Arrival order across both directions, from 0. */
  readonly seq: number;
  readonly direction: RelayDirection;
  /** The bytes exactly as received. */
  readonly bytes: Uint8Array;
  /** process.hrtime.bigint() at arrival: for intervals. */
  readonly receivedAtNs: bigint;
  /** Wall-clock arrival (ms resolution): for humans. */
  readonly receivedAt: Date;
  /** The client side of the conversation this datagram belongs to. */
  readonly client: Endpoint;
  /** What was (or will be) sent on: `bytes`, a mutated copy, or null when dropped. */
  readonly forwarded: Uint8Array | null;
  /** Added delay in ms (0 when forwarded at once). */
  readonly delayMs: number;
}

/** What a hook sees: the record minus the relay's decisions. */
export type RelayDatagram = Omit<RelayRecord, 'forwarded' | 'delayMs'>;

export interface RelayHooks {
  /** Return true to drop the datagram (loss). */
  readonly drop?: (d: RelayDatagram) => boolean;
  /** Milliseconds to hold the datagram before forwarding (delay, jitter, reordering). */
  readonly delayMs?: (d: RelayDatagram) => number;
  /** Bytes to forward instead (truncation, corruption); undefined keeps the original. */
  readonly mutate?: (d: RelayDatagram) => Uint8Array | undefined;
}

export interface UdpRelayOptions extends RelayHooks {
  /** Where clients send to. Default 127.0.0.1, port 0 (ephemeral; read relay.port). */
  readonly listen?: { readonly address?: string; readonly port?: number };
  /** The server. */
  readonly target: Endpoint;
  /** Close a client's upstream socket after this long without traffic (default 30 s). */
  readonly upstreamIdleMs?: number;
  /** Keep at most this many records, oldest dropped first (default 100 000). */
  readonly maxRecords?: number;
  /**
   * Forward each delayed datagram within microseconds of its due time, counted
   * from its arrival (default false: setTimeout, which fires on whole
   * milliseconds and often a millisecond late, so a path of "1 ms + 10 us of
   * jitter" would really carry a millisecond of jitter). The last 2 ms are
   * waited out with setImmediate, which costs CPU only for those 2 ms.
   */
  readonly precise?: boolean;
}

export interface UdpRelay {
  readonly address: string;
  readonly port: number;
  readonly target: Endpoint;
  /** Everything recorded so far, in arrival order. */
  records(): readonly RelayRecord[];
  /** Resolves with the first record (already recorded or future) matching `pred`. */
  waitFor(pred: (r: RelayRecord) => boolean, timeoutMs?: number): Promise<RelayRecord>;
  /** Forgets the records (sessions stay). */
  clear(): void;
  /** Closes every socket and cancels delayed datagrams. Idempotent. */
  stop(): Promise<void>;
}

interface Session {
  readonly client: Endpoint;
  readonly socket: dgram.Socket;
  idle: NodeJS.Timeout;
}

function family(address: string): 'udp4' | 'udp6' {
  return address.includes(':') ? 'udp6' : 'udp4';
}

/** A delayed datagram may outlive its socket (idle close); losing it then is fine. */
function safeSend(sock: dgram.Socket, b: Uint8Array, to: Endpoint): void {
  try {
    sock.send(b, to.port, to.address);
  } catch {
    // socket already closed
  }
}

/** Starts the relay; resolves once it is listening. */
export async function startUdpRelay(opts: UdpRelayOptions): Promise<UdpRelay> {
  const listenAddress = opts.listen?.address ?? '127.0.0.1';
  const idleMs = opts.upstreamIdleMs ?? 30_000;
  const maxRecords = opts.maxRecords ?? 100_000;
  const target = opts.target;
  const front = dgram.createSocket(family(listenAddress));
  const sessions = new Map<string, Session>();
  const timers = new Set<NodeJS.Timeout>();
  let records: RelayRecord[] = [];
  let seq = 0;
  let stopped = false;
  const waiters = new Set<{ pred: (r: RelayRecord) => boolean; resolve: (r: RelayRecord) => void }>();

  const handle = (direction: RelayDirection, msg: Buffer, client: Endpoint, send: (b: Uint8Array) => void): void => {
    const d: RelayDatagram = {
      seq: seq++,
      direction,
      bytes: new Uint8Array(msg),
      receivedAtNs: process.hrtime.bigint(),
      receivedAt: new Date(),
      client,
    };
    const dropped = opts.drop?.(d) ?? false;
    const forwarded = dropped ? null : (opts.mutate?.(d) ?? d.bytes);
    const delayMs = dropped ? 0 : Math.max(0, opts.delayMs?.(d) ?? 0);
    const rec: RelayRecord = { ...d, forwarded, delayMs };
    records.push(rec);
    if (records.length > maxRecords) records = records.slice(records.length - maxRecords);
    for (const w of waiters) {
      if (w.pred(rec)) {
        waiters.delete(w);
        w.resolve(rec);
      }
    }
    if (forwarded === null) return;
    if (delayMs === 0) {
      send(forwarded);
      return;
    }
    const fire = (): void => {
      if (!stopped) send(forwarded);
    };
    if (opts.precise !== true) {
      after(delayMs, fire);
      return;
    }
    // A coarse timer to 2 ms before the due time, then a setImmediate spin.
    const dueNs = d.receivedAtNs + BigInt(Math.round(delayMs * 1e6));
    const spin = (): void => {
      if (stopped) return;
      if (process.hrtime.bigint() >= dueNs) fire();
      else setImmediate(spin);
    };
    after(Math.max(0, Number(dueNs - process.hrtime.bigint()) / 1e6 - 2), spin);
  };

  /** setTimeout, remembered so stop() can cancel it. */
  const after = (ms: number, fn: () => void): void => {
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, ms);
    timers.add(t);
  };

  const session = (client: Endpoint): Session => {
    const key = `${client.address}|${client.port}`;
    const existing = sessions.get(key);
    if (existing) {
      existing.idle.refresh();
      return existing;
    }
    const socket = dgram.createSocket(family(target.address));
    const s: Session = {
      client,
      socket,
      idle: setTimeout(() => {
        sessions.delete(key);
        socket.close();
      }, idleMs),
    };
    s.idle.unref();
    socket.on('error', () => {
      // ICMP errors from the target (e.g. not listening yet) must not kill the relay.
    });
    socket.on('message', (msg, rinfo) => {
      if (rinfo.address !== target.address || rinfo.port !== target.port) return;
      s.idle.refresh();
      handle('to-client', msg, client, (b) => {
        if (!stopped) safeSend(front, b, client);
      });
    });
    // Bound to the listen address so the server sees the relay's loopback address, not 127.0.0.1.
    socket.bind(0, listenAddress === '0.0.0.0' || listenAddress === '::' ? undefined : listenAddress);
    sessions.set(key, s);
    return s;
  };

  front.on('error', () => {
    // Same as above: an unreachable client must not kill the relay.
  });
  front.on('message', (msg, rinfo) => {
    const s = session({ address: rinfo.address, port: rinfo.port });
    handle('to-server', msg, s.client, (b) => {
      if (!stopped) safeSend(s.socket, b, target);
    });
  });
  await new Promise<void>((resolve, reject) => {
    front.once('error', reject);
    front.bind(opts.listen?.port ?? 0, listenAddress, () => {
      front.off('error', reject);
      resolve();
    });
  });
  const { address, port } = front.address();

  return {
    address,
    port,
    target,
    records: () => records,
    clear: () => {
      records = [];
    },
    waitFor(pred, timeoutMs = 10_000): Promise<RelayRecord> {
      const hit = records.find(pred);
      if (hit) return Promise.resolve(hit);
      return new Promise((resolve, reject) => {
        const w = {
          pred,
          resolve: (r: RelayRecord) => {
            clearTimeout(timer);
            resolve(r);
          },
        };
        const timer = setTimeout(() => {
          waiters.delete(w);
          reject(new Error(`UDP relay ${address}:${port}: no matching datagram within ${timeoutMs} ms (${records.length} recorded)`));
        }, timeoutMs);
        waiters.add(w);
      });
    },
    async stop(): Promise<void> {
      if (stopped) return;
      stopped = true;
      for (const t of timers) clearTimeout(t);
      timers.clear();
      const closing = [front, ...[...sessions.values()].map((s) => s.socket)].map(
        (sock) => new Promise<void>((r) => sock.close(() => r())),
      );
      for (const s of sessions.values()) clearTimeout(s.idle);
      sessions.clear();
      await Promise.all(closing);
    },
  };
}
