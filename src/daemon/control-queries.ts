/**
 * The daemon's mode 6 service (ntpq): the sans-IO responder of
 * core/server/mode6-server.ts with the query access rules of the config, a
 * steady clock for its rate limit, and what the daemon says about itself.
 */
import { readFileSync } from 'node:fs';
import { machine, release, type } from 'node:os';
import { performance } from 'node:perf_hooks';
import type { ServerConfig } from '../config/server-config.js';
import { ControlQueryServer, DEFAULT_QUERY_RATE_LIMIT } from '../core/server/mode6-server.js';
import type { HostInfo, QueryView } from '../core/server/mode6-variables.js';
import type { ControlQueries } from './ntp-server.js';
import { queryAccessTable } from './query-access.js';

/** A responder for one server's lifetime (a reload that restarts the server starts a new one, as the NTP counters). */
export function controlQueries(config: ServerConfig, view: () => QueryView): ControlQueries {
  const server = new ControlQueryServer({ access: queryAccessTable(config), rateLimit: DEFAULT_QUERY_RATE_LIMIT });
  return {
    answer: (packet, address, port) => {
      const a = server.handle({ packet, address, port, elapsed: performance.now() / 1000, view });
      return a.action === 'respond' ? a.datagrams : [];
    },
    stats: () => server.stats(),
  };
}

let host: HostInfo | null = null;

/** ntpd's `version`, `processor` and `system` variables for this process ("Linux/6.1.0-18-amd64", as ntpd's uname). */
export function hostInfo(): HostInfo {
  if (host === null) {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    host = { version: `ntpkit ${pkg.version}`, processor: machine(), system: `${type()}/${release()}` };
  }
  return host;
}
