/**
 * `ntpkit server`'s config: the chrony.conf directives of the server side
 * (those the registry gives a server handler), plus `keyfile`. Every other
 * chrony directive is known and reported as a warning, so a full chrony.conf
 * loads; unknown ones, and ntpkit's daemon-only directives, are errors.
 */
import { type ConfigDiagnostic } from './diagnostics.js';
import { type ConfigLine } from './lexer.js';
import { ntsConfigProblem } from './nts-config.js';
import { chronyDirective } from './registry.js';
import { deepFreeze, newServerConfigBuilder, type ServerConfig, type ServerConfigResult } from './server-config.js';

/** Builds the server config from lexed lines (files first, then command-line flags, so later lines win). */
export function parseServerConfig(lines: readonly ConfigLine[]): ServerConfigResult {
  const d = { errors: [] as ConfigDiagnostic[], warnings: [] as ConfigDiagnostic[] };
  const b = newServerConfigBuilder();
  for (const l of lines) {
    const found = chronyDirective(l.directive)?.directive;
    if (found?.server) found.server(b, l, d);
    else if (found && !found.extension) d.warnings.push({ file: l.file, line: l.line, message: `${l.directive}: not used by ntpkit server, ignored` });
    else d.errors.push({ file: l.file, line: l.line, message: `unknown directive "${l.directive}"` });
  }
  const nts = ntsConfigProblem(b.nts);
  const last = lines[lines.length - 1];
  if (nts !== null) d.errors.push({ file: last?.file ?? '(config)', line: last?.line ?? 0, message: nts });
  if (d.errors.length > 0) return { config: null, errors: d.errors, warnings: d.warnings };
  return { config: deepFreeze(b as ServerConfig), errors: d.errors, warnings: d.warnings };
}
