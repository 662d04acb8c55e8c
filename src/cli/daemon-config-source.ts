/**
 * Where `ntpkit daemon` reads its configuration: the -f file, or the
 * built-in text, re-parsed on each reload as a file would be re-read. What
 * the config names (key file, certificates, addresses...) gets the same
 * checks as `ntpkit validate`.
 */
import { formatDiagnostic } from '../config/diagnostics.js';
import { BUILT_IN_CONFIG_NAME } from '../config/default-config.js';
import { loadConfig, parseConfigText } from '../config/parse-config.js';
import { loadRunnableConfig, type RunnableConfig } from '../daemon/config-resources.js';
import type { Io } from './io.js';

export type ReadyConfig = Extract<RunnableConfig, { ok: true }>;

export class DaemonConfigSource {
  /** How log lines and errors name it. */
  readonly name: string;

  /**
   * `builtIn`: the text used without a file. `checkHttp`: false when --http
   * overrides httpaddress, whose address is then not the config's to check.
   */
  constructor(private readonly file: string | undefined, private readonly builtIn: string, private readonly checkHttp: boolean) {
    this.name = file ?? 'the built-in configuration';
  }

  get isBuiltIn(): boolean {
    return this.file === undefined;
  }

  async load(): Promise<RunnableConfig> {
    const parsed = this.file === undefined
      ? parseConfigText(this.builtIn, BUILT_IN_CONFIG_NAME, { format: 'chrony' })
      : await loadConfig(this.file);
    return loadRunnableConfig(parsed, { http: this.checkHttp });
  }
}

/** Prints errors and warnings as file:line lines, each once; false when there are errors. */
export function reportConfig(io: Io, r: RunnableConfig, consequence: string): r is ReadyConfig {
  for (const w of r.warnings) io.err(`ntpkit daemon: warning: ${formatDiagnostic(w)}`);
  if (r.ok) return true;
  for (const e of r.errors) io.err(`ntpkit daemon: ${formatDiagnostic(e)}`);
  io.err(`ntpkit daemon: ${consequence}: the configuration has ${r.errors.length} error${r.errors.length === 1 ? '' : 's'}`);
  return false;
}
