/**
 * A reload keeps what it does not change, as a running chronyd never loses
 * its sources: a real daemon process polling three real chronyd servers on
 * loopback, reloaded (SIGHUP, then `ntpkit reload`) with the same file and
 * then with one source's options changed, judged by `ntpkit sources` and
 * `ntpkit sourcestats` before and after.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ChronydServer, type ManagedProcess, requireTool, spawnNtpkit, startChronydServer } from '../testing/index.js';
import { runCaptured } from './run-captured.test-helper.js';

const SERVERS = ['127.0.25.1', '127.0.25.2', '127.0.25.3'] as const;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Row { readonly state: string; readonly reach: number; readonly samples: number }

/** `ntpkit sources` (state and reach, octal) and `sourcestats` (NP) by address, as an operator reads them. */
async function rows(socket: string): Promise<Map<string, Row>> {
  const src = await runCaptured(['sources', '--socket', socket]);
  const stats = await runCaptured(['sourcestats', '--socket', socket]);
  assert.equal(src.code, 0, src.err);
  assert.equal(stats.code, 0, stats.err);
  const out = new Map<string, Row>();
  for (const line of src.out.split('\n')) {
    const m = /^\^(.) (\S+)\s+\d+\s+-?\d+\s+([0-7]+)\s/.exec(line);
    if (m === null) continue;
    const s = new RegExp(`^${(m[2] as string).replace(/\./g, '\\.')}\\s+(\\d+)\\s`, 'm').exec(stats.out);
    out.set(m[2] as string, { state: m[1] as string, reach: parseInt(m[3] as string, 8), samples: Number(s?.[1] ?? 0) });
  }
  return out;
}

async function until(what: string, cond: () => Promise<boolean>, ms: number, logs: () => string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!await cond()) {
    if (Date.now() > deadline) assert.fail(`${what} within ${ms / 1000} s\n${logs()}`);
    await sleep(200);
  }
}

test('a reload keeps every unchanged source (reach, samples, selection) and restarts only the changed one', { timeout: 180_000 }, async (t) => {
  if (!requireTool(t, 'chronyd')) return;
  const dir = await mkdtemp(join(tmpdir(), 'ntpkit-reload-state-'));
  const servers: ChronydServer[] = [];
  let daemon: ManagedProcess | undefined;
  try {
    for (const address of SERVERS) servers.push(await startChronydServer({ address }));
    const socket = join(dir, 'ntpkit.sock');
    const conf = join(dir, 'chrony.conf');
    const lines = (third: string): string => [
      ...SERVERS.slice(0, 2).map((a) => `server ${a} minpoll 0 maxpoll 0 iburst`), third, `controlsocket ${socket}\nbindcmdaddress /\ncmdport 0`, '',
    ].join('\n');
    const same = lines(`server ${SERVERS[2]} minpoll 0 maxpoll 0 iburst`);
    await writeFile(conf, same);
    daemon = await spawnNtpkit(['daemon', '-f', conf, '--clock', 'virtual']);
    const d = daemon;
    const logs = (): string => d.logs();

    // Every source heard eight times in a row, one of them selected.
    let before = new Map<string, Row>();
    await until('all three sources at reach 377 and one selected', async () => {
      before = await rows(socket).catch(() => new Map<string, Row>());
      return SERVERS.every((a) => before.get(a)?.reach === 0o377) && [...before.values()].some((r) => r.state === '*');
    }, 90_000, logs);

    // The same file, by SIGHUP: nothing changes.
    let reloads = 0;
    const reloaded = async (): Promise<void> => {
      reloads++;
      await until(`reload ${reloads} logged`, async () => (logs().match(/Reloaded the configuration/g) ?? []).length >= reloads, 30_000, logs);
    };
    process.kill(d.pid, 'SIGHUP');
    await reloaded();
    let after = await rows(socket);
    for (const a of SERVERS) {
      const b = before.get(a) as Row, n = after.get(a);
      assert.equal(n?.reach, 0o377, `${a} keeps its reach: ${JSON.stringify(n)}`);
      assert.ok(n !== undefined && n.samples >= Math.min(b.samples, 4), `${a} keeps its samples: ${b.samples} before, ${JSON.stringify(n)} after`);
    }
    assert.ok([...after.values()].some((r) => r.state === '*'), `still a selected source: ${JSON.stringify([...after])}`);
    assert.doesNotMatch(logs(), /no majority/i);
    assert.match(logs(), /Reloaded the configuration: 3 sources; 3 kept with their state, 0 added, 0 removed/);

    // One source's options change (maxpoll), by `ntpkit reload`: only that one starts again.
    before = after;
    await writeFile(conf, lines(`server ${SERVERS[2]} minpoll 0 maxpoll 1 iburst`));
    assert.deepEqual(await runCaptured(['reload', '--socket', socket]), { code: 0, out: '200 OK\n', err: '' });
    await reloaded();
    after = await rows(socket);
    for (const a of SERVERS.slice(0, 2)) {
      const b = before.get(a) as Row, n = after.get(a);
      assert.equal(n?.reach, 0o377, `${a} keeps its reach: ${JSON.stringify(n)}`);
      assert.ok(n !== undefined && n.samples >= Math.min(b.samples, 4), `${a} keeps its samples: ${b.samples} before, ${JSON.stringify(n)} after`);
    }
    // A register of eight polls a second apart cannot be full again this soon after the reload.
    const changed = after.get(SERVERS[2]);
    assert.ok(changed !== undefined && changed.reach !== 0o377, `${SERVERS[2]} starts afresh: ${JSON.stringify(changed)}`);
    assert.doesNotMatch(logs(), /no majority/i);
    assert.match(logs(), /Reloaded the configuration: 3 sources; 2 kept with their state, 1 added, 1 removed/);
    assert.equal(d.exitStatus(), undefined, 'the daemon still runs');
  } finally {
    await daemon?.stop();
    for (const s of servers) await s.stop();
    await rm(dir, { recursive: true, force: true });
  }
});
