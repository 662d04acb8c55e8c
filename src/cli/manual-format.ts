/** `ntpkit manual list`: the layout of `chronyc manual list` (client.c process_cmd_manual_list) and its -c CSV. */
import type { ManualListRow } from '../daemon/manual-time.js';
import { csvFixed, csvLine } from './csv-fields.js';
import { cFixed } from './report-units.js';

const HEADER = '#    Date     Time(UTC)    Slewed   Original   Residual';

/** chronyd's UTI_TimeToLogForm: "YYYY-MM-DD HH:MM:SS" in UTC. */
function logForm(unixSeconds: number): string {
  return new Date(Math.floor(unixSeconds) * 1000).toISOString().slice(0, 19).replace('T', ' ');
}

export function formatManualList(rows: readonly ManualListRow[]): string {
  const lines = [`210 n_samples = ${rows.length}`, HEADER, '='.repeat(HEADER.length)];
  rows.forEach((r, i) => lines.push(`${String(i).padStart(2)} ${logForm(r.when)} ${cFixed(r.slewedOffset ?? r.offset, 2, { width: 10 })} ${cFixed(r.offset, 2, { width: 10 })} ${cFixed(r.residual, 2, { width: 10 })}`));
  return `${lines.join('\n')}\n`;
}

export function formatManualListCsv(rows: readonly ManualListRow[]): string {
  return rows.map((r, i) => csvLine([i, logForm(r.when), csvFixed(r.slewedOffset ?? r.offset, 2), csvFixed(r.offset, 2), csvFixed(r.residual, 2)])).join('');
}
