import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freeUdpPort, pollFor, probeNtp, spawnNtpkit } from '../testing/index.js';

const SERVE = '127.0.24.4';

/** The precision field of the daemon's NTP replies, with `extra` in its config. */
async function servedPrecision(extra: string): Promise<number> {
  const dir = await mkdtemp(join(tmpdir(), 'ntpkit-prec-'));
  const port = await freeUdpPort(SERVE);
  const conf = join(dir, 'chrony.conf');
  await writeFile(conf, `server 127.0.24.1\ncontrolsocket /\nbindcmdaddress /\ncmdport 0\nport ${port}\nbindaddress ${SERVE}\nallow ${SERVE}/32\n${extra}`);
  const d = await spawnNtpkit(['daemon', '-f', conf, '--clock', 'virtual']);
  try {
    const r = await pollFor('a reply', () => probeNtp(SERVE, port, { timeoutMs: 500, sourceAddress: SERVE }).then((x) => x, () => undefined), 30_000, () => d.logs());
    return r.header.precision;
  } finally {
    await d.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

test('clockprecision 0.001: the server announces precision -10 (log2, rounded, as chronyd); without it, the measured one', { timeout: 90_000 }, async () => {
  assert.equal(await servedPrecision('clockprecision 0.001\n'), -10);
  // Reading the clock twice on this hardware takes well under a millisecond.
  assert.ok(await servedPrecision('') < -10);
});
