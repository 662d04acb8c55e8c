import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseConfigText } from './parse-config.js';
import { chronyDirective, DIRECTIVES, directiveNames } from './registry.js';
import { REFERENCE_END, REFERENCE_START } from './reference-table.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Config fields no directive sets: the parser's own bookkeeping, and what the daemon fills in at run time. */
const NOT_FROM_DIRECTIVES: ReadonlySet<string> = new Set([
  'format', 'files', 'origins',
  // From the drift file, not the config.
  'discipline.initialFrequencyPpm', 'discipline.initialSkewPpm',
  // `ntpkit server`'s own key file; the daemon's is Config.keyfile, set by the same declaration.
  'server.keyfile',
]);

/** The field paths of a parsed Config, down to values (arrays and nulls are leaves). */
function leaves(o: unknown, prefix = ''): string[] {
  if (o === null || typeof o !== 'object' || Array.isArray(o)) return [prefix];
  return Object.entries(o).flatMap(([k, v]) => leaves(v, prefix === '' ? k : `${prefix}.${k}`));
}

function declaredFields(): Set<string> {
  return new Set(DIRECTIVES.map((d) => d.field).filter((f): f is string => f !== null));
}

test('every Config field a consumer can read is set by a declared directive', () => {
  const config = parseConfigText('', 'empty.conf', { format: 'chrony' }).config;
  assert.ok(config);
  const fields = declaredFields();
  const undeclared = leaves(config).filter((f) => !NOT_FROM_DIRECTIVES.has(f) && !fields.has(f));
  assert.deepEqual(undeclared, [], 'fields no directive declares (declare the directive in src/config/directives/)');
});

test('every declared consumer exists and reads the field the directive sets', () => {
  for (const d of DIRECTIVES) {
    if (d.consumer === null || d.field === null) continue;
    const path = join(ROOT, d.consumer);
    assert.ok(existsSync(path), `${d.field}: consumer ${d.consumer} does not exist`);
    const last = d.field.split('.').pop() as string;
    assert.match(readFileSync(path, 'utf8'), new RegExp(`\\b${last}\\b`), `${d.consumer} never mentions ${last}`);
  }
});

test('every directive name the daemon looks up by origin is declared as keeping its origin', () => {
  const src = readFileSync(join(ROOT, 'src/daemon/config-resources.ts'), 'utf8');
  const looked = [...src.matchAll(/\b(?:at|originOf)\((?:c, )?'([a-z]+)'/g)].map((m) => m[1] as string);
  assert.ok(looked.length > 0);
  for (const name of looked) assert.equal(chronyDirective(name)?.directive.origin, true, `${name} is looked up by origin but not declared with origin: true`);
});

test('every declared directive name is in the directive reference of docs/config.md', () => {
  const doc = readFileSync(join(ROOT, 'docs/config.md'), 'utf8');
  const section = doc.slice(doc.indexOf(REFERENCE_START), doc.indexOf(REFERENCE_END));
  assert.ok(section.length > 0, 'docs/config.md has no directive reference');
  const missing = [...directiveNames('chrony'), ...directiveNames('ntp')].filter((n) => !new RegExp(`\`${n}[ \`,]`).test(section));
  assert.deepEqual(missing, [], 'declared but not documented: run node scripts/config-reference.js');
});

test('no directive sits in a dialect without a name, and only implemented ones set a field', () => {
  for (const d of DIRECTIVES) {
    const forms = [d.chrony, d.ntp].filter((f) => f !== undefined);
    assert.ok(forms.length > 0, JSON.stringify(d));
    for (const f of forms) assert.ok(f.names.length > 0);
    const implemented = forms.some((f) => f.status.kind === 'implemented');
    assert.equal(d.field !== null || d.consumer === null, true);
    if (!implemented) assert.equal(d.field, null, `${forms[0]?.names[0]}: a directive that is not implemented sets nothing`);
  }
});

test('the directive declarations are all in the registry', () => {
  const dir = join(ROOT, 'src/config/directives');
  const lists = readdirSync(dir).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
    .flatMap((f) => [...readFileSync(join(dir, f), 'utf8').matchAll(/export const ([A-Z_]+_DIRECTIVES)\b/g)].map((m) => m[1] as string));
  const registry = readFileSync(join(ROOT, 'src/config/registry.ts'), 'utf8');
  for (const name of lists) assert.match(registry, new RegExp(`\\.\\.\\.${name}\\b`), `${name} is declared but not gathered in registry.ts`);
});
