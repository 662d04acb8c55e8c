/**
 * Who may send the daemon mode 6 queries (ntpq, check_ntp_peer): loopback
 * only by default, as chronyd answers its command port only on localhost;
 * then chrony.conf's `cmdallow`/`cmddeny` (allow/deny's rules, so
 * `cmddeny 127.0.0.1` takes loopback away), or ntp.conf's restrict entries,
 * which permit queries unless they say `noquery` (or `ignore`), as in ntpd.
 */
import type { ServerConfig } from '../config/server-config.js';
import { type AccessRule, type AccessTable, buildAccessTable } from '../core/server/access.js';

/** Loopback of both families: what is permitted when nothing else is configured. */
const LOOPBACK: readonly AccessRule[] = [
  { allow: true, all: false, subnet: '127.0.0.0/8' },
  { allow: true, all: false, subnet: '::1/128' },
];

/**
 * The query access table of a server config.
 * @throws Error naming the config line of a rule that does not build (already validated by the parser).
 */
export function queryAccessTable(config: ServerConfig): AccessTable {
  const rules: AccessRule[] = [...LOOPBACK, ...config.queryAccess.map((r) => ({ allow: r.allow, all: r.all, subnet: r.subnet }))];
  const t = buildAccessTable(rules);
  if (!t.ok) {
    const r = config.queryAccess[t.index - LOOPBACK.length];
    throw new Error(`${r ? `${r.file}:${r.line}: ` : ''}${t.message}`);
  }
  return t.table;
}
