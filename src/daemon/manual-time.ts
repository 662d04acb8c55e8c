/**
 * chrony's `manual`: the `settime` command (an operator typing the time read
 * off a trusted clock) is carried out only when the config enables it,
 * because it overrides every source; without it the command is refused, as
 * chronyd answers "505 Facility not enabled".
 */
import type { Config } from '../config/config.js';
import type { EngineCommand, EngineCommandResult } from '../core/engine/engine-api.js';

/** The refusal of `command`, or null when it may run. */
export function refuseUnlessManual<C extends EngineCommand>(config: Config, command: C): EngineCommandResult<C['op']> | null {
  if (command.op !== 'settime' || config.process.manual) return null;
  return { ok: false, code: 'not-enabled', message: 'Facility not enabled in daemon: settime needs the manual directive in the configuration' };
}
