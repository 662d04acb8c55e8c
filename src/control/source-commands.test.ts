import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { EngineCommand } from '../core/engine/engine-api.js';
import type { SourceSnapshot } from '../core/engine/snapshot.js';
import { snapshotOf } from '../testing/chronyc-csv.js';
import type { ControllableDaemon } from './commands.js';
import { onoffline } from './source-commands.js';

test('onoffline: each source with an address online if routed, else offline; the selected one last; unresolved sources left alone', async () => {
  // Only what onoffline reads of a source.
  const source = (id: number, address: string | null, verdict: string, kind = 'server'): SourceSnapshot => ({ id, address, verdict, kind }) as unknown as SourceSnapshot;
  const sources = [
    source(1, '192.0.2.1', 'selected'), source(2, '198.51.100.1', 'unusable'), source(3, null, 'unusable'),
    source(4, '192.0.2.4', 'unusable'), source(5, null, 'unusable', 'refclock'),
  ];
  const base = snapshotOf({ sources });
  const done: string[] = [];
  const d = {
    snapshot: () => base,
    control: (c: EngineCommand) => {
      if (c.op === 'online' || c.op === 'offline') done.push(`${c.op} ${c.selector}`);
      return { ok: true, actions: [], value: { sources: 1 } };
    },
    routeExists: async (a: string) => !a.startsWith('198.51.100.'),
  } as unknown as ControllableDaemon;
  const lines: string[] = [];
  const r = await onoffline(d, (l) => lines.push(l))({}, { command: 'onoffline' });
  assert.deepEqual(done, ['offline 198.51.100.1', 'online 192.0.2.4', 'online 192.0.2.1']);
  assert.deepEqual(r, { online: 2, offline: 1 });
  assert.equal(lines.length, 1);
});
