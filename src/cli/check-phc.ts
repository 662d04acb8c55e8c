/**
 * `ntpkit check --phc DEVICE[:nocrossts]`: one reading of a PTP hardware
 * clock, as check metrics. The offset is the PHC's time minus the system
 * clock's, check_ntp_time's sign (the reference minus this host); the delay
 * is the width of the system-time bracket of the sample used.
 */
import type { CheckInput } from '../core/tools/check.js';
import { CheckState } from '../core/tools/check.js';
import { openPhc, PhcError } from '../clock/phc.js';

/** Samples per reading, as chronyd's PHC driver takes (PHC_READINGS). */
export const CHECK_PHC_SAMPLES = 25;

export type PhcCheck =
  | { readonly input: CheckInput }
  | { readonly input: null; readonly state: CheckState; readonly message: string };

/** Reads the PHC named as refclock PHC names it (`/dev/ptp0`, `/dev/ptp0:nocrossts`). */
export function checkPhc(spec: string): PhcCheck {
  const [path = '', ...opts] = spec.split(':');
  const unknown = opts.filter((o) => o !== 'nocrossts');
  if (path === '' || unknown.length > 0) {
    return { input: null, state: CheckState.UNKNOWN, message: `--phc ${spec}: expected DEVICE or DEVICE:nocrossts${unknown.length > 0 ? ` (unknown option ${unknown.join(', ')})` : ''}` };
  }
  let dev;
  try {
    dev = openPhc(path, { nocrossts: opts.includes('nocrossts') });
  } catch (e) {
    // Nothing to judge: a device that is missing, unreadable or not a PHC is a check that cannot run.
    if (e instanceof PhcError) return { input: null, state: CheckState.UNKNOWN, message: e.message };
    throw e;
  }
  try {
    const r = dev.readOffset(CHECK_PHC_SAMPLES);
    return {
      input: {
        target: `PHC ${path}, ${r.method} reading`, synchronized: true,
        metrics: { offset: r.offsetS, stratum: null, jitter: null, sources: null, reach: null, delay: r.delayS },
      },
    };
  } catch (e) {
    // A PHC that opens but cannot be read is a clock source that is down.
    if (e instanceof PhcError) return { input: null, state: CheckState.CRITICAL, message: e.message };
    throw e;
  } finally {
    dev.close();
  }
}
