/**
 * `ntpkit manual on|off|reset|list|delete N` (chronyc manual): enable or
 * disable settime, forget the settime samples, list them, or delete one.
 */
import type { Command } from 'commander';
import type { ManualListRow } from '../daemon/manual-time.js';
import { controlCommand, type ControlFlags, OK_TEXT, runControl, usageError, withCsv } from './control-command.js';
import type { Io } from './io.js';
import { addRemoteOptions } from './remote-options.js';
import { fetchRemoteManualList } from './remote-reports.js';
import { REQ, RPY } from '../proto/candm/index.js';
import { formatManualList, formatManualListCsv } from './manual-format.js';

export const MANUAL_JSON_SCHEMA = 'ntpkit.manual/1';

export function manualCommand(io: Io): Command {
  return addRemoteOptions(withCsv(controlCommand('manual', 'enable or disable settime, list or delete its samples (like chronyc manual)')))
    .argument('<action>', 'on, off, reset, list or delete')
    .argument('[index]', 'with delete: the sample number manual list shows')
    .action(async (action: string, index: string | undefined, flags: ControlFlags) => {
      const simple = ['on', 'off', 'reset', 'list'].includes(action) && index === undefined;
      const del = action === 'delete' && index !== undefined && /^\d+$/.test(index);
      if (!simple && !del) {
        usageError(io, 'manual', `Invalid syntax for manual command: expected on, off, reset, list or delete INDEX, got ${JSON.stringify([action, index ?? ''].join(' ').trim())}`);
        return;
      }
      const rows = (r: unknown): ManualListRow[] => (r as { samples: ManualListRow[] }).samples;
      await runControl(io, 'manual', flags, 'manual', { action, ...(del ? { index: Number(index) } : {}) }, {
        schema: MANUAL_JSON_SCHEMA,
        text: (r) => (action === 'list' ? formatManualList(rows(r)) : OK_TEXT),
        ...(action === 'list' ? { csv: (r: unknown) => formatManualListCsv(rows(r)) } : {}),
        json: (r) => ({ action, ...(r as Record<string, unknown> | null ?? {}) }),
        // Over -h, what chronyc sends: MANUAL_LIST, or MANUAL / MANUAL_DELETE (which chronyd serves only on its Unix socket).
        remote: action === 'list' ? fetchRemoteManualList : del
          ? async (c) => { await c.request(REQ.MANUAL_DELETE, { index: Number(index) }, RPY.NULL); return null; }
          : async (c) => { await c.request(REQ.MANUAL, { option: { off: 0, on: 1, reset: 2 }[action as 'on' | 'off' | 'reset'] }, RPY.NULL); return null; },
      });
    });
}
