#!/usr/bin/env node
// bench/query-accuracy: how far from the truth is a one-shot query's offset?
//
// One chronyd 4.3 (`-x`, `local stratum 1`) serves on its own 127.0.0.x:123.
// Every process shares the machine's clock, so the true offset is 0 and every
// reported offset is pure error. Each round runs, as separate processes and in
// rotating order:
//   ntpdig ADDR                       (NTPsec 1.2.2, Debian's ntpsec-ntpdate)
//   chronyd -Q 'server ADDR iburst'   (chronyd's query-only mode; prints 1 us resolution)
//   ntpkit query -n 1 ADDR            (a single sample, like ntpdig)
//   ntpkit query ADDR -i 0.05         (default 4 samples, minimum-delay filter)
// and the table gives median and p99 of |offset| per tool, then the 100 us
// target (met or missed) that the interop test leaves to this benchmark.
//
// Usage: npm run build && node bench/query-accuracy/run.mjs [--rounds N]
// Needs root (port 123) and Debian's chrony and ntpsec-ntpdate.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { runNtpdig, startChronydServer, toolPath } from '../../dist/testing/index.js';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '100' } } });
const rounds = Number(values.rounds);
const BIN = fileURLToPath(new URL('../../bin/ntpkit.js', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'ntpkit-bench-query-'));

function ntpkit(addr, extra) {
  const r = spawnSync(process.execPath, [BIN, 'query', '--json', '--timeout', '3', ...extra, addr], { encoding: 'utf8', timeout: 10_000 });
  const s = JSON.parse(r.stdout).servers[0];
  if (!s.ok) throw new Error(`ntpkit query failed: ${JSON.stringify(s.error)}`);
  return s.offset;
}

function chronydQ(addr) {
  const r = spawnSync(toolPath('chronyd'), ['-Q', '-t', '5', '-f', '/dev/null', `server ${addr} iburst maxsamples 1`, `pidfile ${join(tmp, 'q.pid')}`, 'cmdport 0'],
    { encoding: 'utf8', timeout: 10_000 });
  const m = /System clock wrong by (-?[0-9.]+) seconds/.exec(r.stderr);
  if (!m) throw new Error(`chronyd -Q gave no offset: ${r.stderr}`);
  // "System clock wrong by X": X has the same sign as the others' offsets
  // (checked against a chronyd under faketime +2.5 s: chronyd -Q printed +2.500017).
  return Number(m[1]);
}

async function ntpdig(addr) {
  const r = await runNtpdig({ server: addr });
  if (!r.ok || r.offset === undefined) throw new Error(`ntpdig failed: ${r.stderr}`);
  return r.offset;
}

function quantile(sorted, q) {
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i];
}

const server = await startChronydServer();
const tools = [
  ['ntpdig (NTPsec 1.2.2)', (a) => ntpdig(a)],
  ['chronyd -Q (chrony 4.3)', (a) => chronydQ(a)],
  ['ntpkit query -n 1', (a) => ntpkit(a, ['-n', '1'])],
  ['ntpkit query (4 samples)', (a) => ntpkit(a, ['-i', '0.05'])],
];
const results = new Map(tools.map(([name]) => [name, []]));
try {
  for (let r = 0; r < rounds; r++) {
    for (let k = 0; k < tools.length; k++) {
      const [name, fn] = tools[(r + k) % tools.length];
      results.get(name).push(await fn(server.address));
    }
  }
} finally {
  await server.stop();
  rmSync(tmp, { recursive: true, force: true });
}

const us = (s) => `${(s * 1e6).toFixed(1)}`.padStart(9);
console.log(`query accuracy against chronyd 4.3 (local stratum 1) on ${server.address}:123, ${rounds} rounds, same machine and clock`);
console.log(`${'tool'.padEnd(26)} ${'median |off| us'.padStart(16)} ${'p99 |off| us'.padStart(13)} ${'mean us'.padStart(9)} ${'max |off| us'.padStart(13)}`);
for (const [name] of tools) {
  const v = results.get(name);
  const abs = v.map(Math.abs).sort((a, b) => a - b);
  const mean = v.reduce((a, b) => a + b, 0) / v.length;
  console.log(`${name.padEnd(26)} ${us(quantile(abs, 0.5)).padStart(16)} ${us(quantile(abs, 0.99)).padStart(13)} ${us(mean)} ${us(abs.at(-1)).padStart(13)}`);
}
// The accuracy `ntpkit query` is held to (the interop test holds each offset only to half its round trip,
// which is true on any machine, however busy): within 100 us of a chronyd on the same clock.
const worst = (name) => Math.max(...results.get(name).map(Math.abs));
console.log(`Target: |offset| < 100 us: ${['ntpkit query -n 1', 'ntpkit query (4 samples)'].map((n) => `${n} max ${us(worst(n)).trim()} us, ${worst(n) < 100e-6 ? 'met' : 'MISSED'}`).join('; ')}`
  + ` (chronyd -Q max ${us(worst('chronyd -Q (chrony 4.3)')).trim()} us)`);
