/** Reading config files from disk: the IO edge of src/config. */
import { ConfigFileReader, readFailure } from './bounded-read.js';
import { ConfigError, type ConfigDiagnostic } from './diagnostics.js';
import { type ConfigLine, lexChronyConf } from './lexer.js';
import { parseServerConfig } from './parse-server-config.js';
import { type ServerConfig } from './server-config.js';

/** The pseudo file name of directives given as command-line flags. */
export const COMMAND_LINE = '<command line>';

export interface LoadedServerConfig {
  readonly config: ServerConfig;
  readonly warnings: readonly ConfigDiagnostic[];
}

/**
 * Reads `file` (if given), then the directives from flags, and parses them as
 * one config: flags come last, so they override the file where chrony's
 * semantics let a later line win. Throws ConfigError listing every problem.
 */
export function loadServerConfig(file: string | undefined, flagLines: readonly string[]): LoadedServerConfig {
  const lines: ConfigLine[] = [];
  if (file !== undefined) {
    let text: string;
    try {
      text = new ConfigFileReader().read(file);
    } catch (e) {
      throw new ConfigError([readFailure(file, e)]);
    }
    for (const l of lexChronyConf(text, file)) lines.push(l);
  }
  flagLines.forEach((text, i) => {
    for (const l of lexChronyConf(text, COMMAND_LINE)) lines.push({ ...l, line: i + 1 });
  });
  const r = parseServerConfig(lines);
  if (!r.config) throw new ConfigError(r.errors, r.warnings);
  return { config: r.config, warnings: r.warnings };
}
