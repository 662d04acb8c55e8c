/** The fuzzing harness: targets, driver, mutators (test-only, like the rest of src/testing). */
export * from './harness.js';
export * from './mutate.js';
export * from './rng.js';
export * from './targets.js';
export * from './round-trip.js';
