/**
 * The server's client table as chronyc `clients` reports it: one row per
 * client address with its request and drop counts, its average request
 * interval (log2 s, from the rate estimates ratelimit.ts keeps) and how long
 * ago it was last heard. Pure: `now` comes in as the table's time scale
 * (clientTime()).
 */
import { type ClientTable, clientKeyOctets, type ClientKey } from './client-table.js';

export interface ClientReport {
  readonly address: string;
  readonly ntpHits: number;
  readonly ntpDrops: number;
  /** log2 of the average interval between its requests, seconds; null while unknown. */
  readonly ntpInterval: number | null;
  /** The same, measured after dropped requests (chronyc's IntL column). */
  readonly ntpTimeoutInterval: number | null;
  /** Seconds since its last request. */
  readonly lastAgo: number;
  /** Its command packets, when the report comes from a daemon that counts them per client (chronyd, read over -h). */
  readonly command?: { readonly hits: number; readonly drops: number; readonly interval: number | null; readonly lastAgo: number | null };
  /** The name chronyc would show for it (its reverse lookup), when read over -h. */
  readonly name?: string;
}

/** RFC 5952 text of 16 octets: lower case, the longest run of two or more zero groups as "::". */
export function formatIPv6(o: Uint8Array): string {
  const g: number[] = [];
  for (let i = 0; i < 16; i += 2) g.push(((o[i] as number) << 8) | (o[i + 1] as number));
  let best = -1, bestLen = 1;
  for (let i = 0; i < 8;) {
    if (g[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) { best = i; bestLen = j - i; }
    i = j;
  }
  const hex = (a: number[]): string => a.map((x) => x.toString(16)).join(':');
  if (best < 0) return hex(g);
  return `${hex(g.slice(0, best))}::${hex(g.slice(best + bestLen))}`;
}

function keyText(key: ClientKey): string {
  const o = clientKeyOctets(key);
  return key.family === 4 ? Array.from(o).join('.') : formatIPv6(o);
}

/** chrony keeps the interval as an int8 log2: round the rate estimate the same way. */
function interval(rate: number): number | null {
  return Number.isFinite(rate) ? Math.round(-rate) : null;
}

/** Every client in the table with at least `minHits` requests, most active first (ties: by address). */
export function clientReports(table: ClientTable, now: number, minHits = 0): ClientReport[] {
  const out: ClientReport[] = [];
  const key: ClientKey = { family: 4, words: new Uint32Array(4) };
  for (let i = 0; i < table.slots; i++) {
    const family = table.family[i];
    if (family !== 4 && family !== 6) continue;
    const hits = table.hits[i] as number;
    if (hits < minHits) continue;
    key.family = family;
    key.words.set(table.words.subarray(4 * i, 4 * i + 4));
    out.push({
      address: keyText(key),
      ntpHits: hits,
      ntpDrops: table.drops[i] as number,
      ntpInterval: interval(table.rate[i] as number),
      ntpTimeoutInterval: interval(table.timeoutRate[i] as number),
      lastAgo: Math.max(0, now - (table.lastSeen[i] as number)),
    });
  }
  return out.sort((a, b) => b.ntpHits - a.ntpHits || (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
}
