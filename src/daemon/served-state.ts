/**
 * What the daemon's NTP server serves: the engine's sync state, or chrony's
 * `local` reference standing in while the engine is unsynchronized.
 */
import type { Clock } from '../clock/clock.js';
import type { Config } from '../config/config.js';
import type { LocalConfig } from '../config/server-config.js';
import type { SyncEngineApi } from '../core/engine/engine-api.js';
import { localReferenceState, type SystemState } from '../core/system.js';

export class ServedState {
  /** The local reference, made once per unsynchronized episode so its reference time stays put. */
  private local: SystemState | null = null;

  /** chronyc local's setting, over the config's until the daemon restarts; undefined: the config's. */
  private override: LocalConfig | null | undefined = undefined;

  constructor(private readonly clock: Clock, private readonly precisionLog2: number) {}

  /** chronyc local: a new local reference (null: none) from the next unsynchronized answer on. */
  setLocal(local: LocalConfig | null): void {
    this.override = local;
    this.local = null;
  }

  current(engine: SyncEngineApi, config: Config): SystemState {
    return this.of(engine.systemState(this.clock.now()), config);
  }

  /** What is served while the engine's state is `state`. */
  of(state: SystemState, config: Config): SystemState {
    const local = this.override !== undefined ? this.override : config.server.local;
    if (state.kind !== 'unsynchronized' || local === null) {
      this.local = null;
      return state;
    }
    this.local ??= localReferenceState(local.stratum, this.clock.now(), this.precisionLog2);
    return this.local;
  }

  /** A new config or engine: the next unsynchronized answer starts a new local reference. */
  reset(): void {
    this.local = null;
  }
}
