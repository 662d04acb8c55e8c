import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Config } from '../config/config.js';
import { parseConfigText } from '../config/parse-config.js';
import { ExitCode } from './exit-codes.js';
import { run } from './main.js';
import { describeConfig } from './validate-command.js';

let dir: string;
before(() => { dir = mkdtempSync(join(tmpdir(), 'ntpkit-validate-')); });
after(() => rmSync(dir, { recursive: true, force: true }));

async function validate(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await run(['validate', ...args], { out: (t) => { out += `${t}\n`; }, err: (t) => { err += `${t}\n`; }, setExitCode: () => {} });
  return { code, out, err };
}

function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

test('a valid chrony.conf: warnings, then one line per source and the discipline; exit 0', async () => {
  const p = file('chrony.conf', `server ntp.cloud.aliyuncs.com minpoll 4 maxpoll 10 iburst\npool pool.example.org maxsources 2 xleave\ndriftfile ${dir}/drift\nmakestep 1.0 3\nhwtstimeout 0.001\nallow 127.0.0.1\ncontrolsocket ${dir}/ntpkit.sock\n`);
  const r = await validate(['-f', p]);
  assert.equal(r.code, ExitCode.OK);
  assert.equal(r.err, '');
  const lines = r.out.split('\n');
  assert.deepEqual(lines.slice(0, 2), ['Warnings (1):', `  ${p}:5: hwtstimeout: not implemented by ntpkit (it times out hardware transmit stamps, which ntpkit never gets: hardware timestamping always falls back to kernel stamps here), ignored`]);
  assert.ok(lines.includes(`  server ntp.cloud.aliyuncs.com minpoll 4 maxpoll 10 iburst       # ${p}:1`), r.out);
  assert.ok(lines.includes(`  pool pool.example.org minpoll 6 maxpoll 10 xleave maxsources 2  # ${p}:2`), r.out);
  for (const l of ['  makestep 1 3', '  maxslewrate 83333.333', `  driftfile ${dir}/drift`, 'NTP server: port 123 on every address', `  allow 127.0.0.1  # ${p}:6`]) {
    assert.ok(lines.includes(l), `missing "${l}" in\n${r.out}`);
  }
  assert.equal(lines.at(-2), `${p}: valid (1 warning)`);
});

test('--directives: every directive of the format with its standing, from the registry; -f is needed otherwise', async () => {
  const r = await validate(['--directives']);
  assert.equal(r.code, ExitCode.OK);
  const lines = r.out.trimEnd().split('\n');
  assert.match(lines[0] ?? '', /^chrony\.conf directives \((\d+)\): \d+ implemented, \d+ accepted with a warning, \d+ refused \(the daemon does not start\)$/);
  assert.ok(lines.some((l) => /^ {2}makestep +implemented$/.test(l)), r.out);
  assert.ok(lines.some((l) => /^ {2}tempcomp +refused +temperature compensation is not implemented$/.test(l)), r.out);
  assert.ok(lines.some((l) => /^ {2}dumponexit +warning +dumponexit: this directive is no longer supported by chronyd, ignored$/.test(l)), r.out);
  const json = JSON.parse((await validate(['--directives', '--format', 'ntp', '--json'])).out) as { schema: string; format: string; directives: { name: string; status: string }[] };
  assert.equal(json.schema, 'ntpkit.directives/1');
  assert.equal(json.format, 'ntp');
  assert.ok(json.directives.some((d) => d.name === 'restrict' && d.status === 'implemented'));
  const none = await validate([]);
  assert.equal(none.code, ExitCode.USAGE);
  assert.match(none.err, /-f FILE is required/);
});

test('errors: each as file:line: message, no sources, a nonzero exit', async () => {
  const p = file('bad.conf', 'server a.example.org\nfrobnicate 1\nmakestep 1\n');
  const r = await validate(['-f', p]);
  assert.equal(r.code, ExitCode.GENERAL_FAILURE);
  assert.deepEqual(r.out.trimEnd().split('\n'), [
    'Errors (2):',
    `  ${p}:2: unknown directive "frobnicate"`,
    `  ${p}:3: makestep: expected a threshold in seconds and a limit of updates (an integer, negative for no limit), got "1"`,
    '',
    `${p}: invalid: 2 errors; the daemon would not start`,
  ]);
  const missing = await validate(['-f', join(dir, 'missing.conf')]);
  assert.equal(missing.code, ExitCode.GENERAL_FAILURE);
  assert.match(missing.out, /missing\.conf: cannot read: ENOENT/);
});

test('--format and --json', async () => {
  const p = file('servers.cfg', 'server a.example.org iburst true\nrestrict default noserve\nrestrict 10.0.0.0 mask 255.0.0.0\n');
  const r = await validate(['-f', p, '--json']);
  assert.equal(r.code, ExitCode.OK);
  const doc = JSON.parse(r.out) as { schema: string; valid: boolean; config: { format: string; sources: { text: string; line: number }[]; server: { access: { allow: boolean; subnet: string | null }[] } } };
  assert.equal(doc.schema, 'ntpkit.validate/1');
  assert.equal(doc.valid, true);
  assert.equal(doc.config.format, 'ntp');
  assert.deepEqual(doc.config.sources.map((s) => [s.text, s.line]), [['server a.example.org minpoll 6 maxpoll 10 iburst trust', 1]]);
  assert.deepEqual(doc.config.server.access.map((a) => [a.allow, a.subnet]), [[true, null], [false, null], [true, '10.0.0.0/8']]);

  // Forced to chrony.conf, the same file has errors.
  const asChrony = await validate(['-f', p, '--format', 'chrony', '--json']);
  assert.equal(asChrony.code, ExitCode.GENERAL_FAILURE);
  const bad = JSON.parse(asChrony.out) as { valid: boolean; config: null; errors: { line: number; message: string }[] };
  assert.equal(bad.valid, false);
  assert.equal(bad.config, null);
  assert.deepEqual(bad.errors.map((e) => e.line), [1, 2, 3]);

  assert.equal((await validate(['-f', p, '--format', 'yaml'])).code, ExitCode.USAGE);
  assert.equal((await validate([])).code, ExitCode.USAGE);
});

test('no source, or a single one: valid (exit 0), with the warning the daemon logs too', async () => {
  const none = await validate(['-f', file('none.conf', `controlsocket ${dir}/ntpkit.sock\n`)]);
  assert.equal(none.code, ExitCode.OK);
  assert.match(none.out, /^Warnings \(1\):\n {2}\S+none\.conf: no time sources \(server, pool or peer\): the clock will not be synchronized, only run free$/m);
  const one = await validate(['-f', file('one.conf', `controlsocket ${dir}/ntpkit.sock\nserver 127.0.16.1 iburst\n`)]);
  assert.equal(one.code, ExitCode.OK);
  assert.match(one.out, /one\.conf:2: server 127\.0\.16\.1 is the only time source: no fault tolerance\./);
  assert.match(one.out, /one\.conf: valid \(1 warning\)$/m);
});

test('describeConfig lists any number of sources: no spread of them as call arguments (the call stack holds about 120k)', () => {
  const c = parseConfigText('server 127.0.16.1\n', 'many.conf', { format: 'chrony' }).config as Config;
  const sources = new Array<Config['sources'][number]>(300_000).fill(c.sources[0] as Config['sources'][number]);
  const lines = describeConfig({ ...c, sources });
  assert.equal(lines.filter((l) => l.endsWith('# many.conf:1')).length, 300_000);
});
