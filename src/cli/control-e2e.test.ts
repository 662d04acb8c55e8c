/**
 * The operational commands end to end: a real daemon (its own process) on
 * loopback, synchronizing to a real chronyd, driven by the CLI in-process,
 * by raw bad requests, and by an unprivileged user through the two sockets.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import dgram from 'node:dgram';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { controlRequest } from '../control/client.js';
import type { ControlError } from '../control/errors.js';
import { readOnlySocketPath } from '../control/protocol.js';
import {
  type ChronydServer, type LoopbackBlock, type ManagedProcess, requireTool, reserveLoopbackBlock, spawnManaged, startChronydServer,
} from '../testing/index.js';
import { runCaptured } from './run-captured.test-helper.js';

let block: LoopbackBlock | undefined;
before(async () => { block = await reserveLoopbackBlock('control-e2e.test', 3); });
after(() => block?.release());

const cli = runCaptured;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Raw bytes on the socket; resolves with what came back by the first complete reply line, or by the daemon closing. */
function raw(path: string, bytes: Buffer | string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = createConnection(path);
    let got = '';
    const timer = setTimeout(() => { s.destroy(); reject(new Error(`no reply line within 30 s; got ${JSON.stringify(got)}`)); }, 30_000);
    const done = (): void => { clearTimeout(timer); resolve(got); };
    s.on('data', (d) => { got += d.toString(); if (got.includes('\n')) { s.end(); done(); } });
    s.on('error', (e) => { clearTimeout(timer); reject(e); });
    s.on('close', done);
    s.on('connect', () => { s.write(bytes); });
  });
}

test('operational commands against a running daemon: results, refusals, bad requests, permissions', { timeout: 120_000 }, async (t) => {
  if (!requireTool(t, 'chronyd')) return;
  const [a, unused, self] = (block as LoopbackBlock).addresses as [string, string, string];
  const dir = await mkdtemp(join(tmpdir(), 'ntpkit-control-e2e-'));
  let server: ChronydServer | undefined;
  let daemon: ManagedProcess | undefined;
  try {
    server = await startChronydServer({ address: a });
    const socket = join(dir, 'run', 'ntpkit.sock');
    const conf = join(dir, 'chrony.conf');
    const good = [`server ${a} minpoll 0 maxpoll 2 iburst`, 'allow 127.0.0.0/8', `bindaddress ${self}`, `controlsocket ${socket}\nbindcmdaddress /\ncmdport 0`, ''].join('\n');
    await writeFile(conf, good);
    const main = new URL('./main.js', import.meta.url).href;
    const code = `import { run } from ${JSON.stringify(main)}; process.exitCode = await run(process.argv.slice(1));`;
    daemon = await spawnManaged(process.execPath, ['--input-type=module', '-e', code, 'daemon', '-f', conf, '--clock', 'virtual'], { cwd: fileURLToPath(new URL('.', import.meta.url)) });
    const S = ['--socket', socket];
    /** `activity` until it matches: bursts end on replies, which take their time under load. */
    const activityUntil = async (re: RegExp): Promise<void> => {
      const until = Date.now() + 20_000;
      for (let out = ''; !re.test(out); await sleep(100)) {
        out = (await cli(['activity', ...S])).out;
        if (Date.now() > until) assert.match(out, re);
      }
    };
    const deadline = Date.now() + 30_000;
    for (;;) {
      const r = await cli(['tracking', ...S]);
      if (r.code === 0 && /Stratum\s+: 2/.test(r.out)) break;
      if (Date.now() > deadline) assert.fail(`the daemon did not synchronize: ${daemon.logs()}`);
      await sleep(200);
    }

    // Once the iburst is over: one source online.
    const settledBy = Date.now() + 30_000;
    const settled = '200 OK\n1 sources online\n0 sources offline\n0 sources doing burst (return to online)\n0 sources doing burst (return to offline)\n0 sources with unknown address\n';
    for (let out = ''; out !== settled; await sleep(200)) {
      out = (await cli(['activity', ...S])).out;
      if (Date.now() > settledBy) assert.equal(out, settled);
    }
    assert.deepEqual(await cli(['offline', ...S]), { code: 0, out: '200 OK\n', err: '' });
    assert.match((await cli(['activity', ...S])).out, /^0 sources online\n1 sources offline$/m);
    assert.deepEqual(await cli(['burst', '3/4', a, ...S]), { code: 0, out: '200 OK\n', err: '' });
    assert.match((await cli(['activity', ...S])).out, /^1 sources doing burst \(return to offline\)$/m);
    assert.equal((await cli(['online', a, ...S])).code, 0);
    const act = JSON.parse((await cli(['activity', '--json', ...S])).out) as Record<string, unknown>;
    assert.equal(act.schema, 'ntpkit.activity/1');
    assert.equal(act.offline, 0);

    // add / delete, with the config parser's own diagnostics.
    assert.deepEqual(await cli(['add', 'server', unused, 'minpoll', '0', 'iburst', ...S]), { code: 0, out: '200 OK\n', err: '' });
    const dup = await cli(['add', 'server', unused, ...S]);
    assert.equal(dup.code, 1);
    assert.match(dup.err, /already present/);
    const bogus = await cli(['add', 'server', '127.0.0.99', 'bogus', ...S]);
    assert.equal(bogus.code, 1);
    assert.match(bogus.err, /unknown option "bogus"/);
    // The new source starts with its iburst (4 requests, 1 s apart: it never answers).
    await activityUntil(/^1 sources online\n0 sources offline\n1 sources doing burst \(return to online\)$/m);
    assert.deepEqual(await cli(['delete', unused, ...S]), { code: 0, out: '200 OK\n', err: '' });
    const gone = await cli(['delete', unused, ...S]);
    assert.equal(gone.code, 1);
    assert.match(gone.err, /No such source/);

    const nd = await cli(['ntpdata', a, ...S]);
    assert.equal(nd.code, 0, nd.err);
    assert.match(nd.out, new RegExp(`^Remote address  : ${a.replace(/\./g, '\\.')} \\(`));
    assert.match(nd.out, /^Mode {12}: Server$/m);
    assert.match(nd.out, /^Total valid RX {2}: [1-9]/m);

    // The NTP server side: three requests, each answered before the next, then clients and serverstats.
    const sock = dgram.createSocket('udp4');
    const req = Buffer.alloc(48);
    req[0] = 0x23;
    try {
      for (let i = 0; i < 3; i++) {
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`request ${i} to the daemon's NTP server not answered within 30 s`)), 30_000);
          sock.once('message', () => { clearTimeout(timer); resolve(); });
          sock.send(req, 123, self);
        });
      }
    } finally {
      sock.close();
    }
    const cl = await cli(['clients', ...S]);
    assert.equal(cl.code, 0, cl.err);
    assert.match(cl.out, /^127\.0\.0\.1 +3 +0 /m);
    assert.match((await cli(['serverstats', ...S])).out, /^NTP packets received {7}: 3$/m);
    // Every command the daemon received is counted, as chronyd counts its command packets.
    const commandsReceived = async (): Promise<number> => {
      const m = /^Command packets received {3}: (\d+)$/m.exec((await cli(['serverstats', ...S])).out);
      assert.ok(m, 'serverstats shows Command packets received');
      return Number(m[1]);
    };
    const before = await commandsReceived();
    assert.ok(before >= 10, `${before} command packets after at least ten commands`);
    for (let i = 0; i < 5; i++) assert.equal((await cli(['tracking', ...S])).code, 0);
    assert.equal(await commandsReceived(), before + 6, 'five tracking requests and one serverstats');
    assert.match((await cli(['serverstats', ...S])).out, /^Command packets dropped {4}: 0$/m);

    assert.deepEqual(await cli(['makestep', ...S]), { code: 0, out: '200 OK\n', err: '' });
    assert.deepEqual(await cli(['makestep', '0.1', '3', ...S]), { code: 0, out: '200 OK\n', err: '' });
    assert.equal((await cli(['makestep', 'x', ...S])).code, 2);

    // reload: a bad config is refused with file:line, the running one stays.
    await writeFile(conf, `${good}maxpoll 99 nonsense\n`);
    const bad = await cli(['reload', ...S]);
    assert.equal(bad.code, 1);
    assert.match(bad.err, /chrony\.conf:7: /);
    assert.equal((await cli(['tracking', ...S])).code, 0);
    await writeFile(conf, good);
    assert.deepEqual(await cli(['reload', ...S]), { code: 0, out: '200 OK\n', err: '' });

    // Bad requests: each gets an error reply and the daemon keeps answering.
    const refused = async (command: string, args: Record<string, unknown>, code: string): Promise<void> => {
      await assert.rejects(controlRequest(socket, command, args), (e: ControlError) => e.code === code && e.remote, `${command} ${JSON.stringify(args)}`);
    };
    await refused('burst', { good: 0, max: 4 }, 'bad-args');
    await refused('burst', { good: 4 }, 'bad-args');
    await refused('burst', { good: 1, max: 2, address: 'a b' }, 'bad-args');
    await refused('online', { address: 42 }, 'bad-args');
    await refused('offline', { nonsense: 1 }, 'bad-args');
    await refused('add', {}, 'bad-args');
    await refused('add', { line: 'allow all' }, 'bad-args');
    await refused('add', { line: 'server x\nserver y' }, 'bad-args');
    await refused('delete', {}, 'bad-args');
    await refused('makestep', { threshold: 'x', limit: 1 }, 'bad-args');
    await refused('makestep', { threshold: 1 }, 'bad-args');
    await refused('clients', { minPackets: -1 }, 'bad-args');
    await refused('ntpdata', { address: '192.0.2.99' }, 'no-such-source');
    await refused('reload', { now: true }, 'bad-args');
    await refused('no-such-command', {}, 'unknown-command');
    assert.match(await raw(socket, Buffer.from([0xff, 0xfe, 0x00, 0x0a])), /"code":"bad-json"/);
    assert.match(await raw(socket, `${'x'.repeat(70_000)}\n`), /"code":"request-too-large"/);
    assert.match(await raw(socket, '{"version":1,"id":1,"command":"BAD"}\n'), /"code":"bad-request"/);
    assert.equal((await cli(['tracking', ...S])).code, 0);

    // The read-only socket: monitoring only.
    const ro = readOnlySocketPath(socket);
    assert.deepEqual(Object.keys(await controlRequest(ro, 'activity') as object).sort(), ['burstOffline', 'burstOnline', 'offline', 'online', 'unresolved']);
    await assert.rejects(controlRequest(ro, 'makestep'), (e: ControlError) => e.code === 'not-permitted' && e.message.includes(socket));
    await assert.rejects(controlRequest(ro, 'clients'), (e: ControlError) => e.code === 'not-permitted');

    // An unprivileged user: read-only commands through the fallback, changing ones refused clearly.
    if (process.getuid?.() === 0) {
      await chmod(dir, 0o755);
      const bin = fileURLToPath(new URL('../../bin/ntpkit.js', import.meta.url));
      const asNobody = (args: readonly string[]): { status: number | null; stdout: string; stderr: string } =>
        spawnSync(process.execPath, [bin, ...args, ...S], { uid: 65534, gid: 65534, encoding: 'utf8', timeout: 20_000 });
      const r1 = asNobody(['activity']);
      assert.equal(r1.status, 0, r1.stderr);
      assert.match(r1.stdout, /^200 OK\n\d sources online/);
      const r2 = asNobody(['tracking']);
      assert.equal(r2.status, 0, r2.stderr);
      for (const c of [['makestep'], ['burst', '1/2'], ['offline'], ['clients']]) {
        const r = asNobody(c);
        assert.equal(r.status, 1, `${c.join(' ')}: ${r.stdout}${r.stderr}`);
        assert.match(r.stderr, new RegExp(`needs write permission on the control socket ${socket.replace(/[.]/g, '\\.')}: run as root or as a member of the socket's group`));
      }
      // ... and as root they work.
      assert.deepEqual(await cli(['offline', ...S]), { code: 0, out: '200 OK\n', err: '' });
      assert.deepEqual(await cli(['online', ...S]), { code: 0, out: '200 OK\n', err: '' });
    }
    assert.equal(daemon.exitStatus(), undefined, 'the daemon still runs');
  } finally {
    await daemon?.stop();
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  }
});
