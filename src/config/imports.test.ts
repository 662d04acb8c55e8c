import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const CONFIG = fileURLToPath(new URL('../../src/config/', import.meta.url));

/** The product files of src/config and its subfolders (tests excluded: they may import anything). */
function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return e.name === 'fixtures' ? [] : sources(p);
    return e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') ? [p] : [];
  });
}

/** Relative imports of a file within src/config, type-only ones included: a cycle of types still ties the files together. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/\bfrom '(\.{1,2}\/[^']+)\.js'/g)]
    .map((m) => resolve(dirname(file), `${m[1] as string}.ts`))
    .filter((p) => p.startsWith(CONFIG));
}

/** The first import cycle found by depth-first search, as a list of files; null when there is none. */
function findCycle(graph: ReadonlyMap<string, readonly string[]>): string[] | null {
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const visit = (n: string): string[] | null => {
    if (state.get(n) === 'done') return null;
    if (state.get(n) === 'open') return [...path.slice(path.indexOf(n)), n];
    state.set(n, 'open');
    path.push(n);
    for (const m of graph.get(n) ?? []) {
      const c = visit(m);
      if (c) return c;
    }
    path.pop();
    state.set(n, 'done');
    return null;
  };
  for (const n of graph.keys()) {
    const c = visit(n);
    if (c) return c;
  }
  return null;
}

test('the files of src/config import each other without a cycle', () => {
  const graph = new Map(sources(CONFIG).map((f) => [f, importsOf(f)]));
  assert.ok(graph.size > 20);
  const cycle = findCycle(graph);
  assert.equal(cycle?.map((f) => relative(CONFIG, f)).join(' -> ') ?? null, null);
});

test('the cycle finder finds a cycle', () => {
  assert.deepEqual(findCycle(new Map([['a', ['b']], ['b', ['c']], ['c', ['a']]])), ['a', 'b', 'c', 'a']);
  assert.equal(findCycle(new Map([['a', ['b']], ['b', []]])), null);
});
