/**
 * The engine the daemon-command tests give `ntpkit daemon`: it sends nothing,
 * serves an unsynchronized state and refuses control commands. Each test
 * overrides only what it is about (its start actions, its drift, its
 * snapshot), so the rest of the DaemonEngine contract is written once.
 */
import { type EngineAction, type EngineOptions, refuseControl } from '../core/engine/engine-api.js';
import type { DaemonSnapshot } from '../core/engine/snapshot.js';
import { unsynchronizedState } from '../core/system.js';
import type { DaemonEngine } from '../daemon/sync-daemon.js';
import type { Instant } from '../time/instant.js';
import { fakeSnapshot } from '../web/test-snapshots.test-helper.js';

export class StubEngine implements DaemonEngine {
  constructor(readonly options: EngineOptions) {}
  start(): EngineAction[] { return []; }
  tick(): EngineAction[] { return []; }
  sent(): void {}
  receive(): EngineAction[] { return []; }
  resolved(): EngineAction[] { return []; }
  systemState() { return unsynchronizedState(-20); }
  drift() { return { frequencyPpm: 0, skewPpm: 1 }; }
  control() { return refuseControl(); }
  snapshot(_now: Instant, _clock: DaemonSnapshot['clock']): DaemonSnapshot { return fakeSnapshot(); }
}
