/**
 * `ntsrefresh` against chronyd 4.3's NTS-KE server: two ntpkit daemons
 * start together, each on its own chronyd (so each server counts one
 * client's handshakes), one with a short `ntsrefresh`, one without. Both
 * live on the cookies chronyd's replies bring; only the first runs NTS-KE
 * again, each time its keys are older than the limit.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { controlRequest } from '../control/client.js';
import { type ChronydServer, startChronydServer } from '../testing/chronyd.js';
import { freeTcpPort, makeTestPki, type TestPki } from '../testing/nts-pki.js';
import { type ManagedProcess, spawnManaged } from '../testing/process.js';
import { interopSkip, toolPath } from '../testing/tools.js';
import { until } from '../testing/until.js';

const BIN = fileURLToPath(new URL('../../bin/ntpkit.js', import.meta.url));
const ADDRESSES = ['127.0.32.1', '127.0.32.2'] as const;
const REFRESH = 4;

/** chronyc serverstats' count of NTS-KE connections chronyd accepted: one per handshake. */
function keAccepted(server: ChronydServer): number {
  const out = execFileSync(toolPath('chronyc'), ['-h', join(server.dir, 'cmd.sock'), 'serverstats'], { encoding: 'utf8' });
  const m = /^NTS-KE connections accepted\s*:\s*(\d+)$/m.exec(out);
  if (m === null) throw new Error(`no NTS-KE count in chronyc serverstats:\n${out}`);
  return Number(m[1]);
}

/** The handshakes ntpkit logged as done. */
function keDone(daemon: ManagedProcess): number {
  return daemon.logs().match(/NTS-KE with \S+: \d+ cookies/g)?.length ?? 0;
}

describe('ntsrefresh against chronyd 4.3\'s NTS-KE server', { skip: interopSkip('chronyd', 'chronyc', 'openssl') }, () => {
  let pki: TestPki;
  let dir: string;
  before(async () => {
    pki = await makeTestPki({ san: ADDRESSES.map((a) => `IP:${a}`).join(',') });
    dir = await mkdtemp(join(tmpdir(), 'ntpkit-nts-refresh-'));
  });
  after(async () => {
    await pki?.remove();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  test(`with ntsrefresh ${REFRESH} the client runs NTS-KE again every ${REFRESH} s; without it, once in the same time`, { timeout: 120_000 }, async (t) => {
    const servers: ChronydServer[] = [];
    const ntsPorts: number[] = [];
    for (const address of ADDRESSES) {
      const ntsPort = await freeTcpPort(address);
      const s = await startChronydServer({
        address,
        extraConfig: ['ntsservercert {dir}/server.crt', 'ntsserverkey {dir}/server.key', `ntsport ${ntsPort}`, 'bindcmdaddress {dir}/cmd.sock'],
        files: { 'server.crt': pki.cert, 'server.key': pki.key },
      });
      t.after(() => s.stop());
      servers.push(s);
      ntsPorts.push(ntsPort);
    }
    // From before the daemons start: the first handshake cannot be earlier, so two refreshes take at least this long after it.
    const start = performance.now();
    const daemons: { proc: ManagedProcess; socket: string }[] = [];
    for (const [i, s] of servers.entries()) {
      const socket = join(dir, `client${i}.sock`);
      const conf = join(dir, `client${i}.conf`);
      await writeFile(conf, [
        `server ${s.address} nts ntsport ${ntsPorts[i]} iburst minpoll 0 maxpoll 0`,
        `ntstrustedcerts ${pki.caCertPath}`,
        'nosystemcert',
        `controlsocket ${socket}`, 'bindcmdaddress /', 'cmdport 0',
        'port 0',
        ...(i === 0 ? [`ntsrefresh ${REFRESH}`] : []),
      ].join('\n') + '\n');
      const proc = await spawnManaged(process.execPath, [BIN, 'daemon', '-f', conf, '--clock', 'virtual']);
      t.after(() => proc.stop());
      daemons.push({ proc, socket });
    }
    const [withRefresh, without] = daemons as [typeof daemons[0], typeof daemons[0]];
    const [refreshServer, plainServer] = servers as [ChronydServer, ChronydServer];
    const diag = (): string => `--- with ntsrefresh\n${withRefresh.proc.logs()}\n--- without\n${without.proc.logs()}`;
    // Three handshakes: two refreshes, each after the keys outlived the limit.
    await until('the client with ntsrefresh did two more NTS-KE handshakes', 60_000, async () => (keAccepted(refreshServer) >= 3 && keDone(withRefresh.proc) >= 3 ? true : null), diag);
    const elapsed = (performance.now() - start) / 1000;
    const refreshes = keAccepted(refreshServer) - 1;
    assert.ok(elapsed >= 2 * REFRESH, `two refreshes within ${elapsed.toFixed(1)} s, less than twice ntsrefresh ${REFRESH}`);
    assert.ok(refreshes <= Math.floor(elapsed / REFRESH) + 1, `${refreshes} refreshes in ${elapsed.toFixed(1)} s: more than one per ${REFRESH} s`);
    // chronyd counts a connection when it accepts it, the client when the exchange is done: one may be under way.
    const [accepted, done] = [keAccepted(refreshServer), keDone(withRefresh.proc)];
    assert.ok(accepted - done >= 0 && accepted - done <= 1, `chronyd accepted ${accepted}, ntpkit logged ${done}\n${diag()}`);
    // The other client, running as long, spends its first 8 cookies and more without needing a handshake.
    const plain = await until('the client without ntsrefresh got more than 8 authenticated replies', 60_000, async () => {
      const d = await controlRequest(without.socket, 'ntpdata', {}, { timeoutMs: 2000 }) as { sources: { authenticated: boolean; totalValidRx: number }[] } | { authenticated: boolean; totalValidRx: number }[];
      const s = (Array.isArray(d) ? d : d.sources)[0];
      return s !== undefined && s.authenticated && s.totalValidRx > 8 ? s : null;
    }, diag);
    assert.equal(keAccepted(plainServer), 1, `${JSON.stringify(plain)}\n${diag()}`);
    assert.equal(keDone(without.proc), 1, diag());
  });
});
