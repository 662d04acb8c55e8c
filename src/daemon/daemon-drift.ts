/**
 * The daemon's drift file: the frequency it starts from, written whenever
 * the engine asks and saved at stop, as chronyd's driftfile.
 */
import type { Clock } from '../clock/clock.js';
import type { Config } from '../config/config.js';
import type { SyncEngineApi } from '../core/engine/engine-api.js';
import { DriftFileWriter, readDriftFile, type DriftValues } from './drift-file.js';
import { signed } from './engine-event-text.js';

/** chrony's initial skew when nothing is known ("rather bad", reference.c): 1 s/s. */
const UNKNOWN_SKEW_PPM = 1e6;

/**
 * The engine's drift now: its frequency estimate, not the clock's frequency
 * in force, which also carries a slew in progress (chrony saves its
 * absolute frequency, without the slew, too).
 */
export function engineDrift(engine: SyncEngineApi): DriftValues {
  const d = engine.drift();
  const skew = Number.isFinite(d.skewPpm) && d.skewPpm > 0 ? d.skewPpm : UNKNOWN_SKEW_PPM;
  return { frequencyPpm: d.frequencyPpm, skewPpm: skew };
}

export class DaemonDrift {
  private writer: DriftFileWriter | null;

  private constructor(path: string | null, private readonly log: (line: string) => void, readonly initial: DriftValues | null) {
    this.writer = path === null ? null : new DriftFileWriter(path, (m) => log(m));
  }

  /** Reads the config's drift file, saying what it found. */
  static async open(config: Config, clock: Clock, log: (line: string) => void): Promise<DaemonDrift> {
    let initial: DriftValues | null = null;
    if (config.driftfile !== null) {
      const r = await readDriftFile(config.driftfile);
      if (r.status === 'ok') {
        initial = r.value;
        log(`Frequency ${(-r.value.frequencyPpm).toFixed(3)} +/- ${r.value.skewPpm.toFixed(3)} ppm read from ${config.driftfile}`);
      } else if (r.status === 'invalid') {
        log(`Could not read valid frequency and skew from driftfile ${config.driftfile} (${r.message})`);
      } else {
        log(`No drift file at ${config.driftfile} yet`);
      }
    }
    // As chronyd's reference.c: without a drift file (or with one holding 0), keep the frequency the
    // clock already has (the kernel's, set by an earlier daemon or by hand) rather than resetting it.
    if (initial === null || initial.frequencyPpm === 0) {
      const current = clock.frequencyPpm();
      if (current !== 0) log(`Initial frequency ${(-current).toFixed(3)} ppm`);
    }
    return new DaemonDrift(config.driftfile, log, initial);
  }

  /** The engine's periodic update. */
  write(v: DriftValues): void {
    if (this.writer !== null) void this.writer.write(v);
  }

  /** A reload naming another drift file writes there from now on. */
  follow(next: Config, current: Config): void {
    if (next.driftfile !== current.driftfile) {
      this.writer = next.driftfile === null ? null : new DriftFileWriter(next.driftfile, (m) => this.log(m));
    }
  }

  /** At stop: the engine's last estimate. */
  async save(engine: SyncEngineApi): Promise<void> {
    if (this.writer === null) return;
    const v = engineDrift(engine);
    // A failed write has said why (onError); only a write that landed is reported as saved.
    if (await this.writer.write(v)) this.log(`Saved frequency ${signed(-v.frequencyPpm, 3)} +/- ${v.skewPpm.toFixed(3)} ppm to ${this.writer.path}`);
    else this.log(`The frequency ${signed(-v.frequencyPpm, 3)} +/- ${v.skewPpm.toFixed(3)} ppm was not saved`);
  }
}
