/**
 * `local stratum 10` on a daemon whose only server never answers: chronyd
 * 4.3 reports its local reference in tracking (refid 7F7F0101, stratum 10,
 * leap Normal, no root delay or dispersion) while still "not synchronised".
 * The real chronyc is asked the same of ntpkit's daemon and of a chronyd -x
 * in that state, and the reports must match but for the reference time,
 * which each daemon sets when its local reference starts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ChronydProcess, type ManagedProcess, pollFor, requireTool, runChronyc, spawnNtpkit, startChronydClient } from '../../testing/index.js';

/** Nothing answers here (127.0.58.0/24 belongs to this test). */
const SILENT = '127.0.58.1';

const field = (text: string, label: string): string => new RegExp(`^${label} *: (.*)$`, 'm').exec(text)?.[1] ?? assert.fail(`no "${label}" in:\n${text}`);

test('local stratum 10, no source answering: chronyc tracking shows the local reference from ntpkit as from chronyd', { timeout: 90_000 }, async (t) => {
  if (!requireTool(t, 'chronyd', 'chronyc')) return;
  const dir = await mkdtemp(join(tmpdir(), 'ntpkit-local-tracking-'));
  const procs: (ChronydProcess | ManagedProcess)[] = [];
  try {
    const client = await startChronydClient({
      servers: [{ address: SILENT, options: 'iburst' }],
      extraConfig: ['local stratum 10', 'bindcmdaddress {dir}/chronyd.sock'],
    });
    procs.push(client);
    const theirSock = join(client.dir, 'chronyd.sock');
    const ourSock = join(dir, 'run', 'chronyd.sock');
    const conf = join(dir, 'chrony.conf');
    await writeFile(conf, `server ${SILENT} iburst\nlocal stratum 10\ncontrolsocket ${join(dir, 'ntpkit.sock')}\nbindcmdaddress ${ourSock}\ncmdport 0\n`);
    const daemon = await spawnNtpkit(['daemon', '-f', conf, '--clock', 'virtual']);
    procs.push(daemon);

    const tracking = async (sock: string): Promise<string> => {
      const out = await runChronyc(['-h', sock, 'tracking']);
      return out.code === 0 ? out.out : '';
    };
    // Both answer once their command sockets are up; chronyd activates its local reference at once.
    const [ours, theirs] = await pollFor('both daemons to report the local reference', async () => {
      const pair: [string, string] = [await tracking(ourSock), await tracking(theirSock)];
      return pair.every((o) => /^Stratum +: 10$/m.test(o)) ? pair : undefined;
    }, 60_000, () => daemon.logs());
    const withoutRefTime = (text: string): string => text.replace(/^Ref time \(UTC\) *: .*$/m, 'Ref time (UTC)  : T');
    assert.equal(withoutRefTime(ours), withoutRefTime(theirs));
    assert.equal(field(ours, 'Reference ID'), '7F7F0101 ()');
    assert.equal(field(ours, 'Leap status'), 'Normal');
    // A reference time kept recent, on both: within a minute and a half of now (chronyd refreshes it every 64 s).
    for (const out of [ours, theirs]) {
      const at = Date.parse(`${field(out, 'Ref time \\(UTC\\)')} UTC`);
      assert.ok(Math.abs(Date.now() - at) < 90_000, out);
    }
  } finally {
    for (const p of procs.reverse()) await p.stop();
    await rm(dir, { recursive: true, force: true });
  }
});
