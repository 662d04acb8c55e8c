/**
 * chrony's binddevice and bindacqdevice on the real daemon, in two network
 * namespaces of this test's own joined by two veth pairs (A and B), so a
 * datagram has two ways between them and which one it took can be told:
 *
 *   client ns   nk31ca 10.31.1.2 ── nk31sa 10.31.1.1   server ns
 *               nk31cb 10.31.2.2 ── nk31sb 10.31.2.1   (+ 10.31.9.1 on lo)
 *
 * The client reaches 10.31.9.1 through A (metric 10) or B (metric 20); IPv6
 * is off in both, so nothing but the test's own traffic crosses the links.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fetchSnapshot } from '../control/commands.js';
import { findTool, type ManagedProcess, pollFor, requireTool, runToCompletion, spawnManaged, spawnNtpkit } from '../testing/index.js';

const NS_SERVER = `nk31s${process.pid}`;
const NS_CLIENT = `nk31c${process.pid}`;
const ANYCAST = '10.31.9.1';
/** ip(8): /usr/sbin is not on every PATH a test runs with. */
const IP = existsSync('/usr/sbin/ip') ? '/usr/sbin/ip' : 'ip';

async function ip(args: readonly string[]): Promise<string> {
  const r = await runToCompletion(IP, args, { timeoutMs: 10_000 });
  if (r.status.code !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr.trim()}`);
  return r.stdout;
}

async function inNs(ns: string, ...args: string[]): Promise<void> {
  await ip(['netns', 'exec', ns, ...args]);
}

async function makeNamespaces(): Promise<void> {
  for (const ns of [NS_SERVER, NS_CLIENT]) {
    await ip(['netns', 'add', ns]);
    await inNs(ns, 'sysctl', '-q', '-w', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1');
    await inNs(ns, 'ip', 'link', 'set', 'lo', 'up');
  }
  for (const [side, net] of [['a', 1], ['b', 2]] as const) {
    await ip(['link', 'add', `nk31c${side}`, 'netns', NS_CLIENT, 'type', 'veth', 'peer', 'name', `nk31s${side}`, 'netns', NS_SERVER]);
    await inNs(NS_CLIENT, 'ip', 'addr', 'add', `10.31.${net}.2/24`, 'dev', `nk31c${side}`);
    await inNs(NS_SERVER, 'ip', 'addr', 'add', `10.31.${net}.1/24`, 'dev', `nk31s${side}`);
    await inNs(NS_CLIENT, 'ip', 'link', 'set', `nk31c${side}`, 'up');
    await inNs(NS_SERVER, 'ip', 'link', 'set', `nk31s${side}`, 'up');
    await inNs(NS_CLIENT, 'ip', 'route', 'add', `${ANYCAST}/32`, 'via', `10.31.${net}.1`, 'dev', `nk31c${side}`, 'metric', String(net * 10));
  }
  await inNs(NS_SERVER, 'ip', 'addr', 'add', `${ANYCAST}/32`, 'dev', 'lo');
}

async function deleteNamespaces(): Promise<void> {
  for (const ns of [NS_SERVER, NS_CLIENT]) await ip(['netns', 'del', ns]).catch(() => undefined);
}

/** Packets an interface of the client namespace has sent. */
async function txPackets(iface: string): Promise<number> {
  const r = await runToCompletion(IP, ['netns', 'exec', NS_CLIENT, 'cat', `/sys/class/net/${iface}/statistics/tx_packets`], { timeoutMs: 10_000 });
  return Number(r.stdout.trim());
}

/** `ntpkit daemon` of this build tree inside `ns` (ip netns exec execs it, so the PID is the daemon's). */
function daemonIn(ns: string, conf: string): Promise<ManagedProcess> {
  const main = new URL('../cli/main.js', import.meta.url).href;
  const code = `import { run } from ${JSON.stringify(main)}; process.exitCode = await run(process.argv.slice(1));`;
  return spawnManaged(IP, ['netns', 'exec', ns, process.execPath, '--input-type=module', '-e', code, 'daemon', '-f', conf, '--clock', 'virtual', '--http', 'off']);
}

async function started(d: ManagedProcess): Promise<void> {
  await pollFor('the daemon to start', () => (/Started with/.test(d.logs()) ? true : d.exitStatus() !== undefined ? false : undefined), 30_000, () => d.logs());
  assert.equal(d.exitStatus(), undefined, d.logs());
}

/** Whether ntpdig, in the client namespace, gets an answer from `address`. */
async function answers(address: string): Promise<boolean> {
  const r = await runToCompletion(IP, ['netns', 'exec', NS_CLIENT, findTool('ntpdig') as string, '-t', '1', address], { timeoutMs: 15_000 });
  return r.status.code === 0;
}

function usable(t: TestContext): boolean {
  if (process.geteuid?.() !== 0) { t.skip('network namespaces need root'); return false; }
  return requireTool(t, 'ntpdig');
}

async function withSetup(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'ntpkit-h15b-'));
  await chmod(dir, 0o755);
  try {
    await makeNamespaces();
    await fn(dir);
  } finally {
    await deleteNamespaces();
    await rm(dir, { recursive: true, force: true });
  }
}

test('binddevice: the server answers requests that arrive through its device and not those through the other; without it, both', { timeout: 120_000 }, async (t) => {
  if (!usable(t)) return;
  await withSetup(async (dir) => {
    for (const device of [null, 'nk31sa']) {
      const conf = join(dir, `server-${device ?? 'any'}.conf`);
      await writeFile(conf, ['local stratum 10', 'allow all', 'controlsocket /', 'bindcmdaddress /', 'cmdport 0', ...(device === null ? [] : [`binddevice ${device}`]), ''].join('\n'));
      const d = await daemonIn(NS_SERVER, conf);
      try {
        await started(d);
        assert.equal(await answers('10.31.1.1'), true, `through A (${device ?? 'no binddevice'})\n${d.logs()}`);
        assert.equal(await answers('10.31.2.1'), device === null, `through B (${device ?? 'no binddevice'})\n${d.logs()}`);
      } finally {
        await d.stop();
      }
    }
  });
});

test('bindacqdevice: the client\'s requests leave only through its device, against the route; without it, by the route', { timeout: 120_000 }, async (t) => {
  if (!usable(t)) return;
  await withSetup(async (dir) => {
    const serverConf = join(dir, 'server.conf');
    // Bound to that address, so replies come from the address asked (not the interface's).
    await writeFile(serverConf, `local stratum 10\nallow all\ncontrolsocket /\nbindcmdaddress /\ncmdport 0\nbindaddress ${ANYCAST}\n`);
    const server = await daemonIn(NS_SERVER, serverConf);
    try {
      await started(server);
      for (const device of [null, 'nk31cb']) {
        const socket = join(dir, `client-${device ?? 'any'}.sock`);
        const conf = join(dir, `client-${device ?? 'any'}.conf`);
        await writeFile(conf, [`server ${ANYCAST} iburst minpoll 0 maxpoll 0`, `controlsocket ${socket}`, 'bindcmdaddress /', 'cmdport 0', ...(device === null ? [] : [`bindacqdevice ${device}`]), ''].join('\n'));
        const before = { a: await txPackets('nk31ca'), b: await txPackets('nk31cb') };
        const d = await daemonIn(NS_CLIENT, conf);
        try {
          await started(d);
          // Replies came back: the requests went out and reached the server.
          await pollFor('replies from the server', async () => {
            const snap = await fetchSnapshot(socket).catch(() => null);
            return (snap?.sources[0]?.reach ?? 0) >= 3 ? true : undefined;
          }, 60_000, () => d.logs());
        } finally {
          await d.stop();
        }
        const sent = { a: await txPackets('nk31ca') - before.a, b: await txPackets('nk31cb') - before.b };
        if (device === null) {
          assert.ok(sent.a >= 3, `by the route (A, metric 10): ${JSON.stringify(sent)}`);
        } else {
          assert.equal(sent.a, 0, `nothing through A: ${JSON.stringify(sent)}`);
          assert.ok(sent.b >= 3, `through B: ${JSON.stringify(sent)}`);
        }
      }
    } finally {
      await server.stop();
    }
  });
});

test('binddevice, bindacqdevice: an interface this machine does not have stops the start at its line', { timeout: 60_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ntpkit-h15b-'));
  try {
    for (const directive of ['binddevice', 'bindacqdevice']) {
      const conf = join(dir, `${directive}.conf`);
      await writeFile(conf, `local stratum 10\ncontrolsocket /\nbindcmdaddress /\ncmdport 0\n${directive} nk31nosuch\n`);
      const d = await spawnNtpkit(['daemon', '-f', conf, '--clock', 'virtual', '--http', 'off']);
      try {
        const status = await pollFor('the daemon to exit', () => d.exitStatus(), 30_000, () => d.logs());
        assert.notEqual(status.code, 0, d.logs());
        assert.match(d.logs(), new RegExp(`${conf.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:5: ${directive} nk31nosuch: no such interface on this machine`));
        assert.doesNotMatch(d.logs(), /Started with|Serving NTP/);
      } finally {
        await d.stop();
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
