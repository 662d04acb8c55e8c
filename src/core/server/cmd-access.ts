/**
 * cmdallow/cmddeny as chronyd applies them: `rules` alone decide cmdaccheck;
 * 127.0.0.1 and ::1 may use the UDP command port besides them.
 */
import { buildAccessTable, isAllowed, type AccessRule } from './access.js';

export interface CmdAccess {
  /** What the rules say of `address` (cmdaccheck). */
  allowed(address: string): boolean;
  /** Whether a datagram from `address` is read at all. */
  mayUse(address: string): boolean;
}

const LOCALHOST = new Set(['127.0.0.1', '::1']);

export function cmdAccess(rules: readonly AccessRule[]): CmdAccess {
  const t = buildAccessTable(rules);
  const allowed = (address: string): boolean => t.ok && isAllowed(t.table, address);
  return { allowed, mayUse: (address) => LOCALHOST.has(address) || allowed(address) };
}
