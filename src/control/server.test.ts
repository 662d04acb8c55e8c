/**
 * The control server and client over real Unix sockets in a temp dir: the
 * protocol's replies, bad input that leaves the server running, concurrency,
 * the socket file's life (mode, stale file, a live owner), client errors.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, existsSync, chmodSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { controlRequest } from './client.js';
import { ControlError } from './errors.js';
import { CONTROL_LIMITS, startControlServer, type ControlServer } from './server.js';

const dir = mkdtempSync(join(tmpdir(), 'ntpkit-control-'));
const servers: ControlServer[] = [];
after(async () => {
  for (const s of servers) await s.close();
  rmSync(dir, { recursive: true, force: true });
});

let n = 0;
function sockPath(): string {
  return join(dir, `run${++n}`, 'ntpkit.sock');
}

async function serve(path = sockPath(), extra: Parameters<typeof startControlServer>[0]['handlers'] = {}, opts: Partial<Parameters<typeof startControlServer>[0]> = {}): Promise<ControlServer> {
  const s = await startControlServer({
    path,
    handlers: {
      echo: (args) => args,
      slow: async (args) => { await new Promise((r) => setTimeout(r, Number(args.ms ?? 50))); return args.tag ?? null; },
      boom: () => { throw new Error('kaboom'); },
      picky: (args) => { if (typeof args.n !== 'number') throw new ControlError('bad-args', '"n" must be a number'); return args.n * 2; },
      nothing: () => undefined,
      cyclic: () => { const o: Record<string, unknown> = {}; o.self = o; return o; },
      ...extra,
    },
    ...opts,
  });
  servers.push(s);
  return s;
}

/** Sends raw lines on one connection and collects `count` reply lines (or until the server closes). */
function raw(path: string, payload: string | Buffer, count: number): Promise<{ replies: Record<string, unknown>[]; closed: boolean }> {
  return new Promise((resolve, reject) => {
    const s = createConnection(path);
    let buf = '';
    const replies: Record<string, unknown>[] = [];
    const timer = setTimeout(() => { s.destroy(); reject(new Error(`timeout; got ${JSON.stringify(replies)}`)); }, 5000);
    s.on('connect', () => s.write(payload));
    s.on('data', (d) => {
      buf += d.toString('utf8');
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        replies.push(JSON.parse(buf.slice(0, i)) as Record<string, unknown>);
        buf = buf.slice(i + 1);
      }
      if (replies.length >= count) { clearTimeout(timer); s.destroy(); resolve({ replies, closed: false }); }
    });
    s.on('close', () => { clearTimeout(timer); resolve({ replies, closed: true }); });
    s.on('error', reject);
  });
}

test('creates the missing directory, sets mode 0660, answers, and close() removes the socket', async () => {
  const path = sockPath();
  const s = await serve(path);
  const st = statSync(path);
  assert.ok(st.isSocket());
  assert.equal(st.mode & 0o777, 0o660);
  assert.equal(statSync(join(path, '..')).mode & 0o777, 0o750);
  assert.deepEqual(await controlRequest(path, 'echo', { a: [1, 'x'] }), { a: [1, 'x'] });
  assert.equal(await controlRequest(path, 'nothing'), null);
  const listed = await controlRequest(path, 'commands') as { protocol: number; commands: string[]; readOnly: boolean; access: Record<string, unknown> };
  assert.deepEqual({ protocol: listed.protocol, commands: listed.commands, readOnly: listed.readOnly }, { protocol: 1, commands: ['boom', 'commands', 'cyclic', 'echo', 'nothing', 'picky', 'slow'], readOnly: false });
  // A bare handler is local and changing; `commands` is open.
  assert.deepEqual(listed.access.echo, { access: 'local', changes: true });
  assert.deepEqual(listed.access.commands, { access: 'open', changes: false });
  await s.close();
  assert.equal(existsSync(path), false);
  await s.close();
});

test('another mode is honoured', async () => {
  const path = sockPath();
  await serve(path, {}, { mode: 0o600 });
  assert.equal(statSync(path).mode & 0o777, 0o600);
});

test('bad requests get error replies on the same connection, which keeps working', async () => {
  const path = sockPath();
  await serve(path);
  const lines = [
    'not json',
    '{"version":1,"id":2,"command":"nope"}',
    '',
    '{"version":1,"id":3,"command":"boom"}',
    '{"version":1,"id":4,"command":"picky","args":{"n":"x"}}',
    '{"version":9,"id":5,"command":"echo"}',
    '{"version":1,"id":6,"command":"cyclic"}',
    '{"version":1,"id":7,"command":"picky","args":{"n":21}}',
  ];
  const { replies } = await raw(path, `${lines.join('\n')}\n`, 7);
  assert.deepEqual(replies.map((r) => [r.id, r.ok, (r.error as { code?: string } | undefined)?.code ?? r.result]), [
    [null, false, 'bad-json'],
    [2, false, 'unknown-command'],
    [3, false, 'handler-failed'],
    [4, false, 'bad-args'],
    [5, false, 'unsupported-version'],
    [6, false, 'internal'],
    [7, true, 42],
  ]);
  assert.match((replies[1]?.error as { message: string }).message, /serves: boom, commands, cyclic, echo/);
  assert.match((replies[2]?.error as { message: string }).message, /kaboom/);
  await assert.rejects(controlRequest(path, 'boom'), (e: ControlError) => e.code === 'handler-failed' && e.remote);
});

test('pipelined requests are answered in order, even when the first is slow', async () => {
  const path = sockPath();
  await serve(path);
  const { replies } = await raw(path, [
    '{"version":1,"id":1,"command":"slow","args":{"ms":80,"tag":"a"}}',
    '{"version":1,"id":2,"command":"slow","args":{"ms":1,"tag":"b"}}',
    '{"version":1,"id":"three","command":"echo","args":{"c":3}}',
  ].join('\n') + '\n', 3);
  assert.deepEqual(replies.map((r) => [r.id, r.result]), [[1, 'a'], [2, 'b'], ['three', { c: 3 }]]);
});

test('a request split across writes, and one after the client half-closes, are answered', async () => {
  const path = sockPath();
  await serve(path);
  const replies = await new Promise<string>((resolve, reject) => {
    const s = createConnection(path);
    let buf = '';
    s.on('data', (d) => { buf += d.toString(); });
    s.on('end', () => resolve(buf));
    s.on('error', reject);
    s.on('connect', async () => {
      s.write('{"version":1,"id":1,');
      await new Promise((r) => setTimeout(r, 20));
      s.write('"command":"echo","args":{"x":1}}\n{"version":1,"id":2,"command":"echo"}');
      s.end();
    });
  });
  assert.deepEqual(replies.trim().split('\n').map((l) => (JSON.parse(l) as { id: number }).id), [1, 2]);
});

test('an oversized request gets request-too-large and its connection closes; others are served', async () => {
  const path = sockPath();
  await serve(path, {}, { maxRequestBytes: 1024 });
  const big = `{"version":1,"id":1,"command":"echo","args":{"x":"${'y'.repeat(5000)}"}}\n`;
  const r = await raw(path, big, 2);
  assert.equal(r.closed, true);
  assert.equal(r.replies.length, 1);
  assert.equal((r.replies[0]?.error as { code: string }).code, 'request-too-large');
  // Exactly at the limit is fine.
  const pad = 1024 - '{"version":1,"id":1,"command":"echo","args":{"x":""}}\n'.length;
  const fit = await raw(path, `{"version":1,"id":1,"command":"echo","args":{"x":"${'y'.repeat(pad)}"}}\n`, 1);
  assert.equal(fit.replies[0]?.ok, true);
  assert.deepEqual(await controlRequest(path, 'echo', { still: 'up' }), { still: 'up' });
});

test('garbage bytes (invalid UTF-8, NULs) get a bad-json reply', async () => {
  const path = sockPath();
  await serve(path);
  const r = await raw(path, Buffer.from([0xff, 0xfe, 0x00, 0x7b, 0x0a]), 1);
  assert.equal((r.replies[0]?.error as { code: string }).code, 'bad-json');
});

test('many clients at once all get their own answers', async () => {
  const path = sockPath();
  const s = await serve(path);
  const results = await Promise.all(Array.from({ length: 100 }, (_, i) => controlRequest(path, 'slow', { ms: i % 7, tag: i })));
  assert.deepEqual(results, Array.from({ length: 100 }, (_, i) => i));
  // Connections close after one request each.
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(s.connections(), 0);
});

test('refuses to start while another process listens on the path; the running one is untouched', async () => {
  const path = sockPath();
  await serve(path);
  await assert.rejects(serve(path), (e: ControlError) => e.code === 'address-in-use' && /another process is already listening/.test(e.message));
  assert.deepEqual(await controlRequest(path, 'echo', { ok: 1 }), { ok: 1 });
});

test('a stale socket left by a killed process is replaced', async () => {
  const path = sockPath();
  const script = `require('node:fs').mkdirSync(${JSON.stringify(join(path, '..'))}, { recursive: true });
    require('node:net').createServer().listen(${JSON.stringify(path)}, () => console.log('up'));`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    await new Promise<void>((resolve, reject) => {
      child.stdout.once('data', () => resolve());
      child.once('exit', (c) => reject(new Error(`child exited ${c}`)));
    });
  } finally {
    child.kill('SIGKILL');
  }
  await new Promise((r) => child.once('exit', r));
  assert.ok(statSync(path).isSocket());
  await assert.rejects(controlRequest(path, 'echo'), (e: ControlError) => e.code === 'no-daemon' && /stale/.test(e.message));
  await serve(path);
  assert.deepEqual(await controlRequest(path, 'echo', { fresh: true }), { fresh: true });
});

test('a path that is not a socket is never removed', async () => {
  const path = sockPath();
  await serve(path).then((s) => s.close());
  writeFileSync(path, 'precious');
  await assert.rejects(serve(path), (e: ControlError) => e.code === 'not-a-socket');
  assert.ok(existsSync(path));
});

test('handler names must be command names', async () => {
  await assert.rejects(startControlServer({ path: sockPath(), handlers: { 'Bad Name': () => 1 } }), RangeError);
});

test('client: no daemon, timeout, a non-protocol peer, each with its code and a clear message', async () => {
  const missing = join(dir, 'nowhere', 'ntpkit.sock');
  await assert.rejects(controlRequest(missing, 'snapshot'), (e: ControlError) =>
    e.code === 'no-daemon' && e.message === `no daemon listening at ${missing} (is ntpkit daemon running? see --socket)`);

  // A peer that accepts and never answers, and one that answers garbage.
  const mute = join(dir, 'mute.sock');
  const liar = join(dir, 'liar.sock');
  const held: import('node:net').Socket[] = [];
  const m = createServer((c) => { held.push(c); }).listen(mute);
  const l = createServer((c) => c.end('HTTP/1.1 400 Bad Request\r\n\r\n\n')).listen(liar);
  try {
    await new Promise((r) => setTimeout(r, 20));
    const t0 = Date.now();
    await assert.rejects(controlRequest(mute, 'snapshot', {}, { timeoutMs: 200 }), (e: ControlError) =>
      e.code === 'timeout' && /no reply from the daemon at .*mute\.sock within 200 ms/.test(e.message));
    assert.ok(Date.now() - t0 < 2000);
    await assert.rejects(controlRequest(liar, 'snapshot'), (e: ControlError) => e.code === 'bad-reply');
  } finally {
    for (const c of held) c.destroy();
    m.close();
    l.close();
  }
});

test('client as an unprivileged user: permission denied on a 0660 socket, with the reason', { skip: process.getuid?.() !== 0 || spawnSync('setpriv', ['--version']).status !== 0 ? 'needs root and setpriv' : false }, async () => {
  const path = join(dir, 'perm', 'ntpkit.sock');
  await serve(path);
  // Let "nobody" reach the directory, so that only the socket's mode stands in the way.
  chmodSync(join(path, '..'), 0o755);
  chmodSync(dir, 0o755);
  const client = fileURLToPath(new URL('./client.js', import.meta.url));
  const code = `import(${JSON.stringify(client)}).then((m) => m.controlRequest(${JSON.stringify(path)}, 'echo'))
    .then(() => console.log('ok'), (e) => console.log(e.code + ': ' + e.message));`;
  const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, '-e', code], { encoding: 'utf8', timeout: 10_000 });
  assert.match(r.stdout, /^permission-denied: permission denied opening .*perm\/ntpkit\.sock/, r.stdout + r.stderr);
});

test('a read-only server answers open commands and refuses the others with not-permitted, naming the main socket', async () => {
  const path = sockPath();
  const handlers = {
    look: { run: () => 'seen', access: 'open' as const, changes: false },
    touch: { run: () => 'changed', access: 'local' as const, changes: true },
    gone: { run: () => { throw new ControlError('no-such-source', 'No such source: x'); }, access: 'open' as const, changes: false },
  };
  await serve(path, handlers, { readOnly: true, mainPath: '/run/main.sock', mode: 0o666 });
  assert.equal(await controlRequest(path, 'look'), 'seen');
  await assert.rejects(controlRequest(path, 'touch'), (e: ControlError) =>
    e.code === 'not-permitted' && e.remote && /needs write permission on \/run\/main\.sock/.test(e.message));
  await assert.rejects(controlRequest(path, 'echo'), (e: ControlError) => e.code === 'not-permitted');
  // A handler's own refusal codes reach the client as they are.
  await assert.rejects(controlRequest(path, 'gone'), (e: ControlError) => e.code === 'no-such-source' && e.message === 'No such source: x');
  assert.equal((statSync(path).mode & 0o777), 0o666);
  const listed = await controlRequest(path, 'commands') as { readOnly: boolean };
  assert.equal(listed.readOnly, true);
});

/** Polls `pred` every 20 ms until it holds or `ms` pass. */
async function until(pred: () => boolean, ms = 5000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!pred() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  return pred();
}

test('a client that pipelines without reading: answering stops once its unread replies fill the buffers, and resumes, in order, when it reads', async () => {
  const path = sockPath();
  let answered = 0;
  const REPLY = 10_000;
  await serve(path, { fat: () => { answered++; return 'x'.repeat(REPLY); } });
  const N = 2000;
  const s = createConnection(path);
  s.pause();
  s.on('connect', () => s.write(Array.from({ length: N }, (_, i) => `{"version":1,"id":${i},"command":"fat"}\n`).join('')));
  // Stable: no new answers for a while.
  let last = -1;
  for (let i = 0; i < 100 && answered !== last; i++) {
    last = answered;
    await new Promise((r) => setTimeout(r, 100));
  }
  // What the daemon may hold for it: its high-water mark and one reply, beyond what the kernel's
  // socket buffers hold (each direction at most wmem_max; read from /proc when there).
  let wmem = 4 * 1024 * 1024;
  try { wmem = Number(readFileSync('/proc/sys/net/core/wmem_max', 'utf8')); } catch { /* not Linux: the generous default */ }
  const held = answered * (REPLY + 50);
  assert.ok(answered < N && held <= CONTROL_LIMITS.replyHighWaterBytes + REPLY + 50 + 2 * wmem, `answered ${answered} of ${N} without a read`);
  // Reading everything: all N answered, in order.
  const ids: number[] = [];
  let buf = '';
  s.setEncoding('utf8');
  s.on('data', (d: string) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) { ids.push((JSON.parse(buf.slice(0, i)) as { id: number }).id); buf = buf.slice(i + 1); }
  });
  s.resume();
  assert.ok(await until(() => ids.length === N, 20_000), `got ${ids.length} of ${N}`);
  assert.deepEqual(ids, Array.from({ length: N }, (_, i) => i));
  s.destroy();
});

test('a reply over the per-reply limit becomes an internal error; the connection goes on', async () => {
  const path = sockPath();
  await serve(path, { huge: () => 'x'.repeat(CONTROL_LIMITS.maxReplyBytes) });
  await assert.rejects(controlRequest(path, 'huge'), (e: ControlError) => e.code === 'internal' && e.remote && /over this daemon's limit of \d+ per reply/.test(e.message));
  const r = await raw(path, '{"version":1,"id":1,"command":"huge"}\n{"version":1,"id":2,"command":"echo","args":{"a":1}}\n', 2);
  assert.deepEqual(r.replies.map((x) => x.ok), [false, true]);
});

test('unread replies over the total of all connections: the connections waiting longest for their client are closed, a reading client is served', async () => {
  const path = sockPath();
  const logs: string[] = [];
  const BIG = 1_000_000;
  const srv = await serve(path, { big: () => 'x'.repeat(BIG) }, { maxBufferedBytes: 1024 * 1024, log: (_l, m) => logs.push(m) });
  // Paused clients never read (and so never see their connection closed: the server's count tells).
  const hogs = Array.from({ length: 3 }, () => {
    const s = createConnection(path);
    s.pause();
    s.on('error', () => undefined);
    s.on('connect', () => s.write('{"version":1,"id":1,"command":"big"}\n'.repeat(10)));
    return s;
  });
  const closing = /control replies waiting to be read exceed 1048576 bytes in all; closing the connection holding \d+ of them unread for \d+ ms/;
  assert.ok(await until(() => logs.filter((l) => closing.test(l)).length >= 2), logs.join('\n'));
  assert.ok(await until(() => srv.connections() <= 1), `${srv.connections()} connections left`);
  for (let i = 0; i < 3; i++) assert.equal(((await controlRequest(path, 'big')) as string).length, BIG);
  for (const s of hogs) s.destroy();
});

test('all connections taken by idle clients: a new client closes the one idle the longest and is served; idle ones time out', async () => {
  const path = sockPath();
  const s = await serve(path, {}, { maxConnections: 3, idleTimeoutMs: 1500 });
  const closedAt: number[] = [];
  const t0 = Date.now();
  const idle = await Promise.all([0, 1, 2].map((i) => new Promise<ReturnType<typeof createConnection>>((resolve) => {
    const c = createConnection(path, () => resolve(c));
    c.on('close', () => { closedAt[i] = Date.now() - t0; });
  })));
  assert.ok(await until(() => s.connections() === 3));
  assert.deepEqual(await controlRequest(path, 'echo', { a: 1 }, { timeoutMs: 1000 }), { a: 1 });
  assert.ok(await until(() => closedAt[0] !== undefined, 1000), 'the first idle connection made room');
  assert.ok(await until(() => closedAt[1] !== undefined && closedAt[2] !== undefined, 10_000), 'the others timed out');
  assert.ok((closedAt[1] as number) >= 1400 && (closedAt[2] as number) >= 1400, JSON.stringify(closedAt));
  for (const c of idle) c.destroy();
});

test('counts the requests received on every socket sharing the counts, refused ones too, but not malformed lines', async () => {
  const counts = { received: 0, dropped: 0 };
  const path = sockPath();
  await serve(path, {}, { counts });
  const ro = await serve(sockPath(), {}, { counts, readOnly: true });
  await controlRequest(path, 'echo', { a: 1 });
  await controlRequest(path, 'echo', { a: 2 });
  await assert.rejects(controlRequest(ro.path, 'echo'), (e: ControlError) => e.code === 'not-permitted');
  await assert.rejects(controlRequest(path, 'no-such'), (e: ControlError) => e.code === 'unknown-command');
  assert.equal((await raw(path, 'not json\n', 1)).replies[0]?.ok, false);
  assert.deepEqual(counts, { received: 4, dropped: 0 });
});
