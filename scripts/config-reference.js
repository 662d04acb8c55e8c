#!/usr/bin/env node
// Rewrites the directive reference in docs/config.md from the registry (build first: npm run build).
// --check: exit 1, changing nothing, when the committed doc differs.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { withReference } from '../dist/config/reference-table.js';

const path = fileURLToPath(new URL('../docs/config.md', import.meta.url));
const doc = readFileSync(path, 'utf8');
const next = withReference(doc);
if (next === null) {
  console.error(`${path}: the directive reference markers are missing`);
  process.exit(1);
}
if (process.argv.includes('--check')) {
  if (next !== doc) { console.error(`${path}: the directive reference is out of date; run node scripts/config-reference.js`); process.exit(1); }
} else if (next !== doc) {
  writeFileSync(path, next);
  console.log(`${path}: directive reference rewritten`);
}
