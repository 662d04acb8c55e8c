/**
 * A throwaway PKI for NTS tests, made by `openssl` in a temp dir: a CA and a
 * server certificate for 127.0.0.1 (an IP SAN, so no name is ever looked up),
 * optionally already expired (signed under libfaketime two days back with a
 * one-day validity) to exercise nocerttimecheck.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { type AddressInfo, createServer } from 'node:net';
import { join } from 'node:path';
import { runToCompletion } from './process.js';
import { toolPath } from './tools.js';

export interface TestPki {
  readonly dir: string;
  readonly caCertPath: string;
  readonly certPath: string;
  readonly keyPath: string;
  readonly caCert: string;
  readonly cert: string;
  readonly key: string;
  /** A second, unrelated CA (for "untrusted" tests). */
  readonly otherCaCertPath: string;
  remove(): Promise<void>;
}

export interface TestPkiOptions {
  /** Subject alt names of the server certificate (default IP:127.0.0.1). */
  readonly san?: string;
  /** Make the server certificate expired. */
  readonly expired?: boolean;
}

async function openssl(args: readonly string[], cwd: string, env: Record<string, string> = {}): Promise<void> {
  const r = await runToCompletion(toolPath('openssl'), args, { cwd, env, timeoutMs: 20_000 });
  if (r.status.code !== 0) throw new Error(`openssl ${args.join(' ')} failed: ${r.stderr.trim()}`);
}

export async function makeTestPki(opts: TestPkiOptions = {}): Promise<TestPki> {
  const dir = await mkdtemp(join(tmpdir(), 'ntpkit-nts-pki-'));
  try {
    const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
    for (const ca of ['ca', 'other-ca']) {
      await openssl(['req', '-x509', ...ec, '-keyout', `${ca}.key`, '-out', `${ca}.crt`, '-subj', `/CN=ntpkit test ${ca}`, '-days', '30',
        '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], dir);
    }
    await openssl(['req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1'], dir);
    await writeFile(join(dir, 'ext.cnf'), `basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=${opts.san ?? 'IP:127.0.0.1'}\n`);
    const sign = ['x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.crt', '-extfile', 'ext.cnf'];
    if (opts.expired === true) {
      // The CA itself stays valid: only the server certificate's times are wrong.
      await openssl([...sign, '-days', '1'], dir, {
        LD_PRELOAD: toolPath('libfaketime'), FAKETIME: '-3d', FAKETIME_DONT_FAKE_MONOTONIC: '1',
      });
    } else {
      await openssl([...sign, '-days', '30'], dir);
    }
    const read = (f: string): Promise<string> => readFile(join(dir, f), 'utf8');
    return {
      dir,
      caCertPath: join(dir, 'ca.crt'),
      certPath: join(dir, 'server.crt'),
      keyPath: join(dir, 'server.key'),
      otherCaCertPath: join(dir, 'other-ca.crt'),
      caCert: await read('ca.crt'),
      cert: await read('server.crt'),
      key: await read('server.key'),
      remove: () => rm(dir, { recursive: true, force: true }),
    };
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
}

/** A TCP port the kernel calls free on `address` now (for NTS-KE servers; the usual small race applies). */
export function freeTcpPort(address = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, address, () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}
