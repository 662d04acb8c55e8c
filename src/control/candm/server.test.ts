import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeRequest, parseReply, REQ, STT } from '../../proto/candm/index.js';
import { createCommandCounts } from '../../core/server/server-stats.js';
import { snapshotOf } from '../../testing/chronyc-csv.js';
import { freeUdpPort } from '../../testing/loopback.js';
import { openUnixDgram } from '../../net/unix-dgram.js';
import { errorReply } from '../protocol.js';
import { startCandmServer } from './server.js';

const SERVER = '127.0.33.8';
const STRANGER = '127.0.33.9';

async function udpClient(address: string): Promise<{ socket: Socket; replies: Buffer[]; next: () => Promise<Buffer> }> {
  const socket = createSocket('udp4');
  const replies: Buffer[] = [];
  const waiters: ((b: Buffer) => void)[] = [];
  socket.on('message', (m) => { const w = waiters.shift(); if (w) w(m); else replies.push(m); });
  await new Promise<void>((r) => socket.bind(0, address, () => r()));
  return {
    socket, replies,
    next: () => new Promise((resolve, reject) => {
      const b = replies.shift();
      if (b) { resolve(b); return; }
      const t = setTimeout(() => reject(new Error('no reply within 5 s')), 5000);
      waiters.push((m) => { clearTimeout(t); resolve(m); });
    }),
  };
}

test("the command endpoints: localhost and cmdallow hosts only, changes only on the Unix socket, chronyd's answers to broken requests, every request counted", async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ntpkit-candm-'));
  const port = await freeUdpPort(SERVER);
  const calls: string[] = [];
  const counts = createCommandCounts();
  const server = await startCandmServer({
    endpoints: { socketPath: join(dir, 'run', 'chronyd.sock'), udpAddresses: [SERVER], port },
    access: [{ allow: true, subnet: '192.0.2.0/24', all: false }],
    context: {
      snapshot: () => snapshotOf({}),
      call: async (name) => { calls.push(name); return name === 'burst' ? { version: 1, id: null, ok: true, result: {} } : errorReply(null, 'unknown-command', 'no'); },
    },
    counts,
    log: (l) => assert.fail(l),
  });
  const send = (s: Socket, b: Uint8Array): void => { s.send(b, port, SERVER); };
  const local = await udpClient('127.0.0.1');
  const stranger = await udpClient(STRANGER);
  try {
    assert.deepEqual(server.listening, [join(dir, 'run', 'chronyd.sock'), `${SERVER}:${port}`]);
    assert.equal((await stat(join(dir, 'run'))).mode & 0o007, 0, 'the directory is closed to others, as chronyd requires');

    // A host that is neither local nor allowed gets nothing; the local request after it is answered.
    send(stranger.socket, encodeRequest(REQ.N_SOURCES, {}, 1));
    send(local.socket, encodeRequest(REQ.N_SOURCES, {}, 2));
    const r = parseReply(await local.next());
    assert.ok(r.ok && r.reply.status === STT.SUCCESS && r.reply.sequence === 2 && r.reply.body.n_sources === 0);

    // Over UDP a change is refused (chronyc: 501 Not authorised) and never reaches the command table.
    send(local.socket, encodeRequest(REQ.BURST, { n_good_samples: 2, n_total_samples: 4 }, 3));
    const refused = parseReply(await local.next());
    assert.ok(refused.ok && refused.reply.status === STT.UNAUTH);
    assert.deepEqual(calls, []);

    // Broken requests: chronyd's status replies, never longer than the request; too short for a reply: silence.
    const v5 = encodeRequest(REQ.TRACKING, {}, 4); v5[0] = 5;
    send(local.socket, v5);
    const bad = await local.next();
    assert.equal(bad.length, 28);
    assert.equal(parseReply(bad).ok && (parseReply(bad) as { reply: { status: number } }).reply.status, STT.BADPKTVERSION);
    send(local.socket, encodeRequest(REQ.TRACKING, {}, 5).subarray(0, 27));
    send(local.socket, encodeRequest(REQ.TRACKING, {}, 6).subarray(0, 60));
    const short = parseReply(await local.next());
    assert.ok(short.ok && short.reply.sequence === 6 && short.reply.status === STT.BADPKTLENGTH, 'the 27-byte request got no reply');

    // The Unix socket serves changes, replying to the client's own path.
    const got: Buffer[] = [];
    const client = openUnixDgram(join(dir, 'run', 'chronyc.1.sock'), (d) => { got.push(d); });
    try {
      assert.equal(client.send(encodeRequest(REQ.BURST, { n_good_samples: 2, n_total_samples: 4 }, 7), join(dir, 'run', 'chronyd.sock')), 0);
      for (const deadline = Date.now() + 5000; got.length === 0; await new Promise((res) => setTimeout(res, 20))) {
        if (Date.now() > deadline) assert.fail('no reply on the Unix socket');
      }
      const u = parseReply(got[0] as Buffer);
      assert.ok(u.ok && u.reply.status === STT.SUCCESS && u.reply.sequence === 7);
      assert.deepEqual(calls, ['burst']);
      // serverstats (Unix socket only) of a daemon that serves no NTP clients still counts the command packets, as chronyd's.
      assert.equal(client.send(encodeRequest(REQ.SERVER_STATS, {}, 8), join(dir, 'run', 'chronyd.sock')), 0);
      for (const deadline = Date.now() + 5000; got.length < 2; await new Promise((res) => setTimeout(res, 20))) {
        if (Date.now() > deadline) assert.fail('no serverstats reply on the Unix socket');
      }
      const stats = parseReply(got[1] as Buffer);
      assert.ok(stats.ok && stats.reply.status === STT.SUCCESS);
      assert.equal(stats.reply.body.cmd_hits, 6);
    } finally {
      client.close();
    }
    assert.equal(stranger.replies.length, 0, 'the stranger never got an answer');
    // Counted: every request that reached the checks (not the stranger's, not the 27-byte one).
    assert.equal(counts.received, 6);
  } finally {
    local.socket.close();
    stranger.socket.close();
    await server.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test("a command socket another process still reads (a chronyd) is left to it: logged, not replaced", async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ntpkit-candm-live-'));
  const path = join(dir, 'chronyd.sock');
  const got: Buffer[] = [];
  const owner = openUnixDgram(path, (d) => { got.push(d); });
  const logs: string[] = [];
  const server = await startCandmServer({
    endpoints: { socketPath: path, udpAddresses: [], port: 0 },
    access: [],
    context: { snapshot: () => snapshotOf({}), call: async () => errorReply(null, 'unknown-command', 'no') },
    log: (l) => logs.push(l),
  });
  try {
    assert.deepEqual(server.listening, []);
    assert.match(logs.join('\n'), /Could not open chronyc's command socket .*chronyd\.sock: .*EADDRINUSE|Address already in use/);
    // The owner still receives what is sent to its path.
    const sender = openUnixDgram(join(dir, 'client.sock'), () => {});
    assert.equal(sender.send(new Uint8Array([1, 2, 3]), path), 0);
    for (const deadline = Date.now() + 5000; got.length === 0; await new Promise((r) => setTimeout(r, 20))) {
      if (Date.now() > deadline) assert.fail('the first owner lost its socket');
    }
    sender.close();
  } finally {
    await server.close();
    owner.close();
    await rm(dir, { recursive: true, force: true });
  }
});
