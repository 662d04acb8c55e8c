/**
 * The adjtimex status word and error bounds a sync status becomes, as
 * chronyd's sys_timex.c writes them (set_sync_status, set_leap): errors
 * capped at 16 s, a maxError of 16 s or more means unsynchronized, and
 * STA_UNSYNC cleared only while synchronized with `rtcsync`, because the
 * kernel copies the system time to the RTC every 11 minutes exactly while
 * STA_UNSYNC is clear.
 */
import type { ClockStatus } from './clock.js';
import { STATUS_FLAGS } from './kernel-status.js';

/** chrony's MAX_SYNC_ERROR: the kernel sets STA_UNSYNC once maxerror passes 16 s (NTP_PHASE_LIMIT). */
export const MAX_SYNC_ERROR = 16;

export interface StatusWord {
  /** The STA_* bits, other bits of `previous` kept. */
  readonly status: number;
  /** Microseconds, as ADJ_MAXERROR/ADJ_ESTERROR take them. */
  readonly maxerror: number;
  readonly esterror: number;
}

/** The word for `status`, keeping the bits of `previous` this does not own. `clearUnsync`: chrony's rtcsync. */
export function statusWord(previous: number, status: ClockStatus, clearUnsync: boolean): StatusWord {
  let sync = status.synchronized;
  let est = Math.min(Math.max(status.estError, 0), MAX_SYNC_ERROR);
  let max = Math.max(status.maxError, 0);
  if (!sync || max >= MAX_SYNC_ERROR) {
    sync = false;
    max = MAX_SYNC_ERROR;
    if (!status.synchronized) est = MAX_SYNC_ERROR;
  }
  let bits = previous & ~(STATUS_FLAGS.STA_INS | STATUS_FLAGS.STA_DEL | STATUS_FLAGS.STA_UNSYNC);
  if (status.leap === 'insert') bits |= STATUS_FLAGS.STA_INS;
  if (status.leap === 'delete') bits |= STATUS_FLAGS.STA_DEL;
  if (!(sync && clearUnsync)) bits |= STATUS_FLAGS.STA_UNSYNC;
  return { status: bits, maxerror: Math.round(max * 1e6), esterror: Math.round(est * 1e6) };
}
