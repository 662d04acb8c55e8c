import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

test('the package exports map points at the library entry, types first', async () => {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { name: string; exports: Record<string, Record<string, string>>; bin: Record<string, string> };
  assert.equal(pkg.name, 'ntpkit');
  assert.deepEqual(Object.keys(pkg.exports['.'] ?? {}), ['types', 'default']);
  assert.equal(pkg.bin.ntpkit, 'bin/ntpkit.js');
  // Resolve through the exports map, as a consumer would.
  const lib = await import('ntpkit') as Record<string, unknown>;
  for (const name of ['queryServers', 'realtime', 'realtimeInfo', 'parsePacket', 'encodePacket', 'intersect', 'instantFromUnixNanos', 'kissCode', 'formatRefId']) {
    assert.equal(typeof lib[name], 'function', name);
  }
});
