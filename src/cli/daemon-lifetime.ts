/**
 * How `ntpkit daemon` comes to stop: SIGTERM or SIGINT (exit 0), or the
 * engine giving up as chronyd exits when `maxchange` is exceeded more than
 * `ignore` times (a failure status). SIGHUP reloads meanwhile.
 */
export type Signals = Pick<NodeJS.Process, 'on' | 'off'>;

export class DaemonLifetime {
  /** Why the engine gave up, if it did. */
  fatal: string | null = null;
  private stopNow: (why: string) => void = () => {};
  private readonly stopped = new Promise<string>((resolve) => { this.stopNow = resolve; });

  /** The engine's fatal error: stop with a failure status. */
  fail(reason: string): void {
    this.fatal = reason;
    this.stopNow('fatal');
  }

  /** chronyc shutdown: stop as SIGTERM does (exit 0). */
  shutdown(): void {
    this.stopNow('shutdown command');
  }

  /** Waits for the stop, with SIGHUP calling `onHup` until then, and logs why it stops. */
  async run(signals: Signals, onHup: () => void, log: (line: string) => void): Promise<void> {
    signals.on('SIGHUP', onHup);
    const onInt = (): void => this.stopNow('SIGINT');
    const onTerm = (): void => this.stopNow('SIGTERM');
    signals.on('SIGINT', onInt);
    signals.on('SIGTERM', onTerm);
    const why = await this.stopped;
    signals.off('SIGINT', onInt);
    signals.off('SIGTERM', onTerm);
    log(this.fatal === null ? `Stopping (${why})` : `Stopping: ${this.fatal}`);
    signals.off('SIGHUP', onHup);
  }
}
