/**
 * The client side of the daemon's control commands: send one, or fetch the
 * snapshot. Kept apart from the handlers (commands.ts) so that a report
 * command loads only this, the socket client and the snapshot's version.
 */
import { type DaemonSnapshot, SNAPSHOT_VERSION } from '../core/engine/snapshot.js';
import { controlRequest, type ControlRequestOptions } from './client.js';
import { ControlError } from './errors.js';
import { readOnlySocketPath } from './protocol.js';

/** The commands served on the read-only socket too; the client falls back to it for these. */
export const OPEN_COMMANDS: ReadonlySet<string> = new Set(['snapshot', 'activity', 'commands', 'selectdata', 'authdata', 'rtcdata']);

/**
 * Sends a command to the daemon at `path`. Refused the main socket
 * (EACCES), a monitoring command (OPEN_COMMANDS) goes to the read-only
 * socket next to it; any other gets a `permission-denied` error saying what
 * permission it needs.
 * @throws ControlError, as controlRequest.
 */
export async function callDaemon(path: string, command: string, args: Readonly<Record<string, unknown>> = {}, opts: ControlRequestOptions = {}): Promise<unknown> {
  try {
    return await controlRequest(path, command, args, opts);
  } catch (e) {
    if (!(e instanceof ControlError) || e.code !== 'permission-denied') throw e;
    if (OPEN_COMMANDS.has(command)) {
      const ro = readOnlySocketPath(path);
      try {
        return await controlRequest(ro, command, args, opts);
      } catch (e2) {
        if (!(e2 instanceof ControlError) || (e2.code !== 'no-daemon' && e2.code !== 'permission-denied')) throw e2;
        throw new ControlError('permission-denied', `permission denied opening ${path}, and the read-only socket ${ro} cannot be used either (${e2.message})`, false, { cause: e2 });
      }
    }
    throw new ControlError('permission-denied', `"${command}" needs write permission on the control socket ${path}: run as root or as a member of the socket's group`, false, { cause: e });
  }
}

function isSnapshot(v: unknown): v is DaemonSnapshot {
  if (typeof v !== 'object' || v === null) return false;
  const s = v as Record<string, unknown>;
  return typeof s.tracking === 'object' && s.tracking !== null && Array.isArray(s.sources) && typeof s.time === 'string';
}

/**
 * Asks the daemon at `path` for its snapshot (through the read-only socket
 * when the main one is not ours to open).
 * @throws ControlError: as controlRequest, or `bad-reply` for a snapshot of
 *   another version than this ntpkit reads.
 */
export async function fetchSnapshot(path: string, opts: ControlRequestOptions = {}): Promise<DaemonSnapshot> {
  const result = await callDaemon(path, 'snapshot', {}, opts);
  const version = (result as { version?: unknown } | null)?.version;
  if (version !== SNAPSHOT_VERSION) {
    throw new ControlError('bad-reply', `the daemon at ${path} sent a snapshot of version ${JSON.stringify(version)}; this ntpkit reads version ${SNAPSHOT_VERSION} (are daemon and client the same release?)`);
  }
  if (!isSnapshot(result)) throw new ControlError('bad-reply', `the daemon at ${path} sent a malformed snapshot`);
  return result;
}
