import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ntsKeyExchange } from '../net/nts-ke-client.js';
import { freeUdpPort } from '../testing/loopback.js';
import { freeTcpPort, makeTestPki } from '../testing/nts-pki.js';
import { interopSkip } from '../testing/tools.js';
import { serverCommand } from './server-command.js';

test('ntpkit server with ntsservercert/ntsserverkey serves NTS-KE, and serverstats count the exchanges', { skip: interopSkip('openssl', 'libfaketime') }, async (t) => {
  const pki = await makeTestPki();
  t.after(() => pki.remove());
  const ntpPort = await freeUdpPort('127.0.0.1');
  const ntsPort = await freeTcpPort();
  const conf = join(pki.dir, 'server.conf');
  await writeFile(conf, `bindaddress 127.0.0.1\nport ${ntpPort}\nallow 127.0.0.1\nlocal stratum 1\nntsservercert ${pki.certPath}\nntsserverkey ${pki.keyPath}\nntsport ${ntsPort}\n`);
  const out: string[] = [];
  const err: string[] = [];
  let release: () => void = () => {};
  const stopped = new Promise<void>((r) => { release = r; });
  const run = serverCommand({ out: (l) => out.push(l), err: (l) => err.push(l), setExitCode: (c) => err.push(`exit ${c}`) }, () => stopped)
    .parseAsync(['node', 'server', '-f', conf, '--json']);
  for (let i = 0; i < 100 && !err.some((l) => l.includes('Serving NTS-KE')); i++) await new Promise((r) => setTimeout(r, 50));
  try {
    assert.ok(err.includes(`ntpkit server: Serving NTS-KE on 127.0.0.1:${ntsPort}`), err.join('\n'));
    const ke = await ntsKeyExchange({ host: '127.0.0.1', port: ntsPort, trustedCerts: [pki.caCertPath], timeoutMs: 5000 });
    assert.equal(ke.port, ntpPort, 'the NTP port rides in the KE response');
  } finally {
    release();
    await run;
  }
  const stats = JSON.parse(out[out.length - 1] as string) as Record<string, unknown>;
  assert.equal(stats.schema, 'ntpkit.serverstats/1');
  assert.equal(stats.ntsKeConnectionsAccepted, 1, JSON.stringify(stats));
});
