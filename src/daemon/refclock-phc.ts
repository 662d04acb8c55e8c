/**
 * `refclock PHC /dev/ptpN`: a PTP hardware clock, read every 2^dpoll
 * seconds as chrony's refclock_phc.c does: a burst of readings bracketing
 * the PHC between two system clock readings (PTP_SYS_OFFSET_EXTENDED, or
 * PTP_SYS_OFFSET where the driver lacks it; a cross timestamp,
 * PTP_SYS_OFFSET_PRECISE, first unless `:nocrossts`), of which the device
 * keeps the narrowest. The device is opened through an injected opener, so this
 * driver is the same with the addon's reader and with a test's fake.
 */
import type { PhcDevice, PhcOptions, PhcReading } from '../clock/phc.js';
import type { RefclockOptions } from '../core/engine/refclock-options.js';
import { addSeconds, instantFromUnixNanos } from '../time/instant.js';
import { dpollMs, type RefclockDriverHandle, type RefclockSink } from './refclock-reading.js';

/** Opens a device as src/clock/phc.ts's openPhc does (a test gives a fake). */
export type PhcOpener = (path: string, options: PhcOptions) => PhcDevice;

/** Readings per poll: chronyd 4.3 takes the kernel's most, PTP_MAX_SAMPLES. */
export const PHC_READINGS = 25;

export function startPhcRefclock(o: RefclockOptions, open: PhcOpener, sink: RefclockSink): RefclockDriverHandle {
  const dev = open(o.parameter, { nocrossts: o.driverOptions['nocrossts'] === true });
  let failing = false;
  const timer = setInterval(() => {
    let r: PhcReading;
    try {
      r = dev.readOffset(PHC_READINGS);
    } catch (e) {
      // Reported when it starts failing, not at every poll.
      if (!failing) sink.problem(`refclock PHC ${o.parameter}: cannot read: ${e instanceof Error ? e.message : String(e)}`);
      failing = true;
      return;
    }
    failing = false;
    const realtime = instantFromUnixNanos(r.systemTimeNs);
    sink.sample({ realtime, reference: addSeconds(realtime, r.offsetS), leap: 'none' });
  }, dpollMs(o.dpoll));
  return {
    close: () => {
      clearInterval(timer);
      dev.close();
    },
  };
}
