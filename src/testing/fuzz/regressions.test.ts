/** Crashes, hangs and broken invariants the fuzzer found, kept as tests. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfigText } from '../../config/parse-config.js';
import { MAX_INCLUDED_FILES } from '../../config/include.js';
import { memoryFiles } from '../memory-files.js';

// Found by the chrony-conf target: a file that includes itself k times fans
// out into k^10 reads before the depth limit stops it (a 4 KB config ran for
// minutes). Now the reads of one config are capped.
for (const format of ['chrony', 'ntp'] as const) {
  test(`${format}: a config that includes itself three times per level is read a bounded number of times`, () => {
    const directive = format === 'chrony' ? 'include' : 'includefile';
    const fs = memoryFiles({ '/etc/loop.conf': `${directive} /etc/loop.conf\n`.repeat(3) });
    let reads = 0;
    const r = parseConfigText(`${directive} /etc/loop.conf\n`, 'main.conf', { format, listDir: fs.listDir, readFile: (p) => { reads++; return fs.readFile(p); } });
    assert.ok(reads <= MAX_INCLUDED_FILES, `${reads} reads`);
    assert.equal(r.config, null);
    assert.ok(r.errors.some((e) => e.file === '/etc/loop.conf' && e.line >= 1 && e.message.includes(`more than ${MAX_INCLUDED_FILES} files included`)), JSON.stringify(r.errors.slice(0, 3)));
  });
}

test('an include tree under the cap still reads every file', () => {
  const files: Record<string, string> = { '/etc/a.conf': 'include /etc/d/*.conf\n' };
  for (let i = 0; i < 50; i++) files[`/etc/d/f${i}.conf`] = `server 192.0.2.${i + 1}\n`;
  const r = parseConfigText('include /etc/a.conf\n', 'main.conf', { format: 'chrony', ...memoryFiles(files) });
  assert.deepEqual(r.errors, []);
  assert.equal(r.config?.sources.length, 50);
});
