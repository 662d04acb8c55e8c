/**
 * How ntpq sees a source: the refid and stratum its peer list shows, and
 * the offset it reports. One definition for `ntpkit peers` (ntpq's layout)
 * and the mode 6 peer variables (ntpq itself), so the two cannot disagree.
 */
import { formatRefId } from '../../proto/refid.js';
import type { SourceSnapshot } from './snapshot.js';

/**
 * The refid (plain: "INIT", "GPS", "192.0.2.1"; ntpq puts a code in dots)
 * and stratum ntpq shows: a source that never answered is INIT at stratum
 * 16; one that sent a kiss-o'-death before any time, or that refuses us
 * now, shows the code (RATE, DENY).
 */
export function ntpqRefIdAndStratum(src: SourceSnapshot): [refid: string, stratum: number] {
  if (src.kod?.action === 'refused') return [src.kod.code, 16];
  if (src.stratum === 0) return [src.kissCode ?? 'INIT', 16];
  return [formatRefId(src.referenceId, src.stratum, 'plain'), src.stratum];
}

/** The offset ntpq would show: the source's filtered estimate, else its last sample (RFC 5905 theta, seconds). */
export function ntpqOffset(src: SourceSnapshot): number {
  if (src.stats.samples > 0) return src.stats.offset;
  return src.lastSample?.adjustedOffset ?? 0;
}
