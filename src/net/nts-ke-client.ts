/**
 * The NTS-KE client (RFC 8915 §4): one TLS 1.3 connection with ALPN
 * `ntske/1`, one request, one response, then the two session keys exported
 * from TLS (§5.1). The result says which NTP server and port to use: the
 * ones the KE server named, else the KE host and 123.
 *
 * Certificates are verified against Node's root CAs plus `trustedCerts`
 * (chrony's ntstrustedcerts adds to the system set), and against the host
 * name. `noCertTimeCheck` is chrony's nocerttimecheck: a machine that boots
 * with a wrong clock cannot judge a certificate's validity period, so an
 * error about validity times alone is forgiven while the caller says so
 * (chrony: for the first N clock updates), after the rest of the
 * verification (chain to a trusted CA, host name) has been redone without
 * the time check.
 */
import { X509Certificate } from 'node:crypto';
import { readFile, readdir, stat } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { connect, rootCertificates, type PeerCertificate, type TLSSocket } from 'node:tls';
import type { NtsKeResult } from '../crypto/nts-ke-types.js';
import {
  AEAD_KEY_LENGTH, AeadId, buildKeRequest, encodeNtsKeRecords, interpretKeResponse, NTS_KE_ALPN, NTS_KE_DEFAULT_PORT,
  NTS_KE_EXPORTER_LABEL, type NtsKeErrorReason, ntsExporterContext, scanNtsKeMessage,
} from '../proto/nts-ke.js';

export interface NtsKeyExchangeOptions {
  readonly host: string;
  /** Default 4460. */
  readonly port?: number;
  /** PEM files or directories of PEM files (ntstrustedcerts), added to the root CAs. */
  readonly trustedCerts?: readonly string[];
  /** Leave out Node's root CAs (chrony's nosystemcert). */
  readonly noSystemCerts?: boolean;
  /** Accept a certificate whose only fault is its validity times (nocerttimecheck while it applies). */
  readonly noCertTimeCheck?: boolean;
  /** Whole exchange, connect to response (default 5000 ms). */
  readonly timeoutMs?: number;
  /** AEADs offered, preferred first (default AES-SIV-CMAC-256). */
  readonly aeads?: readonly number[];
  /** The name checked against the certificate, when not `host` (e.g. connecting by address to a named server). */
  readonly serverName?: string;
}

export type NtsKeClientErrorCode = NtsKeErrorReason | 'connect-failed' | 'timeout' | 'certificate' | 'no-alpn' | 'closed-early' | 'bad-trusted-certs';

/** An NTS-KE failure, with a stable code (`NTPKIT_NTSKE_...` style names are the codes upper-cased). */
export class NtsKeClientError extends Error {
  constructor(readonly code: NtsKeClientErrorCode, message: string) {
    super(message);
    this.name = 'NtsKeClientError';
  }
}

const TIME_ERRORS = new Set(['CERT_NOT_YET_VALID', 'CERT_HAS_EXPIRED', 'CRL_NOT_YET_VALID', 'CRL_HAS_EXPIRED']);

/** Reads PEM certificates from files and directories (every regular file in a directory, as chrony). */
export async function loadTrustedCerts(paths: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const p of paths) {
    let files: string[];
    try {
      files = (await stat(p)).isDirectory() ? (await readdir(p)).sort().map((f) => join(p, f)) : [p];
    } catch (e) {
      throw new NtsKeClientError('bad-trusted-certs', `Cannot read trusted certificates ${p}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    for (const f of files) {
      let text: string;
      try {
        if (!(await stat(f)).isFile()) continue;
        text = await readFile(f, 'utf8');
      } catch (e) {
        throw new NtsKeClientError('bad-trusted-certs', `Cannot read trusted certificates ${f}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      }
      const pems = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
      if (pems.length === 0 && paths.includes(f)) throw new NtsKeClientError('bad-trusted-certs', `Cannot use trusted certificates ${f}: no PEM certificate in it`);
      out.push(...pems);
    }
  }
  return out;
}

/**
 * Verification without the time check: the chain the server sent must lead,
 * by issuer names and signatures, to one of `cas`, and the leaf must match
 * the host name.
 */
function verifyIgnoringTimes(peer: PeerCertificate & { issuerCertificate?: PeerCertificate }, cas: readonly string[], name: string): string | null {
  const chain: X509Certificate[] = [];
  let c: (PeerCertificate & { issuerCertificate?: PeerCertificate }) | undefined = peer;
  while (c !== undefined && chain.length < 10) {
    chain.push(new X509Certificate(c.raw));
    const next: PeerCertificate | undefined = c.issuerCertificate;
    if (next === undefined || next === c || next.fingerprint256 === c.fingerprint256) break;
    c = next;
  }
  const leaf = chain[0] as X509Certificate;
  const nameOk = isIP(name) !== 0 ? leaf.checkIP(name) !== undefined : leaf.checkHost(name) !== undefined;
  if (!nameOk) return `the certificate does not match ${name}`;
  const anchors = cas.map((pem) => new X509Certificate(pem));
  for (let i = 0; i < chain.length; i++) {
    const cert = chain[i] as X509Certificate;
    if (anchors.some((a) => cert.checkIssued(a) && cert.verify(a.publicKey))) return null;
    const parent = chain[i + 1];
    if (parent === undefined || !parent.ca || !cert.checkIssued(parent) || !cert.verify(parent.publicKey)) break;
  }
  return 'the certificate chain does not lead to a trusted CA';
}

/** Runs one NTS-KE exchange. Rejects with an NtsKeClientError. */
export async function ntsKeyExchange(o: NtsKeyExchangeOptions): Promise<NtsKeResult> {
  const port = o.port ?? NTS_KE_DEFAULT_PORT;
  const aeads = o.aeads ?? [AeadId.AesSivCmac256];
  const name = o.serverName ?? o.host;
  const extra = await loadTrustedCerts(o.trustedCerts ?? []);
  const cas = [...(o.noSystemCerts === true ? [] : rootCertificates), ...extra];
  const timeoutMs = o.timeoutMs ?? 5000;

  return new Promise<NtsKeResult>((resolve, reject) => {
    let settled = false;
    const socket: TLSSocket = connect({
      host: o.host,
      port,
      ...(isIP(name) === 0 ? { servername: name } : {}),
      ca: cas,
      minVersion: 'TLSv1.3',
      maxVersion: 'TLSv1.3',
      ALPNProtocols: [NTS_KE_ALPN],
      // Verification is checked below, so nocerttimecheck can forgive the validity times only.
      rejectUnauthorized: false,
      checkServerIdentity: () => undefined,
    });
    const fail = (code: NtsKeClientErrorCode, message: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      reject(new NtsKeClientError(code, `NTS-KE with ${o.host}:${port}: ${message}`));
    };
    const timer = setTimeout(() => fail('timeout', `no response within ${timeoutMs} ms`), timeoutMs);
    socket.on('error', (e) => fail('connect-failed', e.message));
    socket.on('close', () => fail('closed-early', 'the server closed the connection before a complete response'));
    socket.on('secureConnect', () => {
      const authError = socket.authorizationError as unknown as string | Error | null;
      const errCode = authError === null ? null : typeof authError === 'string' ? authError : ((authError as NodeJS.ErrnoException).code ?? authError.message);
      if (errCode !== null) {
        if (!(o.noCertTimeCheck === true && TIME_ERRORS.has(errCode))) { fail('certificate', `certificate rejected: ${errCode}`); return; }
        const why = verifyIgnoringTimes(socket.getPeerCertificate(true), cas, name);
        if (why !== null) { fail('certificate', `certificate rejected (validity times ignored): ${why}`); return; }
      } else {
        const peer = socket.getPeerCertificate();
        const leaf = new X509Certificate(peer.raw);
        const nameOk = isIP(name) !== 0 ? leaf.checkIP(name) !== undefined : leaf.checkHost(name) !== undefined;
        if (!nameOk) { fail('certificate', `certificate rejected: it does not match ${name}`); return; }
      }
      if (socket.alpnProtocol !== NTS_KE_ALPN) { fail('no-alpn', `the server did not select ALPN ${NTS_KE_ALPN}`); return; }
      socket.write(encodeNtsKeRecords(buildKeRequest({ aeads })));
    });
    let buf = new Uint8Array(0);
    socket.on('data', (chunk: Buffer) => {
      if (settled) return;
      const next = new Uint8Array(buf.length + chunk.length);
      next.set(buf);
      next.set(chunk, buf.length);
      buf = next;
      const scan = scanNtsKeMessage(buf);
      if (!scan.ok) { fail(scan.reason, scan.message); return; }
      if (!scan.complete) return;
      const res = interpretKeResponse(scan.records, aeads);
      if (!res.ok) { fail(res.reason, res.message); return; }
      const { aeadId, cookies, server, port: ntpPort } = res.value;
      const len = AEAD_KEY_LENGTH[aeadId] as number;
      const c2s = new Uint8Array(socket.exportKeyingMaterial(len, NTS_KE_EXPORTER_LABEL, Buffer.from(ntsExporterContext(aeadId, 'c2s'))));
      const s2c = new Uint8Array(socket.exportKeyingMaterial(len, NTS_KE_EXPORTER_LABEL, Buffer.from(ntsExporterContext(aeadId, 's2c'))));
      settled = true;
      clearTimeout(timer);
      socket.end();
      resolve({ server: server ?? o.host, port: ntpPort ?? 123, aeadId, c2s, s2c, cookies });
    });
  });
}
