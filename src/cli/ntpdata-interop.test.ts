/**
 * `ntpkit ntpdata` beside `chronyc ntpdata`, both daemons polling the same
 * real chronyd server on loopback: the values that depend on this machine
 * rather than on the moment must read the same.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type ChronydProcess, type ChronydServer, type ManagedProcess, requireTool, spawnNtpkit, startChronydClient, startChronydServer, toolPath,
} from '../testing/index.js';
import { runCaptured } from './run-captured.test-helper.js';

const SERVER = '127.0.25.4';
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function field(text: string, label: string): string | undefined {
  return new RegExp(`^${label} *: (.*)$`, 'm').exec(text)?.[1];
}

test("ntpdata's Local address is the one chronyd reports for the same server", { timeout: 120_000 }, async (t) => {
  if (!requireTool(t, 'chronyd', 'chronyc')) return;
  const dir = await mkdtemp(join(tmpdir(), 'ntpkit-ntpdata-interop-'));
  let server: ChronydServer | undefined;
  let client: ChronydProcess | undefined;
  let daemon: ManagedProcess | undefined;
  try {
    server = await startChronydServer({ address: SERVER });
    client = await startChronydClient({ servers: [{ address: SERVER, options: 'iburst minpoll 0 maxpoll 0' }], extraConfig: ['bindcmdaddress {dir}/chronyd.sock'] });
    const socket = join(dir, 'ntpkit.sock');
    const conf = join(dir, 'chrony.conf');
    await writeFile(conf, `server ${SERVER} iburst minpoll 0 maxpoll 0\ncontrolsocket ${socket}\nbindcmdaddress /\ncmdport 0\n`);
    daemon = await spawnNtpkit(['daemon', '-f', conf, '--clock', 'virtual']);
    const chronyc = (): string => execFileSync(toolPath('chronyc'), ['-h', join((client as ChronydProcess).dir, 'chronyd.sock'), '-n', 'ntpdata', SERVER], { encoding: 'utf8', timeout: 5000 });
    let theirs = '', ours = '';
    for (const deadline = Date.now() + 60_000; ; await sleep(250)) {
      try { theirs = chronyc(); } catch { theirs = ''; }
      const r = await runCaptured(['ntpdata', SERVER, '--socket', socket]);
      ours = r.code === 0 ? r.out : '';
      if (Number(field(theirs, 'Total valid RX') ?? 0) > 0 && Number(field(ours, 'Total valid RX') ?? 0) > 0) break;
      if (Date.now() > deadline) assert.fail(`no valid replies within 60 s:\nchronyc:\n${theirs}\nntpkit:\n${ours}\n${daemon.logs()}`);
    }
    const local = field(theirs, 'Local address');
    assert.ok(local !== undefined && !local.startsWith('[UNSPEC]'), `chronyd knows its local address: ${theirs}`);
    assert.equal(field(ours, 'Local address'), local);
  } finally {
    await daemon?.stop();
    await client?.stop();
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  }
});
