/**
 * chrony's `manual`: the `settime` command (an operator typing the time read
 * off a trusted clock) is carried out only when manual input is enabled (the
 * directive at start, chronyc `manual on|off` at run time), because it
 * overrides every source; without it the command is refused, as chronyd
 * answers "505 Facility not enabled". Each settime taken is kept as a sample
 * for `manual list` and `manual delete`, as chronyd's manual.c keeps them.
 */
import type { EngineCommand, EngineCommandResult } from '../core/engine/engine-api.js';

/** chronyd keeps at most this many (manual.c MAX_SAMPLES). */
const MAX_SAMPLES = 16;

/** One settime, as `manual list` shows it. */
export interface ManualSample {
  /** Unix seconds of the settime (the time given). */
  readonly when: number;
  /** How far the clock was ahead of the time given, seconds. */
  readonly offset: number;
  /** The clock's steps and slews so far when it was taken (the engine's clock phase), seconds; absent: not known. */
  readonly phase?: number;
}

/** A manual sample with the residual of the line fitted through all of them (chronyc manual list). */
export interface ManualListRow extends ManualSample {
  readonly residual: number;
  /** The offset moved by the slews and steps of the clock since it was taken (chronyd's slewed offset); absent: as taken. */
  readonly slewedOffset?: number;
}

export class ManualTime {
  private readonly samples: ManualSample[] = [];

  constructor(private enabled: boolean) {}

  setEnabled(on: boolean): void {
    this.enabled = on;
  }

  /** The refusal of `command`, or null when it may run. */
  refuse<C extends EngineCommand>(command: C): EngineCommandResult<C['op']> | null {
    if (command.op !== 'settime' || this.enabled) return null;
    return { ok: false, code: 'not-enabled', message: 'Facility not enabled in daemon: settime needs the manual directive in the configuration (or manual on)' };
  }

  /** A settime carried out. */
  record(s: ManualSample): void {
    this.samples.push(s);
    if (this.samples.length > MAX_SAMPLES) this.samples.shift();
  }

  reset(): void {
    this.samples.length = 0;
  }

  /** Removes sample `index`; false when there is none. */
  delete(index: number): boolean {
    if (!Number.isInteger(index) || index < 0 || index >= this.samples.length) return false;
    this.samples.splice(index, 1);
    return true;
  }

  /**
   * The samples with their residuals from the least-squares line of offset
   * against time (0 with fewer than 2 samples). Given the clock's phase now,
   * each also has its slewed offset: the offset moved by every step and slew
   * since it was taken, the settime's own correction included, as chronyd's
   * manual.c moves its samples at each change of the clock.
   */
  list(phaseNow?: number): ManualListRow[] {
    const slewed = (s: ManualSample): { slewedOffset?: number } =>
      (phaseNow === undefined || s.phase === undefined ? {} : { slewedOffset: s.offset + (phaseNow - s.phase) });
    const rows = this.fit();
    return rows.map((r, i) => ({ when: r.when, offset: r.offset, residual: r.residual, ...slewed(this.samples[i] as ManualSample) }));
  }

  private fit(): ManualListRow[] {
    const n = this.samples.length;
    if (n < 2) return this.samples.map((s) => ({ ...s, residual: 0 }));
    const t0 = this.samples[0]?.when ?? 0;
    const xs = this.samples.map((s) => s.when - t0);
    const mx = xs.reduce((a, b) => a + b, 0) / n;
    const my = this.samples.reduce((a, s) => a + s.offset, 0) / n;
    const sxx = xs.reduce((a, x) => a + (x - mx) ** 2, 0);
    const slope = sxx === 0 ? 0 : this.samples.reduce((a, s, i) => a + ((xs[i] as number) - mx) * (s.offset - my), 0) / sxx;
    return this.samples.map((s, i) => ({ ...s, residual: s.offset - (my + slope * ((xs[i] as number) - mx)) }));
  }
}
