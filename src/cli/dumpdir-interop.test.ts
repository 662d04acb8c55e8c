/**
 * `dumpdir`, `ntpkit dump` and `ntpkit daemon -r` against chronyd 4.3: real
 * daemon processes polling a chronyd server on loopback. ntpkit's dump is
 * restored by ntpkit and by `chronyd -r`; chronyd's dump (`chronyc dump`) by
 * ntpkit. Restarts use `offline` sources, so whatever `sourcestats` shows
 * right after the start came from the dump alone.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ChronydProcess, type ChronydServer, type ManagedProcess, requireTool, spawnNtpkit, startChronyd, startChronydServer, toolPath } from '../testing/index.js';
import { runCaptured } from './run-captured.test-helper.js';

const SERVER = '127.0.30.1';
const FILE = `${SERVER}.dat`;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
/** How long a daemon gets to save its dumps after SIGTERM before the harness kills it. */
const EXIT_GRACE_MS = 20_000;

interface Row { readonly samples: number; readonly reach: number; readonly offsetText: string }

/** NP and Offset of `sourcestats`, Reach of `sources`, for SERVER; null until the daemon answers. */
function row(sourcestats: string, sources: string): Row | null {
  const st = new RegExp(`^${SERVER.replace(/\./g, '\\.')}\\s+(\\d+)\\s+\\d+\\s+\\S+\\s+\\S+\\s+\\S+\\s+(\\S+)`, 'm').exec(sourcestats);
  const so = new RegExp(`^\\^. ${SERVER.replace(/\./g, '\\.')}\\s+\\d+\\s+-?\\d+\\s+([0-7]+)\\s`, 'm').exec(sources);
  if (st === null || so === null) return null;
  return { samples: Number(st[1]), offsetText: st[2] as string, reach: parseInt(so[1] as string, 8) };
}

async function ntpkitRow(socket: string): Promise<Row | null> {
  const st = await runCaptured(['sourcestats', '--socket', socket]);
  const so = await runCaptured(['sources', '--socket', socket]);
  return st.code === 0 && so.code === 0 ? row(st.out, so.out) : null;
}

function chronycRow(socket: string): Row | null {
  try {
    const c = (cmd: string): string => execFileSync(toolPath('chronyc'), ['-h', socket, '-n', cmd], { encoding: 'utf8', timeout: 5000 });
    return row(c('sourcestats'), c('sources'));
  } catch {
    return null;
  }
}

async function waitFor<T>(what: string, probe: () => Promise<T | null> | T | null, ok: (v: T) => boolean, ms: number, logs: () => string): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== null && ok(v)) return v;
    if (Date.now() > deadline) assert.fail(`${what} within ${ms / 1000} s (last: ${JSON.stringify(v)})\n${logs()}`);
    await sleep(200);
  }
}

/** Samples a dump holds (its fourth line), after checking its first two. */
function dumpSamples(text: string): number {
  const lines = text.split('\n');
  assert.equal(lines[0], 'SRC0');
  assert.equal(lines[1], SERVER);
  return Number((lines[3] ?? '').split(' ')[0]);
}

async function config(dir: string, dumpdir: string, source: string): Promise<{ conf: string; socket: string }> {
  const socket = join(dir, 'ntpkit.sock');
  const conf = join(dir, 'chrony.conf');
  await writeFile(conf, `server ${SERVER} ${source}\ndumpdir ${dumpdir}\ncontrolsocket ${socket}\nbindcmdaddress /\ncmdport 0\n`);
  return { conf, socket };
}

/** The processes a test started, stopped (by PID) at its end. */
interface Started { daemon?: ManagedProcess; chronyd?: ChronydProcess }

/** A chronyd server at SERVER and a temp dir (its `dumps` the dumpdir) for `body`; everything stopped and removed after. */
async function withServer(body: (dir: string, dumps: string, started: Started) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'ntpkit-dumpdir-'));
  let server: ChronydServer | undefined;
  const started: Started = {};
  try {
    server = await startChronydServer({ address: SERVER });
    await body(dir, join(dir, 'dumps'), started);
  } finally {
    await started.daemon?.stop();
    await started.chronyd?.stop();
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

test('ntpkit dump writes chronyd\'s format; ntpkit -r and chronyd -r restore its samples and reach; without -r nothing is restored', { timeout: 180_000 }, async (t) => {
  if (!requireTool(t, 'chronyd', 'chronyc')) return;
  await withServer(async (dir, dumps, started) => {
    const polling = await config(dir, dumps, 'iburst minpoll 0 maxpoll 0');
    const first = started.daemon = await spawnNtpkit(['daemon', '-f', polling.conf, '--clock', 'virtual']);
    await waitFor('8 samples', () => ntpkitRow(polling.socket), (r) => r.samples >= 8, 60_000, () => first.logs());
    const dumped = await runCaptured(['dump', '--socket', polling.socket]);
    assert.deepEqual([dumped.code, dumped.out], [0, '200 OK\n'], dumped.err);
    assert.ok(dumpSamples(await readFile(join(dumps, FILE), 'utf8')) >= 8);
    // At exit the samples are saved again, the latest included (a generous grace: SIGKILL on a loaded machine would skip the exit).
    await first.stop(EXIT_GRACE_MS);
    const text = await readFile(join(dumps, FILE), 'utf8');
    const n = dumpSamples(text);
    assert.ok(n >= 8, text);

    const offline = await config(dir, dumps, 'offline');
    const second = started.daemon = await spawnNtpkit(['daemon', '-f', offline.conf, '--clock', 'virtual', '-r']);
    const restored = await waitFor('the daemon answering', () => ntpkitRow(offline.socket), () => true, 30_000, () => second.logs());
    assert.deepEqual([restored.samples, restored.reach], [n, 0o377], 'NP and Reach as dumped');
    assert.match(second.logs(), new RegExp(`Loaded dump file for ${SERVER.replace(/\./g, '\\.')} \\(${n} samples\\)`));
    assert.deepEqual(await readdir(dumps), [], 'as chronyd, the dumps are removed once the daemon has started');
    await second.stop(EXIT_GRACE_MS);
    const again = await readFile(join(dumps, FILE), 'utf8').catch((e: unknown) => assert.fail(`no dump at exit: ${String(e)}\n${second.logs()}`));
    assert.equal(dumpSamples(again), n, 'an offline source dumps what it restored');

    // The same start without -r: nothing restored, and the file is gone all the same.
    const third = started.daemon = await spawnNtpkit(['daemon', '-f', offline.conf, '--clock', 'virtual']);
    const cold = await waitFor('the daemon answering', () => ntpkitRow(offline.socket), () => true, 30_000, () => third.logs());
    assert.deepEqual([cold.samples, cold.reach], [0, 0]);
    assert.doesNotMatch(third.logs(), /Loaded dump file/);
    await third.stop();

    // chronyd -r takes ntpkit's file as its own.
    const c = started.chronyd = await startChronyd({
      config: ['port 0', 'dumpdir {dir}', 'bindcmdaddress {dir}/chronyd.sock', `server ${SERVER} offline`],
      files: { [FILE]: text }, args: ['-r'], name: 'chronyd-dump',
    });
    const theirs = await waitFor('chronyc answering', () => chronycRow(join(c.dir, 'chronyd.sock')), () => true, 30_000, () => c.logs());
    assert.deepEqual([theirs.samples, theirs.reach], [n, 0o377], `chronyd restored ntpkit's dump\n${c.logs()}`);
    // chronyc is run synchronously: the log arrives once the event loop reads chronyd's pipe.
    await waitFor('chronyd\'s log line', () => c.logs(), (l) => l.includes(`Loaded dump file for ${SERVER}`), 10_000, () => c.logs());
  });
});

test('chronyd\'s dump (chronyc dump) restores in ntpkit -r; a corrupt dump is logged and ignored', { timeout: 180_000 }, async (t) => {
  if (!requireTool(t, 'chronyd', 'chronyc')) return;
  await withServer(async (dir, dumps, started) => {
    const c = started.chronyd = await startChronyd({
      config: ['port 0', 'dumpdir {dir}', 'bindcmdaddress {dir}/chronyd.sock', `server ${SERVER} iburst minpoll 0 maxpoll 0`], name: 'chronyd-dump',
    });
    const sock = join(c.dir, 'chronyd.sock');
    await waitFor('chronyd with 8 samples', () => chronycRow(sock), (r) => r.samples >= 8, 60_000, () => c.logs());
    assert.equal(execFileSync(toolPath('chronyc'), ['-h', sock, 'dump'], { encoding: 'utf8', timeout: 5000 }), '200 OK\n', 'the reply ntpkit dump prints too');
    const text = await readFile(join(c.dir, FILE), 'utf8');
    const n = dumpSamples(text);
    await c.stop();

    const { conf, socket } = await config(dir, dumps, 'offline');
    const put = async (dump: string): Promise<void> => {
      await mkdir(dumps, { recursive: true });
      await writeFile(join(dumps, FILE), dump);
    };
    await put(text);
    const d = started.daemon = await spawnNtpkit(['daemon', '-f', conf, '--clock', 'virtual', '-r']);
    const ours = await waitFor('the daemon answering', () => ntpkitRow(socket), () => true, 30_000, () => d.logs());
    assert.deepEqual([ours.samples, ours.reach], [n, 0o377], `chronyd's NP and Reach\n${d.logs()}`);
    // Both daemons share one clock: the source's offset is the loopback's few microseconds, not chronyd's clock against ours.
    assert.match(ours.offsetText, /^[-+]?\d+(ns|us)$/, `offset ${ours.offsetText}`);
    await d.stop();

    await put(text.replace(/\n(\d+) (-?\d+)\n/, '\n$1 $2\ngarbage\n'));
    const e = started.daemon = await spawnNtpkit(['daemon', '-f', conf, '--clock', 'virtual', '-r']);
    const refused = await waitFor('the daemon answering', () => ntpkitRow(socket), () => true, 30_000, () => e.logs());
    assert.deepEqual([refused.samples, refused.reach], [0, 0]);
    assert.match(e.logs(), /Could not load dump file for 127\.0\.30\.1: line 5: expected a time and six numbers/);
    assert.equal(e.exitStatus(), undefined, 'still running');
  });
});
