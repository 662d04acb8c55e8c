/**
 * The daemon's built-in control commands and their typed client calls.
 * Later issues add theirs (reload, makestep, burst, metrics...) by passing
 * more handlers to startControlServer next to these.
 */
import { type DaemonSnapshot, SNAPSHOT_VERSION } from '../core/snapshot.js';
import { controlRequest, type ControlRequestOptions } from './client.js';
import { ControlError } from './errors.js';
import type { ControlHandler } from './server.js';

/** What the built-in commands read: the daemon's one snapshot (e.g. EngineDriver). */
export interface SnapshotSource {
  snapshot(): DaemonSnapshot;
}

/**
 * Handlers of the built-in commands:
 * - `snapshot` (no args): the DaemonSnapshot, unchanged (src/core/snapshot.ts).
 */
export function daemonHandlers(source: SnapshotSource): Record<string, ControlHandler> {
  return {
    snapshot: () => source.snapshot(),
  };
}

function isSnapshot(v: unknown): v is DaemonSnapshot {
  if (typeof v !== 'object' || v === null) return false;
  const s = v as Record<string, unknown>;
  return typeof s.tracking === 'object' && s.tracking !== null && Array.isArray(s.sources) && typeof s.time === 'string';
}

/**
 * Asks the daemon at `path` for its snapshot.
 * @throws ControlError: as controlRequest, or `bad-reply` for a snapshot of
 *   another version than this ntpkit reads.
 */
export async function fetchSnapshot(path: string, opts: ControlRequestOptions = {}): Promise<DaemonSnapshot> {
  const result = await controlRequest(path, 'snapshot', {}, opts);
  const version = (result as { version?: unknown } | null)?.version;
  if (version !== SNAPSHOT_VERSION) {
    throw new ControlError('bad-reply', `the daemon at ${path} sent a snapshot of version ${JSON.stringify(version)}; this ntpkit reads version ${SNAPSHOT_VERSION} (are daemon and client the same release?)`);
  }
  if (!isSnapshot(result)) throw new ControlError('bad-reply', `the daemon at ${path} sent a malformed snapshot`);
  return result;
}
