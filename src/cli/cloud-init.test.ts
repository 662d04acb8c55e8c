/**
 * contrib/cloud-init/ntpkit.yaml, the user data that sets ntpkit up on a new
 * instance: the configuration it writes passes `ntpkit validate` with the
 * cloud's VPC servers, and the systemd files it writes are contrib/systemd's
 * as they are (so the two cannot drift apart).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { VPC_SERVERS } from '../config/server-set.js';
import { run } from './main.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const YAML = readFileSync(join(REPO, 'contrib/cloud-init/ntpkit.yaml'), 'utf8');

/**
 * The `content: |` block of the write_files entry for `path`. Hand-read, as
 * the file is ours and its layout fixed (entries at 2 spaces, blocks at 6):
 * a literal block keeps its lines less the indentation, blank lines included,
 * and ends with one newline (YAML's default "clip").
 */
function writeFile(path: string): string {
  const lines = YAML.split('\n');
  const at = lines.indexOf(`  - path: ${path}`);
  assert.ok(at >= 0, `no write_files entry for ${path}`);
  let i = at + 1;
  while (i < lines.length && (lines[i] as string).startsWith('    ') && lines[i] !== '    content: |') i++;
  assert.equal(lines[i], '    content: |', `${path} has no literal content block`);
  const body: string[] = [];
  for (i++; i < lines.length; i++) {
    const l = lines[i] as string;
    if (l.trim() === '') { body.push(''); continue; }
    if (!l.startsWith('      ')) break;
    body.push(l.slice(6));
  }
  while (body.length > 0 && body[body.length - 1] === '') body.pop();
  return `${body.join('\n')}\n`;
}

let dir: string;
before(() => { dir = mkdtempSync(join(tmpdir(), 'ntpkit-cloud-init-')); });
after(() => rmSync(dir, { recursive: true, force: true }));

test('cloud-init: the user data is cloud-config with write_files and runcmd', () => {
  assert.equal(YAML.split('\n')[0], '#cloud-config');
  for (const key of ['packages:', 'write_files:', 'runcmd:']) assert.ok(YAML.split('\n').includes(key), key);
  assert.doesNotMatch(YAML, /\t/, 'YAML forbids tabs in indentation');
});

test('cloud-init: the ntpkit.conf it writes passes ntpkit validate, with the VPC servers', async () => {
  const conf = join(dir, 'ntpkit.conf');
  writeFileSync(conf, writeFile('/etc/ntpkit/ntpkit.conf'));
  let out = '';
  let err = '';
  const code = await run(['validate', '-f', conf, '--json'], { out: (t) => { out += t; }, err: (t) => { err += t; }, setExitCode: () => {} });
  assert.equal(code, 0, `${out}\n${err}`);
  const doc = JSON.parse(out) as { valid: boolean; errors: unknown[]; config: { sources: { options: { host: string } }[] } };
  assert.equal(doc.valid, true, out);
  assert.deepEqual(doc.errors, []);
  assert.deepEqual(doc.config.sources.map((s) => s.options.host), [...VPC_SERVERS]);
});

test('cloud-init: the unit, sysusers and tmpfiles files it writes are contrib/systemd\'s, byte for byte', () => {
  assert.equal(writeFile('/etc/systemd/system/ntpkit.service'), readFileSync(join(REPO, 'contrib/systemd/ntpkit.service'), 'utf8'));
  assert.equal(writeFile('/usr/lib/sysusers.d/ntpkit.conf'), readFileSync(join(REPO, 'contrib/systemd/ntpkit.sysusers.conf'), 'utf8'));
  assert.equal(writeFile('/usr/lib/tmpfiles.d/ntpkit.conf'), readFileSync(join(REPO, 'contrib/systemd/ntpkit.tmpfiles.conf'), 'utf8'));
});
