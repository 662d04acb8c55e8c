/**
 * Config errors and warnings. Every one names its file and line, in the form
 * `file:line: message`, so an operator can go straight to it.
 */

export interface ConfigDiagnostic {
  readonly file: string;
  /** 1-based; 0 when the problem is about the file as a whole. */
  readonly line: number;
  readonly message: string;
}

export function formatDiagnostic(d: ConfigDiagnostic): string {
  return d.line > 0 ? `${d.file}:${d.line}: ${d.message}` : `${d.file}: ${d.message}`;
}

/** Thrown by loaders when a config has errors: the daemon must not start half-configured. */
export class ConfigError extends Error {
  readonly code = 'NTPKIT_CONFIG_INVALID';
  constructor(readonly errors: readonly ConfigDiagnostic[], readonly warnings: readonly ConfigDiagnostic[] = []) {
    super(errors.map(formatDiagnostic).join('\n'));
    this.name = 'ConfigError';
  }
}
