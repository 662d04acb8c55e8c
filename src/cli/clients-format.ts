/** The layout of `chronyc clients` (chronyd 4.3, checked against fixtures/chronyc-clients.txt). */
import type { ClientReport } from '../core/server/client-report.js';
import { cInterval } from './report-units.js';
import { csvInterval, csvLine, csvLogInterval } from './csv-fields.js';

export const CLIENTS_HEADER = 'Hostname                      NTP   Drop Int IntL Last     Cmd   Drop Int  Last';
const RULE = '='.repeat(79);

/** chronyc's log2 interval column: " -" while unknown. */
function logInterval(x: number | null): string {
  return x === null ? ' -' : String(x).padStart(2);
}

/**
 * One row. ntpkit does not count command packets per client, so its Cmd
 * columns read 0, 0, -, - as chronyd prints them for a client that sent
 * none; a report read from chronyd over -h carries its own.
 */
export function formatClientRow(c: ClientReport): string {
  const cmd = c.command ?? { hits: 0, drops: 0, interval: null, lastAgo: null };
  return `${(c.name ?? c.address).padEnd(25)}  ${String(c.ntpHits).padStart(6)}  ${String(c.ntpDrops).padStart(5)}  ${logInterval(c.ntpInterval)}  ${logInterval(c.ntpTimeoutInterval)}  ${cInterval(c.lastAgo)}  ${String(cmd.hits).padStart(6)}  ${String(cmd.drops).padStart(5)}  ${logInterval(cmd.interval)}  ${cInterval(cmd.lastAgo)}`;
}

export function formatClients(clients: readonly ClientReport[]): string {
  return [CLIENTS_HEADER, RULE, ...clients.map(formatClientRow)].join('\n');
}

/** chronyc -c clients: one line per client; the command-port columns are chronyd's, zero here (no command traffic is counted per client). */
export function formatClientsCsv(clients: readonly ClientReport[]): string {
  return clients.map((c) => csvLine([
    c.address, c.ntpHits, c.ntpDrops, csvLogInterval(c.ntpInterval), csvLogInterval(c.ntpTimeoutInterval), csvInterval(c.lastAgo),
    c.command?.hits ?? 0, c.command?.drops ?? 0, csvLogInterval(c.command?.interval ?? null), csvInterval(c.command?.lastAgo ?? null),
  ])).join('');
}
