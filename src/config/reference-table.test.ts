import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { withReference } from './reference-table.js';

test('docs/config.md holds the directive reference as the registry renders it', () => {
  const doc = readFileSync(fileURLToPath(new URL('../../docs/config.md', import.meta.url)), 'utf8');
  const fresh = withReference(doc);
  assert.notEqual(fresh, null, 'the directive reference markers are missing from docs/config.md');
  assert.equal(doc, fresh, 'docs/config.md is out of date: npm run build && node scripts/config-reference.js');
});
