/**
 * The clock controllers by name: the engine builds the one its options name
 * (the simulator and bench/sync-accuracy take `--controller NAME`). A new
 * controller is one file implementing ClockController and one line here.
 */
import type { ControllerFactory } from './clock-controller.js';
import { Discipline } from './discipline.js';

export const CONTROLLERS: Readonly<Record<string, ControllerFactory>> = Object.freeze({
  discipline: (c) => new Discipline(c.options, c.clock, c.minSlewTime),
});

/** The controller the daemon runs. */
export const DEFAULT_CONTROLLER = 'discipline';

export function controllerFactory(name: string): ControllerFactory {
  const f = Object.hasOwn(CONTROLLERS, name) ? CONTROLLERS[name] : undefined;
  if (f === undefined) throw new RangeError(`Cannot use clock controller "${name}": known controllers are ${Object.keys(CONTROLLERS).join(', ')}`);
  return f;
}
