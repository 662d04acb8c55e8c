/**
 * Enforces the layering: the pure layers import nothing from node:* nor any
 * IO layer, and imports only point down the layer list, so every algorithm
 * can be tested deterministically, fed time and packets by the test.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

// Runs from dist/, but reads the TypeScript sources so type-only imports count too.
const root = join(dirname(fileURLToPath(import.meta.url)), '..', 'src');

/** Layers, lowest first. `testing` holds test harnesses and may import anything. `crypto` (MACs, AES-SIV, NTS cookies) sits on node:crypto and the addon loader (clock/native.ts, for AES-SIV and the NTS reply path in C) just above `clock`, so the daemon's IO layers and the server's hot path share one implementation. */
const ORDER = ['time', 'proto', 'core', 'clock', 'crypto', 'net', 'config', 'daemon', 'control', 'metrics', 'web', 'cli', 'sim'];
const PURE = new Set(['time', 'proto', 'core']);

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? walk(p) : p.endsWith('.ts') ? [p] : [];
  });
}

function importsOf(source: string): string[] {
  const specs: string[] = [];
  const re = /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|(?:^|\n)\s*import\s*['"]([^'"]+)['"]/g;
  for (const m of source.matchAll(re)) specs.push((m[1] ?? m[2] ?? m[3]) as string);
  return specs;
}

function layerOf(file: string): string | undefined {
  return relative(root, file).split('/')[0];
}

const files = walk(root).filter((f) => !f.endsWith('.test.ts'));

test('the layering check sees the source tree', () => {
  assert.ok(files.length > 5, `found only ${files.length} files under ${root}`);
  assert.deepEqual(importsOf("import { a } from './x.js';\nimport type { B } from \"node:fs\";\nconst m = await import('node:os');"), ['./x.js', 'node:fs', 'node:os']);
});

test('pure layers (time, proto, core) import no node:* module and no package', () => {
  const bad: string[] = [];
  for (const f of files) {
    const layer = layerOf(f) ?? '';
    if (!PURE.has(layer)) continue;
    for (const spec of importsOf(readFileSync(f, 'utf8'))) {
      if (!spec.startsWith('.')) bad.push(`${relative(root, f)} imports ${spec}`);
    }
  }
  assert.deepEqual(bad, []);
});

test('imports only point down the layer list', () => {
  const bad: string[] = [];
  for (const f of files) {
    const from = layerOf(f) ?? '';
    const fromRank = ORDER.indexOf(from);
    if (fromRank < 0) continue; // index.ts, testing/: the top of the tree
    for (const spec of importsOf(readFileSync(f, 'utf8'))) {
      if (!spec.startsWith('.')) continue;
      const to = layerOf(join(dirname(f), spec)) ?? '';
      const toRank = ORDER.indexOf(to);
      if (to === 'testing' || (toRank > fromRank)) bad.push(`${relative(root, f)} (${from}) imports ${spec} (${to})`);
    }
  }
  assert.deepEqual(bad, []);
});
