/**
 * What the daemon gives its engine: the config's sources and discipline,
 * the frequency to start from, the clock's precision, randomness and each
 * source's authenticator.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Config } from '../config/config.js';
import type { EngineOptions, SyncEngineApi } from '../core/engine/engine-api.js';
import type { SourceOptions } from '../core/engine/source-options.js';
import type { SystemState } from '../core/system.js';
import type { NtsSourceAuthenticator } from '../crypto/nts-client.js';
import { symmetricSourceAuthenticator } from '../crypto/symmetric-auth.js';
import type { ConfigResources } from './config-resources.js';
import type { DriftValues } from './drift-file.js';

export type EngineFactory = (options: EngineOptions) => SyncEngineApi;

export async function defaultEngineFactory(): Promise<EngineFactory> {
  const { SyncEngine } = await import('../core/engine/engine.js');
  return (o) => new SyncEngine(o) as SyncEngineApi;
}

/** 48 random bits per draw, from node:crypto (request cookies must not be guessable). */
export function cryptoRandom(): () => number {
  let buf = randomBytes(6 * 256);
  let i = 0;
  return () => {
    if (i + 6 > buf.length) { buf = randomBytes(buf.length); i = 0; }
    const v = buf.readUIntBE(i, 6);
    i += 6;
    return v / 2 ** 48;
  };
}

/** What stays the same for every engine one daemon creates. */
export interface EngineGround {
  /** The clock's frequency in force, when neither the drift file nor the engine knows better. */
  readonly clockFrequencyPpm: () => number;
  readonly precisionLog2: number;
  readonly random: () => number;
  readonly ntsSourceAuthenticator: (so: SourceOptions) => NtsSourceAuthenticator;
  /** EngineOptions.servedState. */
  readonly servedState: (engine: SystemState) => SystemState;
}

export function engineOptionsFor(c: Config, initial: DriftValues | null, res: Pick<ConfigResources, 'keys' | 'leapTable'>, ground: EngineGround): EngineOptions {
  const k = res.keys;
  return {
    sources: c.sources.map((s) => s.options),
    refclocks: c.refclocks.map((r) => r.options),
    leapTable: res.leapTable ?? null,
    discipline: {
      ...c.discipline,
      initialFrequencyPpm: initial !== null && initial.frequencyPpm !== 0 ? initial.frequencyPpm : ground.clockFrequencyPpm(),
      initialSkewPpm: initial?.skewPpm ?? null,
    },
    precision: 2 ** ground.precisionLog2,
    servedState: ground.servedState,
    random: ground.random,
    md5: (data) => createHash('md5').update(data).digest(),
    authenticatorFor: (so) => (so.nts ? ground.ntsSourceAuthenticator(so) : so.key === null ? null
      : symmetricSourceAuthenticator(k?.get(so.key) ?? null, `key ${so.key} is not in ${c.keyfile ?? 'a key file (no keyfile directive)'}`, so.key)),
  };
}
