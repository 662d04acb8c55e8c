import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freeUdpPort, reserveLoopbackBlock, udpPortFree } from './loopback.js';

// A private lock dir and an unusual port: these tests must not disturb, or be
// disturbed by, interop tests reserving real addresses at the same time.
const dir = mkdtempSync(join(tmpdir(), 'ntpkit-loopback-test-'));
let port = 0;

before(async () => {
  process.env.NTPKIT_LOOPBACK_LOCK_DIR = dir;
  port = await freeUdpPort('127.0.0.1');
});
after(() => {
  delete process.env.NTPKIT_LOOPBACK_LOCK_DIR;
  rmSync(dir, { recursive: true, force: true });
});

test('two blocks in one process never share an address; release frees them', async () => {
  const a = await reserveLoopbackBlock('a', 3, { port });
  const b = await reserveLoopbackBlock('b', 3, { port });
  try {
    assert.equal(a.addresses.length, 3);
    assert.equal(new Set([...a.addresses, ...b.addresses]).size, 6);
    for (const addr of [...a.addresses, ...b.addresses]) {
      assert.match(addr, /^127\.0\.\d+\.\d+$/);
      assert.notEqual(addr, '127.0.0.1');
      assert.ok(existsSync(join(dir, `${addr}.lock`)));
    }
  } finally {
    a.release();
    b.release();
  }
  for (const addr of a.addresses) assert.equal(existsSync(join(dir, `${addr}.lock`)), false);
  a.release(); // idempotent
});

test('concurrent reservations from separate processes are disjoint', async () => {
  const harness = new URL('./loopback.js', import.meta.url).href;
  const script = `import { reserveLoopbackBlock } from ${JSON.stringify(harness)};
    const b = await reserveLoopbackBlock('child', 4, { port: ${port} });
    console.log(JSON.stringify(b.addresses));
    // Hold the block until the parent has heard from every child (stdin closes).
    process.stdin.resume();
    process.stdin.on('end', () => b.release());`;
  const children = [0, 1, 2].map(() => spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['pipe', 'pipe', 'inherit'] }));
  const reported = children.map(
    (c) =>
      new Promise<string[]>((resolve, reject) => {
        let out = '';
        c.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          if (out.includes('\n')) resolve(JSON.parse(out) as string[]);
        });
        c.once('exit', (code) => reject(new Error(`child exited ${code} before reporting`)));
      }),
  );
  const mine = await reserveLoopbackBlock('parent', 4, { port });
  try {
    const results = await Promise.all(reported);
    const all = [...mine.addresses, ...results.flat()];
    assert.equal(new Set(all).size, all.length, `overlap in ${JSON.stringify(all)}`);
  } finally {
    mine.release();
    for (const c of children) c.stdin.end();
    await Promise.all(children.map((c) => (c.exitCode === null ? new Promise((r) => c.once('exit', r)) : undefined)));
  }
});

test('a lock left by a dead process is reclaimed', async () => {
  const first = await reserveLoopbackBlock('probe', 1, { port });
  const addr = first.addresses[0] as string;
  first.release();
  // PID 2^22 + 1 is above Linux's pid_max limit, so no process has it.
  writeFileSync(join(dir, `${addr}.lock`), JSON.stringify({ pid: 4194305, name: 'dead', at: new Date().toISOString() }));
  const b = await reserveLoopbackBlock('reclaimer', 1, { port });
  try {
    assert.deepEqual(b.addresses, [addr]);
  } finally {
    b.release();
  }
});

test('an address whose port a foreign process holds is skipped', async () => {
  const probe = await reserveLoopbackBlock('probe', 1, { port });
  const addr = probe.addresses[0] as string;
  probe.release();
  const squatter = dgram.createSocket('udp4');
  await new Promise<void>((r) => squatter.bind(port, addr, r));
  try {
    assert.equal(await udpPortFree(addr, port), false);
    const b = await reserveLoopbackBlock('skipper', 2, { port });
    try {
      assert.ok(!b.addresses.includes(addr), `${addr} is in use but was handed out`);
    } finally {
      b.release();
    }
  } finally {
    squatter.close();
  }
});
