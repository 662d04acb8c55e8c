/**
 * The daemon's NTS-KE service, started when the config has ntsservercert and
 * ntsserverkey (read and checked beforehand by config-resources.ts, so a bad
 * file never gets this far): the cookie master keys (loaded from
 * ntsdumpdir/ntskeys, rotated every ntsrotate seconds of operating time,
 * saved after each rotation and at stop) and a KE server per bind address on
 * ntsport. The NTP side of NTS opens cookies with `cookies`.
 */
import { performance } from 'node:perf_hooks';
import type { NtsConfig } from '../config/nts-config.js';
import { NTS_KE_DROP_REASONS, type NtsKeDropReason } from '../core/server/server-stats.js';
import type { CookieKeyRing } from '../crypto/nts-cookie.js';
import { loadNtsKeys, saveNtsKeys } from './nts-keys-file.js';
import { type NtsKeServer, type NtsKeServerStats, type NtsServerCredentials, startNtsKeServer } from './nts-ke-server.js';

export interface NtsKeService {
  /** The master keys: seal and open cookies. */
  readonly cookies: CookieKeyRing;
  readonly servers: readonly NtsKeServer[];
  /** Totals over every KE server. */
  stats(): NtsKeServerStats;
  /** New certificate and key for every listener, which stay open (NtsKeServer.setCredentials). */
  setCredentials(c: NtsServerCredentials): void;
  close(): Promise<void>;
}

export interface NtsKeServiceOptions {
  readonly nts: NtsConfig;
  /** The certificate and key to serve, already loaded and checked (config-resources.ts). */
  readonly credentials: NtsServerCredentials;
  /** Cookie keys to go on with (a restart of the service on reload); default: ntsdumpdir's, or new ones. */
  readonly ring?: CookieKeyRing;
  /** Addresses to listen on (the config's bindaddress lines); empty: every address. */
  readonly bindAddresses: readonly string[];
  /** The NTP port clients should use, when not 123 (sent as a Port Negotiation record). */
  readonly ntpPort?: number;
  readonly log: (line: string) => void;
  /** Monotonic seconds (tests inject one). */
  readonly now?: () => number;
}

/** setTimeout's limit: longer delays are re-armed. */
const MAX_TIMER_MS = 0x7fffffff;

export async function startNtsKeService(o: NtsKeServiceOptions): Promise<NtsKeService> {
  const { nts, log } = o;
  const now = o.now ?? (() => performance.now() / 1000);
  const load = async (): Promise<CookieKeyRing> => {
    const loaded = await loadNtsKeys(nts.dumpDir, now(), { rotateSeconds: nts.rotate });
    if (loaded.status === 'generated' && loaded.warning !== undefined) log(loaded.warning);
    if (loaded.status === 'loaded') log(`Loaded ${loaded.ring.keys.length} NTS cookie key(s) from ${nts.dumpDir}${loaded.rotated ? ', rotated' : ''}`);
    return loaded.ring;
  };
  const ring = o.ring ?? await load();
  // With ntsrotate 0 the keys are managed outside and the file is only read (chrony.conf(5)).
  const persist = nts.dumpDir !== null && nts.rotate !== 0;
  const save = async (): Promise<void> => {
    if (!persist) return;
    try { await saveNtsKeys(nts.dumpDir as string, ring, now()); } catch (e) { log(`Cannot save NTS keys to ${nts.dumpDir}: ${(e as Error).message}`); }
  };
  await save();

  let timer: NodeJS.Timeout | null = null;
  const arm = (): void => {
    const next = ring.nextRotation();
    if (!Number.isFinite(next)) return;
    timer = setTimeout(() => {
      if (ring.rotateIfDue(now())) { log('Rotated the NTS cookie key'); void save(); }
      arm();
    }, Math.min(MAX_TIMER_MS, Math.max(0, (next - now()) * 1000)));
    timer.unref();
  };
  arm();

  const servers: NtsKeServer[] = [];
  const serverOpts = {
    cert: o.credentials.cert, key: o.credentials.key, cookies: ring, port: nts.port, maxConnections: nts.maxConnections,
    ...(nts.ntpServer === null ? {} : { ntpServer: nts.ntpServer }),
    ...(o.ntpPort === undefined || o.ntpPort === 123 ? {} : { ntpPort: o.ntpPort }),
  };
  const addresses = o.bindAddresses.length > 0 ? o.bindAddresses : ['::'];
  try {
    for (const address of addresses) {
      servers.push(await startNtsKeServer({ ...serverOpts, address }).catch(async (e: NodeJS.ErrnoException) => {
        // A host without IPv6 cannot bind [::]: every IPv4 address then.
        if (address === '::' && (e.code === 'EAFNOSUPPORT' || e.code === 'EADDRNOTAVAIL')) return startNtsKeServer({ ...serverOpts, address: '0.0.0.0' });
        throw new Error(`Cannot serve NTS-KE on ${address}:${nts.port}: ${e.code ?? e.message}`);
      }));
    }
  } catch (e) {
    if (timer !== null) clearTimeout(timer);
    for (const s of servers) await s.close();
    throw e;
  }
  log(`Serving NTS-KE on ${servers.map((s) => `${s.address.includes(':') ? `[${s.address}]` : s.address}:${s.port}`).join(', ')}`);

  return {
    cookies: ring,
    servers,
    setCredentials: (c) => { for (const s of servers) s.setCredentials(c); },
    stats: () => {
      const all = servers.map((s) => s.stats());
      const droppedBy: Partial<Record<NtsKeDropReason, number>> = {};
      for (const st of all) for (const r of NTS_KE_DROP_REASONS) if (st.droppedBy[r] !== undefined) droppedBy[r] = (droppedBy[r] ?? 0) + st.droppedBy[r];
      return { accepted: all.reduce((n, s) => n + s.accepted, 0), dropped: all.reduce((n, s) => n + s.dropped, 0), droppedBy };
    },
    async close(): Promise<void> {
      if (timer !== null) clearTimeout(timer);
      for (const s of servers) await s.close();
      await save();
    },
  };
}
