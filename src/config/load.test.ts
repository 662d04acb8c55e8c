import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from './diagnostics.js';
import { COMMAND_LINE, loadServerConfig } from './load.js';

test('flags come after the file, and errors name the file or the command line', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ntpkit-config-'));
  try {
    const file = join(dir, 'server.conf');
    writeFileSync(file, 'port 11123\nallow 127.0.0.0/8\nlocal stratum 3\n');
    const { config } = loadServerConfig(file, ['port 11124', 'local stratum 1']);
    assert.equal(config.port, 11124);
    assert.equal(config.local?.stratum, 1);
    assert.equal(config.access.length, 1);

    assert.throws(() => loadServerConfig(file, ['allow', 'port x']), (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.equal(e.message, `${COMMAND_LINE}:2: port: expected a port number from 0 to 65535, got "x"`);
      return true;
    });
    assert.throws(() => loadServerConfig(join(dir, 'missing.conf'), []), /missing\.conf: cannot read: ENOENT/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
