/**
 * Clients that try to hold an NTS-KE server's session slots, for tests of its
 * session deadline:
 * - `idle`: a TCP connection that never sends a byte;
 * - `slow-handshake`: a real TLS ClientHello (captured from node:tls), sent
 *   one byte per `intervalMs`, so the handshake never ends but the socket is
 *   never idle for long;
 * - `slow-request`: a finished TLS 1.3 handshake with ALPN ntske/1, then a
 *   valid NTS-KE request sent one byte per `intervalMs`.
 * Each records, on performance.now()'s clock, when it started connecting and
 * when it saw the server close the connection; it never closes first unless
 * told to (`destroy`, for cleanup).
 */
import { readFileSync } from 'node:fs';
import { connect as tcpConnect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { Duplex } from 'node:stream';
import { connect as tlsConnect, createSecureContext, type SecureContext } from 'node:tls';
import { AeadId, buildKeRequest, encodeNtsKeRecords, NTS_KE_ALPN } from '../proto/nts-ke.js';

export type HostileKind = 'idle' | 'slow-handshake' | 'slow-request';

export interface HostileOptions {
  readonly host: string;
  readonly port: number;
  /** PEM of the CA the server's certificate chains to (slow-request verifies it). */
  readonly ca: string;
  /** Gap between the bytes trickled (default 1000 ms). */
  readonly intervalMs?: number;
  /** From captureClientHello(), for slow-handshake. */
  readonly clientHello?: Uint8Array;
}

export interface HostileConnection {
  readonly kind: HostileKind;
  /** performance.now() just before the TCP connect. */
  readonly startedAt: number;
  /** Resolves with performance.now() when the server's close (FIN, reset or error) was seen. */
  readonly closed: Promise<number>;
  /** Bytes trickled so far. */
  sent(): number;
  /** Closes from our side (cleanup only). */
  destroy(): void;
}

/** The first flight node:tls sends for an NTS-KE connection: a TLS 1.3 ClientHello with ALPN ntske/1. */
export function captureClientHello(): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const sink = new Duplex({
      read() {},
      write(chunk: Buffer, _encoding, callback) {
        resolve(new Uint8Array(chunk));
        callback();
        setImmediate(() => tls.destroy());
      },
    });
    const tls = tlsConnect({ socket: sink, ALPNProtocols: [NTS_KE_ALPN], minVersion: 'TLSv1.3', rejectUnauthorized: false });
    tls.on('error', reject);
  });
}

export function openHostile(kind: HostileKind, o: HostileOptions): HostileConnection {
  const intervalMs = o.intervalMs ?? 1000;
  const startedAt = performance.now();
  let socket: Socket;
  let payload: Uint8Array;
  if (kind === 'slow-request') {
    const tls = tlsConnect({ host: o.host, port: o.port, secureContext: caContext(o.ca), ALPNProtocols: [NTS_KE_ALPN] });
    tls.once('secureConnect', startTrickle);
    socket = tls;
    payload = encodeNtsKeRecords(buildKeRequest({ aeads: [AeadId.AesSivCmac256] }));
  } else {
    socket = tcpConnect(o.port, o.host);
    if (kind === 'slow-handshake') socket.once('connect', startTrickle);
    if (kind === 'slow-handshake' && o.clientHello === undefined) throw new TypeError('slow-handshake needs a captured ClientHello');
    payload = o.clientHello ?? new Uint8Array(0);
  }
  let sent = 0;
  let timer: NodeJS.Timeout | undefined;
  function startTrickle(): void {
    const next = (): void => {
      // Never the last byte: the exchange must stay unfinished.
      if (socket.destroyed || sent >= payload.length - 1) return;
      socket.write(payload.subarray(sent, sent + 1));
      sent++;
    };
    next();
    timer = setInterval(next, intervalMs);
  }
  const closed = new Promise<number>((resolve) => {
    const seen = (): void => { clearInterval(timer); resolve(performance.now()); };
    socket.once('end', seen);
    socket.once('close', seen);
    socket.on('error', seen);
  });
  return { kind, startedAt, closed, sent: () => sent, destroy: () => { clearInterval(timer); socket.destroy(); } };
}

/**
 * Connections a TCP server at `address:port` (IPv4) still holds open: its
 * sockets that are not the listener and still belong to a process (a
 * non-zero inode; after close() the kernel finishes the connection alone,
 * with inode 0). Read from /proc/net/tcp.
 */
export function heldTcpSessions(address: string, port: number): number {
  const want = `${address.split('.').map((b) => Number(b).toString(16).toUpperCase().padStart(2, '0')).reverse().join('')}:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  let n = 0;
  for (const row of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode ...
    const f = row.trim().split(/\s+/);
    if (f[1] === want && f[3] !== '0A' && f[9] !== undefined && f[9] !== '0') n++;
  }
  return n;
}

/** What acceptedBy() saw. */
export interface AcceptProbe {
  /** performance.now() when the server had accepted or refused the probe. */
  readonly at: number;
  /** The server closed it without a handshake: every slot was taken. */
  readonly refused: boolean;
}

/**
 * Opens a TLS connection now, and resolves once the server has either
 * accepted it (handshake done) or refused it (closed), then closes it. The
 * kernel hands connections to the server in arrival order, so every
 * connection opened before this one had been accepted by `at`: an upper
 * bound on when their session deadlines started.
 */
export function acceptedBy(host: string, port: number, ca: string): Promise<AcceptProbe> {
  return new Promise((resolve) => {
    const tls = tlsConnect({ host, port, secureContext: caContext(ca), ALPNProtocols: [NTS_KE_ALPN] });
    const seen = (refused: boolean): void => { resolve({ at: performance.now(), refused }); tls.destroy(); };
    tls.once('secureConnect', () => seen(false));
    tls.once('close', () => seen(true));
    tls.on('error', () => seen(true));
  });
}

const contexts = new Map<string, SecureContext>();

/** One TLS 1.3 client context per CA: building one per connection would be most of a wave's client-side work. */
function caContext(ca: string): SecureContext {
  let c = contexts.get(ca);
  if (c === undefined) {
    c = createSecureContext({ ca, minVersion: 'TLSv1.3' });
    contexts.set(ca, c);
  }
  return c;
}
