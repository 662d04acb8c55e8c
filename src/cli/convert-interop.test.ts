/**
 * `ntpkit convert` on the ntp.conf of three real setups: CentOS 6's ntp
 * package, Debian's ntp package and the cloud documentation's ntpd section
 * (fixtures in src/config/fixtures/convert/, written from what those files
 * contain). Debian's chronyd 4.3 is the judge: `chronyd -x -p -f FILE`
 * parses the converted file, prints the configuration it read and exits
 * (touching no clock); it must accept every file and read back every
 * directive we wrote. ntpkit must load each one with no error too.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseConfigText } from '../config/parse-config.js';
import { requireTool, runToCompletion, toolPath } from '../testing/index.js';
import { run } from './main.js';

const FIXTURES = fileURLToPath(new URL('../../src/config/fixtures/convert/', import.meta.url));
const CASES = ['centos6-ntp.conf', 'debian-ntp.conf', 'aliyun-doc-ntp.conf'];

let dir: string;
before(() => { dir = mkdtempSync(join(tmpdir(), 'ntpkit-convert-')); });
after(() => rmSync(dir, { recursive: true, force: true }));

const directives = (text: string): string[] => text.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !/^[#%;!]/.test(l));

for (const name of CASES) {
  test(`convert ${name}: chronyd -p accepts the result and reads back every directive; ntpkit loads it`, async (t) => {
    if (!requireTool(t, 'chronyd')) return;
    const out = join(dir, name.replace(/-ntp\.conf$/, '-chrony.conf'));
    let err = '';
    const code = await run(['convert', join(FIXTURES, name), '-o', out], { out: () => {}, err: (s) => { err += `${s}\n`; }, setExitCode: () => {} });
    assert.equal(code, 0, err);
    assert.match(err, /directives? converted/);
    const text = readFileSync(out, 'utf8');
    const ours = directives(text);
    assert.ok(ours.some((l) => /^(server|pool) /.test(l)), `no sources in\n${text}`);
    // Every directive of the input is accounted for: converted, or kept as a comment with a reason.
    const input = directives(readFileSync(join(FIXTURES, name), 'utf8'));
    const kept = text.split('\n').filter((l) => l.startsWith('#ntp.conf: '));
    assert.ok(kept.every((l) => / {2}-- /.test(l)), kept.join('\n'));
    assert.ok(ours.length + kept.length >= input.length, `lines lost:\n${text}`);

    const r = await runToCompletion(toolPath('chronyd'), ['-x', '-p', '-f', out], { timeoutMs: 10_000 });
    assert.equal(r.timedOut, false);
    assert.equal(r.status.code, 0, `chronyd refused ${out}:\n${r.stderr}\n${text}`);
    assert.deepEqual(directives(r.stdout).map((l) => l.replace(/\s+/g, ' ')), ours.map((l) => l.replace(/\s+/g, ' ')), r.stdout);

    const loaded = parseConfigText(text, out, { format: 'chrony', readFile: () => '', listDir: () => [] });
    assert.deepEqual(loaded.errors, []);
  });
}

test('convert: an unreadable input is one line and exit 1, and nothing is written', async () => {
  let err = '';
  const out = join(dir, 'never.conf');
  const code = await run(['convert', join(dir, 'missing-ntp.conf'), '-o', out], { out: () => {}, err: (s) => { err += s; }, setExitCode: () => {} });
  assert.equal(code, 1);
  assert.match(err, /^ntpkit convert: cannot read .*missing-ntp\.conf: ENOENT/);
  assert.throws(() => readFileSync(out));
});
