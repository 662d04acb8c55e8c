/**
 * The config's resources as the sync daemon takes them: all loaded, or the
 * daemon does not start (or reload).
 */
import type { Config } from '../config/config.js';
import { ConfigError, formatDiagnostic } from '../config/diagnostics.js';
import { type ConfigResources, type KeyTable, loadConfigResources } from './config-resources.js';

/**
 * The config's resources, or a ConfigError naming each problem once with its
 * file:line (the daemon does not start, or reload, on any). Warnings go to the log.
 */
export async function loadOrRefuse(c: Config, serve: boolean, log: (line: string) => void): Promise<ConfigResources> {
  const r = await loadConfigResources(c, { serve, control: false, http: false });
  for (const w of r.warnings) log(`Warning: ${formatDiagnostic(w)}`);
  if (r.resources === null) throw new ConfigError(r.errors, r.warnings);
  return r.resources;
}

export function logKeys(c: Config, keys: KeyTable | null, log: (line: string) => void): void {
  if (keys !== null) log(`Loaded ${keys.size} symmetric key${keys.size === 1 ? '' : 's'} from ${c.keyfile as string}`);
}
