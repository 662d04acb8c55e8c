/**
 * Reloads for SIGHUP and the `reload` command: one at a time, in the order
 * asked, and a config that does not load or apply changes nothing (the
 * running one stays in force, and the caller is told why).
 */
import { messageWithCode } from '../config/bounded-read.js';
import type { Config } from '../config/config.js';
import { formatDiagnostic } from '../config/diagnostics.js';
import { ControlError } from '../control/errors.js';
import type { SyncDaemon } from '../daemon/sync-daemon.js';
import { type DaemonConfigSource, reportConfig } from './daemon-config-source.js';
import type { Io } from './io.js';

export interface ReloadResult {
  readonly sources: number;
  readonly file: string;
}

/** What else a reload applies besides the daemon (the dashboard's address and host names). */
export type ApplyExtras = (config: Config) => Promise<void>;

export class ConfigReloader {
  private reloading: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly source: DaemonConfigSource,
    private readonly daemon: SyncDaemon,
    private readonly applyExtras: ApplyExtras,
    private readonly io: Io,
    private readonly log: (line: string) => void,
    /** Applied before the daemon, so that its failure leaves everything as it was (the command endpoints). */
    private readonly applyFirst?: ApplyExtras,
  ) {}

  /** Rejects with a `bad-config` ControlError when the running configuration stays. */
  reload(why: string): Promise<ReloadResult> {
    const run = (): Promise<ReloadResult> => this.run(why);
    const p = this.reloading.then(run, run);
    this.reloading = p.catch(() => undefined);
    return p;
  }

  /** Resolves once no reload is running or queued. */
  settled(): Promise<unknown> {
    return this.reloading;
  }

  private async run(why: string): Promise<ReloadResult> {
    const name = this.source.name;
    this.log(`Reloading ${name} (${why})`);
    const next = await this.source.load();
    if (!reportConfig(this.io, next, 'the running configuration stays in force')) {
      const where = next.errors.map((e) => formatDiagnostic(e)).join('; ');
      throw new ControlError('bad-config', `Cannot reload ${name}: ${where}; the running configuration stays in force`);
    }
    try {
      await this.applyFirst?.(next.config);
      await this.daemon.reconfigure(next.config, next.resources);
      await this.applyExtras(next.config);
    } catch (e) {
      this.log(`Cannot apply the new configuration: ${messageWithCode(e)}; the running configuration stays in force`);
      throw new ControlError('bad-config', `Cannot apply ${name}: ${messageWithCode(e)}; the running configuration stays in force`);
    }
    return { sources: next.config.sources.length, file: name };
  }
}
