/**
 * Seed inputs from the repository's own fixtures: the golden packets chronyd
 * and ntpdig sent on loopback (src/proto/fixtures) and the config fixtures.
 * Read from the source tree, as the golden tests do (tests run from dist/).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const PACKETS = fileURLToPath(new URL('../../../src/proto/fixtures/', import.meta.url));
const CONFIGS = fileURLToPath(new URL('../../../src/config/fixtures/', import.meta.url));

interface GoldenFile {
  readonly packets: readonly { readonly direction: string; readonly hex: string }[];
}

/** Every golden packet, with the direction it travelled ("client-to-server", "server-to-client", "broadcast"...). */
export function goldenPackets(): { direction: string; bytes: Uint8Array }[] {
  const out: { direction: string; bytes: Uint8Array }[] = [];
  for (const f of readdirSync(PACKETS).filter((n) => n.endsWith('.json')).sort()) {
    const g = JSON.parse(readFileSync(PACKETS + f, 'utf8')) as GoldenFile;
    for (const p of g.packets) out.push({ direction: p.direction, bytes: new Uint8Array(Buffer.from(p.hex, 'hex')) });
  }
  return out;
}

/** The config fixtures of one format, as UTF-8 bytes. */
export function configFixtures(format: 'chrony' | 'ntp'): Uint8Array[] {
  // Files only: subdirectories hold other tests' fixtures.
  return readdirSync(CONFIGS, { withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => d.name)
    .filter((n) => (format === 'ntp') === n.endsWith('.ntp.conf'))
    .sort()
    .map((n) => new Uint8Array(readFileSync(CONFIGS + n)));
}

export const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
