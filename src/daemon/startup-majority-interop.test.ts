/**
 * At start, with three good servers and a falseticker (a chronyd under
 * libfaketime, +2.5 s), neither chronyd 4.3 nor ntpkit's daemon selects the
 * falseticker, even briefly: a source is selectable only with the samples
 * chronyd's regression needs (3), and while some sources are still one
 * reply behind the others, selection waits for them (chronyd's sources.c,
 * SRC_WAITS_STATS). Both daemons run side by side with the same `server`
 * lines, the falseticker listed first; each one's log must show a good
 * source selected and the falseticker never, and ntpkit's clock never
 * stepped by the falseticker's 2.5 s.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fetchSnapshot } from '../control/commands.js';
import { type ChronydProcess, type ManagedProcess, pollFor, requireTool, spawnNtpkit, startChronydClient, startChronydServer } from '../testing/index.js';

const GOOD = ['127.0.50.11', '127.0.50.12', '127.0.50.13'];
const LIAR = '127.0.50.14';
const OPT = 'iburst minpoll 0 maxpoll 2';
const ROUNDS = 2;

test('start-up with a falseticker among four servers: neither chronyd nor ntpkit ever selects it', { timeout: 240_000 }, async (t) => {
  if (!requireTool(t, 'chronyd', 'libfaketime')) return;
  const procs: (ChronydProcess | ManagedProcess)[] = [];
  const dir = await mkdtemp(join(tmpdir(), 'ntpkit-startup-majority-'));
  try {
    procs.push(await startChronydServer({ address: LIAR, stratum: 1, fakeOffsetSeconds: 2.5 }));
    for (const address of GOOD) procs.push(await startChronydServer({ address, stratum: 1 }));
    const order = [LIAR, ...GOOD];
    const theirs = await startChronydClient({ servers: order.map((address) => ({ address, options: OPT })), extraConfig: ['makestep 1 3'] });
    procs.push(theirs);
    // The daemon is started afresh each round: start-up is what is judged.
    for (let round = 1; round <= ROUNDS; round++) {
      const socket = join(dir, `ntpkit-${round}.sock`);
      const conf = join(dir, `chrony-${round}.conf`);
      await writeFile(conf, `${order.map((a) => `server ${a} ${OPT}`).join('\n')}\nmakestep 1 3\ncontrolsocket ${socket}\nbindcmdaddress /\ncmdport 0\n`);
      const d = await spawnNtpkit(['daemon', '-f', conf, '--clock', 'virtual']);
      try {
        await pollFor(`round ${round}: a good source selected and the falseticker marked`, async () => {
          const snap = await fetchSnapshot(socket).catch(() => null);
          const liar = snap?.sources.find((s) => s.address === LIAR);
          return liar?.verdict === 'falseticker' && snap?.sources.some((s) => s.verdict === 'selected' && GOOD.includes(s.address ?? '')) ? true : undefined;
        }, 60_000, () => d.logs());
        const log = d.logs();
        assert.doesNotMatch(log, new RegExp(`Selected source ${LIAR.replaceAll('.', '\\.')}\\b`), `round ${round}\n${log}`);
        assert.doesNotMatch(log, /clock was stepped by [+-]?2\.\d/, `round ${round}\n${log}`);
        assert.match(log, /Selected source 127\.0\.50\.1[123]\b/, log);
      } finally {
        await d.stop();
      }
    }
    // chronyd, the reference, in the same run.
    await pollFor('chronyd selecting a good source', async () => (/Selected source 127\.0\.50\.1[123]\b/.test(theirs.logs()) ? true : undefined), 60_000, () => theirs.logs());
    assert.doesNotMatch(theirs.logs(), new RegExp(`Selected source ${LIAR.replaceAll('.', '\\.')}\\b`), theirs.logs());
  } finally {
    for (const p of procs.reverse()) await p.stop();
    await rm(dir, { recursive: true, force: true });
  }
});
