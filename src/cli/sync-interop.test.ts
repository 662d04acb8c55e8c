/**
 * `ntpkit sync --dry-run` end to end against real chronyd servers on
 * loopback. All processes share one clock, so the true offset is 0: the
 * honest majority must say about 0, and the chronyd under faketime +2.5 s
 * must be named and left out. --dry-run never touches the clock, here or
 * anywhere; the real clock changes run in sync-uml.test.ts.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { type ChronydServer, freeUdpPort, interopSkip, startChronydServer } from '../testing/index.js';
import { assertOffsetNear } from '../testing/bounds.js';
import { ExitCode } from './exit-codes.js';
import { run } from './main.js';

const skip = interopSkip('chronyd', 'libfaketime');
const BIN = fileURLToPath(new URL('../../bin/ntpkit.js', import.meta.url));
const FAST = ['-n', '4', '-i', '0.05', '-t', '3'];

interface SyncJson {
  ok: boolean; action?: string; offset?: number; changed?: boolean; reason?: string; error?: string;
  falsetickers: string[]; agree: string[]; unusable: string[]; warnings: string[];
  servers: { server: string; ok: boolean; offset: number | null; delay: number | null; error: { code: string } | null }[];
}

/**
 * Per server, the least round trip among the samples sync printed on stderr:
 * the sample its estimate goes by, whose offset is the truth (0, or +2.5 s
 * for the faked one) within half of it. Printed to the microsecond.
 */
function bestDelays(stderr: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const m of stderr.matchAll(/^(\S+): offset [+-]\d+\.\d+ s, delay (\d+\.\d+) s \(\d+\/\d+\)$/gm)) {
    const d = Number(m[2]) + 1e-6;
    out.set(m[1] as string, Math.min(out.get(m[1] as string) ?? Infinity, d));
  }
  return out;
}

async function sync(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await run(['sync', '--dry-run', ...FAST, ...args], { out: (t) => { out += `${t}\n`; }, err: (t) => { err += `${t}\n`; }, setExitCode: () => {} });
  return { code, out, err };
}

describe('ntpkit sync --dry-run against chronyd', { skip }, () => {
  const servers: ChronydServer[] = [];
  let honest: ChronydServer[] = [];
  let ahead: ChronydServer;
  let behind: ChronydServer;

  before(async () => {
    const started = await Promise.allSettled([
      startChronydServer(), startChronydServer(), startChronydServer(),
      startChronydServer({ fakeOffsetSeconds: 2.5 }), startChronydServer({ fakeOffsetSeconds: -3 }),
    ]);
    for (const s of started) if (s.status === 'fulfilled') servers.push(s.value);
    const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) throw failed.reason;
    honest = servers.slice(0, 3);
    ahead = servers[3] as ChronydServer;
    behind = servers[4] as ChronydServer;
  });

  after(async () => {
    await Promise.all(servers.map((s) => s.stop()));
  });

  test('3 chronyd + 1 under faketime +2.5 s, run as the installed binary without the native addon: the liar is named, the offset is about 0', async () => {
    const args = [BIN, 'sync', '--dry-run', ...FAST, ...[...honest, ahead].map((s) => s.address)];
    const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = execFile(process.execPath, args, { timeout: 20_000, env: { ...process.env, NTPKIT_NATIVE: 'off' } }, (_e, stdout, stderr) => resolve({ code: child.exitCode, stdout, stderr }));
    });
    assert.equal(code, ExitCode.OK, stderr);
    // Progress, per server as replies come, on stderr.
    for (const s of [...honest, ahead]) assert.match(stderr, new RegExp(`^${s.address.replaceAll('.', '\\.')}: offset [+-]\\d\\.\\d{6} s, delay \\d\\.\\d{6} s \\(4/4\\)$`, 'm'));
    // faketime's +2.5 s reads a few microseconds either side of it (e.g. +2.499988 s): within half the round trip.
    const delays = bestDelays(stderr);
    const liar = new RegExp(`^${ahead.address.replaceAll('.', '\\.')}: falseticker \\(offset \\+(\\d+\\.\\d+) s`, 'm').exec(stderr);
    assert.ok(liar !== null, stderr);
    assertOffsetNear(Number(liar[1]), 2.5, delays.get(ahead.address) ?? NaN, `the faked server (${stderr})`, { extra: 1e-6 });
    const m = /^Dry run: would slew the system clock by ([+-]\d\.\d{6}) s \(kernel adjtime, about [\d.]+ s at 500 ppm\)/m.exec(stdout);
    assert.ok(m, stdout);
    // The honest servers' offsets combined: within the largest of their bounds.
    assertOffsetNear(Number(m[1]), 0, Math.max(...honest.map((s) => delays.get(s.address) ?? NaN)), `the slew (${stderr})`, { extra: 1e-6 });
    assert.doesNotMatch(stderr, /warning/);
  });

  test('--json: the falseticker and the agreeing servers, nothing changed', async () => {
    const r = await sync(['--json', ...[...honest, ahead].map((s) => s.address)]);
    assert.equal(r.code, ExitCode.OK, r.err);
    const doc = JSON.parse(r.out) as SyncJson;
    assert.equal(doc.ok, true);
    assert.equal(doc.changed, false);
    assert.deepEqual(doc.falsetickers, [ahead.address]);
    assert.deepEqual([...doc.agree].sort(), honest.map((s) => s.address).sort());
    const agreeing = doc.servers.filter((s) => doc.agree.includes(s.server));
    assertOffsetNear(doc.offset as number, 0, Math.max(...agreeing.map((s) => s.delay ?? NaN)), 'the combined offset');
    const liar = doc.servers.find((s) => s.server === ahead.address);
    assert.ok(liar, r.out);
    assertOffsetNear(liar.offset ?? NaN, 2.5, liar.delay ?? NaN, 'the faked server');
  });

  test('2 servers: a warning that says why, and still a result', async () => {
    const r = await sync(honest.slice(0, 2).map((s) => s.address));
    assert.equal(r.code, ExitCode.OK, r.err);
    assert.match(r.err, /warning: only 2 usable sources: with two, a liar cannot be told from the truth/);
    assert.match(r.out, /^Dry run: would slew/m);
  });

  test('2 liars that disagree against 1 honest server: no majority, refused, every server named', async () => {
    const r = await sync([honest[0], ahead, behind].map((s) => (s as ChronydServer).address));
    assert.equal(r.code, ExitCode.GENERAL_FAILURE, r.out + r.err);
    assert.match(r.err, /No majority/);
    for (const s of [honest[0], ahead, behind]) assert.ok(r.err.includes((s as ChronydServer).address), r.err);
    assert.match(r.err, /the clock was not changed/);
    assert.doesNotMatch(r.out, /would/);
  });

  test('an unreachable server is reported and left out; the rest decide', async () => {
    const dead = `127.0.0.1:${await freeUdpPort('127.0.0.1')}`;
    const r = await sync(['--json', ...honest.map((s) => s.address), dead]);
    assert.equal(r.code, ExitCode.OK, r.err);
    const doc = JSON.parse(r.out) as SyncJson;
    assert.deepEqual(doc.unusable, [dead]);
    assert.ok(['unreachable', 'timeout'].includes(doc.servers.find((s) => s.server === dead)?.error?.code ?? ''), r.out);
    const text = await sync([...honest.map((s) => s.address), dead]);
    assert.match(text.err, new RegExp(`^${dead.replaceAll('.', '\\.')}: unusable: `, 'm'));
  });
});
