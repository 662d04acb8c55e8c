/**
 * `ntpkit server`'s access list: --allow/--deny flags and allow/deny lines in
 * a file must serve exactly the same clients. One table of rule lists, each
 * run both ways through the real command (commander's parsing included),
 * probed from an address inside 127.0.12.0/24, one outside it and ::1. With
 * --deny-kod a denied client gets a DENY kiss-o'-death at once, so every
 * probe has an answer to judge.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freeUdpPort, probeNtp, udpPortFree } from '../testing/index.js';
import { serverCommand } from './server-command.js';

const SERVER_V4 = '127.0.12.1';
const SERVER_V6 = '::1';
const INSIDE = '127.0.12.10';
const OUTSIDE = '127.9.12.10';

type Rule = readonly ['allow' | 'deny', string | null];
interface Case {
  readonly name: string;
  readonly rules: readonly Rule[];
  /** Served: [INSIDE, OUTSIDE, ::1]. */
  readonly served: readonly [boolean, boolean, boolean];
}

const CASES: readonly Case[] = [
  { name: 'no rule: no one', rules: [], served: [false, false, false] },
  { name: 'bare allow: everyone, both families', rules: [['allow', null]], served: [true, true, true] },
  { name: 'bare deny: no one', rules: [['deny', null]], served: [false, false, false] },
  { name: 'bare allow, then bare deny: the later wins', rules: [['allow', null], ['deny', null]], served: [false, false, false] },
  { name: 'bare deny, then bare allow: the later wins', rules: [['deny', null], ['allow', null]], served: [true, true, true] },
  { name: 'a subnet', rules: [['allow', '127.0.12.0/24']], served: [true, false, false] },
  { name: 'a shortened IPv4 network', rules: [['allow', '127.0.12']], served: [true, false, false] },
  { name: 'a subnet, then bare deny: the subnet is more specific', rules: [['allow', '127.0.12.0/24'], ['deny', null]], served: [true, false, false] },
  { name: 'allow 0.0.0.0/0, then bare deny: same level, the later wins', rules: [['allow', '0.0.0.0/0'], ['deny', null]], served: [false, false, false] },
  { name: 'bare deny, then allow 0.0.0.0/0: IPv4 only', rules: [['deny', null], ['allow', '0.0.0.0/0']], served: [true, true, false] },
  { name: 'bare allow, then deny a subnet', rules: [['allow', null], ['deny', '127.0.12.0/24']], served: [false, true, true] },
  { name: 'deny a subnet, then bare allow: specificity, not order', rules: [['deny', '127.0.12.0/24'], ['allow', null]], served: [false, true, true] },
  { name: 'allow ::/0: IPv6 only', rules: [['allow', '::/0']], served: [false, false, true] },
  { name: 'bare allow, then deny ::1', rules: [['allow', null], ['deny', '::1']], served: [true, true, false] },
  { name: 'allow all erases an earlier deny inside it', rules: [['allow', '127.0.0.0/8'], ['deny', '127.0.12.0/24'], ['allow', 'all 127.0.0.0/8']], served: [true, true, false] },
  { name: 'deny all erases an earlier allow inside it', rules: [['allow', '127.0.12.10'], ['deny', 'all 127.0.0.0/8']], served: [false, false, false] },
];

function flagsOf(rules: readonly Rule[]): string[] {
  return rules.flatMap(([d, v]) => (v === null ? [`--${d}`] : [`--${d}`, v]));
}

function linesOf(rules: readonly Rule[]): string {
  return rules.map(([d, v]) => (v === null ? d : `${d} ${v}`)).join('\n');
}

/** A port free on both server addresses. */
async function sharedPort(): Promise<number> {
  for (let i = 0; i < 20; i++) {
    const port = await freeUdpPort(SERVER_V4);
    if (await udpPortFree(SERVER_V6, port)) return port;
  }
  throw new Error('no UDP port free on both 127.0.12.1 and ::1');
}

/** Runs `ntpkit server ARGS` in-process and returns, per probe source, whether it was served (true) or denied (false). */
async function served(args: readonly string[], port: number): Promise<boolean[]> {
  const err: string[] = [];
  let release: () => void = () => {};
  const stopped = new Promise<void>((r) => { release = r; });
  const run = serverCommand({ out: () => {}, err: (l) => err.push(l), setExitCode: (c) => err.push(`exit ${c}`) }, () => stopped)
    .parseAsync(['node', 'server', '--bindaddress', SERVER_V4, '--bindaddress', SERVER_V6, '--port', String(port), '--local-stratum', '1', '--deny-kod', ...args]);
  try {
    for (let i = 0; i < 200 && !err.some((l) => l.includes('serving') || l.startsWith('exit')); i++) await new Promise((r) => setTimeout(r, 25));
    assert.ok(err.some((l) => l.includes('serving')), `${args.join(' ')}: not serving\n${err.join('\n')}`);
    const probes: [string, string][] = [[SERVER_V4, INSIDE], [SERVER_V4, OUTSIDE], [SERVER_V6, SERVER_V6]];
    const verdicts: boolean[] = [];
    for (const [server, source] of probes) {
      const r = await probeNtp(server, port, { sourceAddress: source, timeoutMs: 3000 });
      const denied = r.header.stratum === 0 && r.header.referenceIdText === 'DENY';
      assert.ok(denied || r.header.stratum === 1, `${source}: neither served nor denied: ${JSON.stringify(r.header, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v))}`);
      verdicts.push(!denied);
    }
    return verdicts;
  } finally {
    release();
    await run;
  }
}

test('--allow/--deny flags and allow/deny lines in a file serve the same clients, as chrony\'s rules say', { timeout: 120_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ntpkit-server-access-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const port = await sharedPort();
  for (const c of CASES) {
    const conf = join(dir, 'server.conf');
    await writeFile(conf, `${linesOf(c.rules)}\n`);
    const fromFile = await served(['-f', conf], port);
    const fromFlags = await served(flagsOf(c.rules), port);
    assert.deepEqual(fromFile, c.served, `${c.name}: the file (${JSON.stringify(linesOf(c.rules))})`);
    assert.deepEqual(fromFlags, c.served, `${c.name}: the flags (${flagsOf(c.rules).join(' ')})`);
  }
});

test('an empty --allow or --deny value is refused, not read as every address', async () => {
  for (const flag of ['--allow', '--deny']) {
    const err: string[] = [];
    const cmd = serverCommand({ out: () => {}, err: (l) => err.push(l), setExitCode: () => {} }, () => Promise.resolve())
      .exitOverride().configureOutput({ writeErr: (s) => err.push(s) });
    await assert.rejects(cmd.parseAsync(['node', 'server', flag, ' ', '--port', '1']), /give a subnet, or no value at all/);
    assert.match(err.join(''), /give a subnet/);
  }
});
