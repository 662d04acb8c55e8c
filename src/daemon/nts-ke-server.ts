/**
 * The NTS-KE server (RFC 8915 §4): TLS 1.3 only, ALPN `ntske/1`, one
 * request and one response per connection. It negotiates NTPv4 and an AEAD,
 * exports the two session keys from TLS (§5.1) and hands out cookies sealed
 * by the cookie codec, which the NTP side later opens.
 *
 * Resource bounds, because the handshake is the expensive, unauthenticated
 * part of NTS: at most `maxConnections` sessions at once (chrony's
 * maxntsconnections, default 100; the kernel connection beyond it is closed at
 * once), and a request larger than 16 KiB is refused. Each session has one
 * deadline from TCP accept, as chronyd's (nts_ke_server.c gives every session
 * 2 s): the handshake, the request and the response must all fit in it, and
 * when it passes the socket is destroyed whatever the client is sending.
 * Node's own timeouts do not do this: `handshakeTimeout` only reports an
 * error and leaves the socket open, and `setTimeout` is an idle timer that a
 * byte now and then restarts, so slow clients could hold every slot for ever.
 * That is why the listener is a plain TCP server whose sockets are wrapped
 * here, one TLSSocket per accepted connection under its own timer.
 */
import { performance } from 'node:perf_hooks';
import { type AddressInfo, createServer, type Server, type Socket } from 'node:net';
import { createSecureContext, TLSSocket } from 'node:tls';
import type { NtsKeDropReason, NtsKeStats } from '../core/server/server-stats.js';
import type { CookieCodec } from '../crypto/nts-cookie.js';
import {
  AEAD_KEY_LENGTH, AeadId, buildKeErrorResponse, buildKeNoCommonResponse, buildKeResponse, encodeNtsKeRecords, interpretKeRequest,
  NTS_KE_ALPN, NTS_KE_COOKIES_PER_RESPONSE, NTS_KE_DEFAULT_PORT, NTS_KE_EXPORTER_LABEL, NtsKeErrorCode, ntsExporterContext, scanNtsKeMessage,
} from '../proto/nts-ke.js';

export type { NtsKeDropReason } from '../core/server/server-stats.js';

/** What the KE server authenticates itself with. */
export interface NtsServerCredentials {
  /** PEM certificate chain (ntsservercert). */
  readonly cert: string | Buffer;
  /** PEM private key (ntsserverkey). */
  readonly key: string | Buffer;
}

export interface NtsKeServerOptions extends NtsServerCredentials {
  readonly cookies: CookieCodec;
  readonly address?: string;
  /** Default 4460 (ntsport); 0 picks a free port. */
  readonly port?: number;
  /** AEADs this server offers, in its preference order; the client's order decides among them. Default AES-SIV-CMAC-256 only. */
  readonly aeads?: readonly number[];
  /** ntsntpserver: the NTP server named in responses (else clients use the KE server's address). */
  readonly ntpServer?: string;
  /** The NTP port named in responses, when not 123. */
  readonly ntpPort?: number;
  /** chrony's maxntsconnections (default 100). */
  readonly maxConnections?: number;
  /** The session deadline, from TCP accept to the end of the connection (default 2000 ms, chronyd's). */
  readonly timeoutMs?: number;
  /** Called once per connection: accepted (keys and cookies sent) or dropped, with a reason. */
  readonly onResult?: (r: NtsKeConnectionResult) => void;
}

export type NtsKeConnectionResult = { readonly accepted: true; readonly aeadId: number } | { readonly accepted: false; readonly reason: NtsKeDropReason; readonly detail?: string };

export type NtsKeServerStats = NtsKeStats;

export interface NtsKeServer {
  readonly address: string;
  readonly port: number;
  stats(): NtsKeServerStats;
  /**
   * New certificate and key for the connections accepted from now on (a
   * renewed certificate on reload): the listener stays open throughout.
   * @throws when node:tls cannot use them; the old ones then stay.
   */
  setCredentials(c: NtsServerCredentials): void;
  /** Stops listening and closes every open connection. */
  close(): Promise<void>;
}

/** RFC 8915 §3: NTS-KE is TLS 1.3 or newer; node:tls has nothing newer. */
const TLS_VERSIONS = { minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3' } as const;

export const DEFAULT_MAX_NTS_CONNECTIONS = 100;
export const DEFAULT_NTS_KE_TIMEOUT_MS = 2000;

/**
 * Runs `fire` once, never before `deadlineMs` on performance.now()'s clock: a
 * timer armed inside a callback counts from the event loop's cached time and
 * can fire a little early, and the deadline is a promise to clients.
 */
function atDeadline(deadlineMs: number, fire: () => void): { cancel(): void } {
  let timer: NodeJS.Timeout;
  const arm = (): void => {
    const left = deadlineMs - performance.now();
    if (left <= 0) { fire(); return; }
    timer = setTimeout(arm, Math.ceil(left));
  };
  arm();
  return { cancel: () => clearTimeout(timer) };
}

export async function startNtsKeServer(o: NtsKeServerOptions): Promise<NtsKeServer> {
  const aeads = o.aeads ?? [AeadId.AesSivCmac256];
  let accepted = 0;
  let dropped = 0;
  const droppedBy: Partial<Record<NtsKeDropReason, number>> = {};
  const sockets = new Set<TLSSocket>();
  const report = (r: NtsKeConnectionResult): void => {
    if (r.accepted) accepted++;
    else { dropped++; droppedBy[r.reason] = (droppedBy[r.reason] ?? 0) + 1; }
    o.onResult?.(r);
  };

  // Replaced whole by setCredentials(); each connection takes the one current when it is accepted.
  let secureContext = createSecureContext({ cert: o.cert, key: o.key, ...TLS_VERSIONS });
  const timeoutMs = o.timeoutMs ?? DEFAULT_NTS_KE_TIMEOUT_MS;
  const server: Server = createServer((raw) => serve(raw, performance.now() + timeoutMs));
  server.maxConnections = o.maxConnections ?? DEFAULT_MAX_NTS_CONNECTIONS;
  server.on('drop', () => report({ accepted: false, reason: 'too-many-connections' }));

  function serve(raw: Socket, deadlineMs: number): void {
    const socket = new TLSSocket(raw, { isServer: true, secureContext, ALPNProtocols: [NTS_KE_ALPN] });
    sockets.add(socket);
    let done = false;
    let secure = false;
    let tlsError: Error | null = null;
    const finish = (r: NtsKeConnectionResult, response?: Uint8Array): void => {
      if (done) return;
      done = true;
      report(r);
      if (response === undefined) socket.destroy();
      else socket.end(response);
    };
    // After the response too: a client that never closes its end must not keep the slot.
    const deadline = atDeadline(deadlineMs, () => { finish({ accepted: false, reason: 'timeout' }); socket.destroy(); });
    socket.on('close', () => {
      deadline.cancel();
      sockets.delete(socket);
      if (!secure && tlsError !== null) finish({ accepted: false, reason: 'tls-error', detail: tlsError.message });
      else finish({ accepted: false, reason: 'closed-early' });
    });
    socket.on('error', (e) => { tlsError ??= e; });
    // 'secure' is the server side's end of the handshake (tls.Server's secureConnection is emitted from it).
    socket.on('secure', () => {
      secure = true;
      // RFC 8915 §4: the ALPN extension is mandatory; a client without it is not speaking NTS-KE.
      if (socket.alpnProtocol !== NTS_KE_ALPN) finish({ accepted: false, reason: 'no-alpn' });
    });
    let buf = new Uint8Array(0);
    socket.on('data', (chunk: Buffer) => {
      if (done) return;
      const next = new Uint8Array(buf.length + chunk.length);
      next.set(buf);
      next.set(chunk, buf.length);
      buf = next;
      const scan = scanNtsKeMessage(buf);
      if (!scan.ok) {
        const code = scan.reason === 'unknown-critical' ? NtsKeErrorCode.UnrecognizedCriticalRecord : NtsKeErrorCode.BadRequest;
        finish({ accepted: false, reason: 'malformed', detail: scan.message }, encodeNtsKeRecords(buildKeErrorResponse(code)));
        return;
      }
      if (!scan.complete) return;
      const req = interpretKeRequest(scan.records, aeads);
      if (!req.ok) {
        finish({ accepted: false, reason: 'bad-request', detail: req.message }, encodeNtsKeRecords(buildKeErrorResponse(req.errorCode)));
        return;
      }
      if (req.value.aeadId === null) {
        finish({ accepted: false, reason: 'no-common-algorithm' }, encodeNtsKeRecords(buildKeNoCommonResponse(req.value.ntpv4)));
        return;
      }
      const aeadId = req.value.aeadId;
      try {
        const len = AEAD_KEY_LENGTH[aeadId] as number;
        const c2s = new Uint8Array(socket.exportKeyingMaterial(len, NTS_KE_EXPORTER_LABEL, Buffer.from(ntsExporterContext(aeadId, 'c2s'))));
        const s2c = new Uint8Array(socket.exportKeyingMaterial(len, NTS_KE_EXPORTER_LABEL, Buffer.from(ntsExporterContext(aeadId, 's2c'))));
        const cookies = Array.from({ length: NTS_KE_COOKIES_PER_RESPONSE }, () => o.cookies.seal({ aeadId, c2s, s2c }));
        const response = buildKeResponse({
          aeadId, cookies,
          ...(o.ntpServer === undefined ? {} : { server: o.ntpServer }),
          ...(o.ntpPort === undefined ? {} : { port: o.ntpPort }),
        });
        finish({ accepted: true, aeadId }, encodeNtsKeRecords(response));
      } catch (e) {
        finish({ accepted: false, reason: 'internal-error', detail: (e as Error).message }, encodeNtsKeRecords(buildKeErrorResponse(NtsKeErrorCode.InternalServerError)));
      }
    });
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port ?? NTS_KE_DEFAULT_PORT, o.address ?? '::', () => { server.off('error', reject); resolve(); });
  });
  const addr = server.address() as AddressInfo;
  return {
    address: addr.address,
    port: addr.port,
    stats: () => ({ accepted, dropped, droppedBy: { ...droppedBy } }),
    setCredentials: (c) => { secureContext = createSecureContext({ cert: c.cert, key: c.key, ...TLS_VERSIONS }); },
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      for (const s of sockets) s.destroy();
    }),
  };
}
