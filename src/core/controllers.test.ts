import { test } from 'node:test';
import assert from 'node:assert/strict';
import { instantFromUnixSeconds } from '../time/instant.js';
import { ClockModel } from './clock-model.js';
import { CONTROLLERS, controllerFactory, DEFAULT_CONTROLLER } from './controllers.js';
import { DISCIPLINE_DEFAULTS } from './engine-api.js';
import { SyncEngine } from './engine.js';

const T0 = instantFromUnixSeconds(1_750_000_000);

test('the registry builds the daemon\'s controller by default, idle until its first update', () => {
  assert.ok(Object.hasOwn(CONTROLLERS, DEFAULT_CONTROLLER));
  const c = controllerFactory(DEFAULT_CONTROLLER)({ options: DISCIPLINE_DEFAULTS, clock: new ClockModel(T0, 0), minSlewTime: 1 });
  assert.equal(c.nextWake, null);
  assert.equal(c.remainingCorrection(T0), 0);
  assert.equal(c.updateInterval, 0);
});

test('an unknown controller is refused by name, with the known ones, when the engine is built', () => {
  assert.throws(() => controllerFactory('nosuch'), /Cannot use clock controller "nosuch": known controllers are discipline/);
  assert.throws(() => controllerFactory('toString'), RangeError, 'names of Object.prototype are not controllers');
  const options = { sources: [], discipline: DISCIPLINE_DEFAULTS, precision: 2 ** -24, random: () => 0.5, controller: 'nosuch' };
  assert.throws(() => new SyncEngine(options), /Cannot use clock controller "nosuch"/);
});
