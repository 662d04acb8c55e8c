/**
 * Many small NTP servers in one process, for `ntpkit fleet`'s tests and
 * benchmark: each is ntpkit's own server (startNtpServer) on its own
 * address, serving the real clock shifted by its own offset (a falseticker)
 * or an unsynchronized state (leap 3, stratum 16). Run as a script:
 *
 *     node dist/testing/fleet-servers.js SPEC.json
 *
 * where SPEC.json is a FleetServerSpec[]; it prints `ready N` on stdout once
 * every socket is bound, and serves until SIGTERM/SIGINT.
 */
import { readFileSync } from 'node:fs';
import { realtime } from '../clock/realtime.js';
import { loadServerConfig } from '../config/load.js';
import { unsynchronizedState } from '../core/system.js';
import { type RunningNtpServer, startNtpServer } from '../daemon/ntp-server.js';
import { runIfMain } from './process.js';

export interface FleetServerSpec {
  readonly address: string;
  readonly port: number;
  /** Seconds added to the served time (default 0). */
  readonly offset?: number;
  /** Serve as unsynchronized (leap 3, stratum 16). */
  readonly unsynchronized?: boolean;
  /** `local stratum N` (default 10). */
  readonly stratum?: number;
}

/** Starts every server; rejects (after closing those started) if one cannot bind. */
export async function startFleetServers(specs: readonly FleetServerSpec[]): Promise<RunningNtpServer[]> {
  const running: RunningNtpServer[] = [];
  try {
    for (const s of specs) {
      const { config } = loadServerConfig(undefined, [`port ${s.port}`, `bindaddress ${s.address}`, 'allow all', `local stratum ${s.stratum ?? 10}`]);
      const delta = BigInt(Math.round((s.offset ?? 0) * 2 ** 32));
      const clock = delta === 0n ? undefined : { now: () => realtime() + delta, fromRealtime: (t: bigint) => t + delta };
      const server = await startNtpServer({ config, ...(clock ? { clock } : {}), log: (l) => process.stderr.write(`${s.address}: ${l}\n`) });
      if (s.unsynchronized) server.setSystemState(unsynchronizedState(server.precision));
      running.push(server);
    }
  } catch (e) {
    await Promise.all(running.map((r) => r.close()));
    throw e;
  }
  return running;
}

runIfMain(import.meta.url, async (argv) => {
  const specs = JSON.parse(readFileSync(argv[0] as string, 'utf8')) as FleetServerSpec[];
  const servers = await startFleetServers(specs);
  process.stdout.write(`ready ${servers.length}\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  await Promise.all(servers.map((s) => s.close()));
  return 0;
});
