import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { detectFormat, loadConfig } from './parse-config.js';
import { formatDiagnostic } from './diagnostics.js';

test('loadConfig reads includes and confdirs from disk, and reports unreadable files', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ntpkit-config-'));
  try {
    mkdirSync(join(dir, 'conf.d'));
    writeFileSync(join(dir, 'conf.d', '10-servers.conf'), 'server a.example.org iburst\n');
    writeFileSync(join(dir, 'conf.d', '20-step.conf'), 'makestep 0.1 3\n');
    writeFileSync(join(dir, 'extra.inc'), 'allow 127.0.0.0/8\n');
    const main = join(dir, 'chrony.conf');
    writeFileSync(main, `confdir ${join(dir, 'conf.d')}\ninclude ${join(dir, '*.inc')}\n`);
    const r = await loadConfig(main);
    assert.deepEqual(r.errors, []);
    assert.deepEqual(r.config?.files, [main, join(dir, 'conf.d', '10-servers.conf'), join(dir, 'conf.d', '20-step.conf'), join(dir, 'extra.inc')]);
    assert.deepEqual(r.config?.discipline.makestep, { threshold: 0.1, limit: 3 });
    assert.equal(r.config?.server.access.length, 1);

    const missing = await loadConfig(join(dir, 'nope.conf'));
    assert.equal(missing.config, null);
    assert.deepEqual(missing.errors.map(formatDiagnostic), [`${join(dir, 'nope.conf')}: cannot read: ENOENT (no such file or directory)`]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('format detection: by name, then by content; chrony.conf wins ties', () => {
  assert.equal(detectFormat('restrict default ignore\n', '/etc/chrony/chrony.conf'), 'chrony');
  assert.equal(detectFormat('makestep 1 3\n', '/etc/ntp.conf'), 'ntp');
  assert.equal(detectFormat('', '/etc/ntpsec/ntp.conf'), 'ntp');
  assert.equal(detectFormat('server a iburst\nrestrict default kod limited\n', 'x.cfg'), 'ntp');
  assert.equal(detectFormat('server a iburst\nmakestep 1 3\n', 'x.cfg'), 'chrony');
  assert.equal(detectFormat('server a iburst\n', 'x.cfg'), 'chrony');
  assert.equal(detectFormat('server a true\n', 'x.cfg'), 'ntp');
});

// Debian's packaged default chrony.conf (present where the chrony package is installed):
// a real-world file with confdir, sourcedir, keyfile, ntsdumpdir, rtcsync, leapsectz.
const DEBIAN_DEFAULT = '/usr/share/chrony/chrony.conf';
test('Debian\'s stock chrony.conf loads, warning about what ntpkit does not implement', { skip: existsSync(DEBIAN_DEFAULT) ? false : `${DEBIAN_DEFAULT} not installed` }, async () => {
  const r = await loadConfig(DEBIAN_DEFAULT);
  assert.deepEqual(r.errors.map(formatDiagnostic), []);
  const c = r.config;
  assert.ok(c);
  assert.ok(c.sources.some((s) => s.options.kind === 'pool' && s.options.iburst));
  assert.deepEqual(c.discipline.makestep, { threshold: 1, limit: 3 });
  assert.equal(c.leapsectz, 'right/UTC');
  // Debian's rtcsync and `maxupdateskew 100.0` are implemented: no warning names them.
  assert.deepEqual(r.warnings.map((w) => w.message.split(':')[0]).filter((d) => ['rtcsync', 'maxupdateskew', 'ntsdumpdir', 'keyfile'].includes(d as string)), []);
  assert.equal(c.discipline.maxupdateskew, 100);
  assert.equal(c.process.rtcsync, true);
  assert.equal(c.keyfile, '/etc/chrony/chrony.keys');
});
