/**
 * `refclock PHC /dev/ptpN`: a PTP hardware clock, read every 2^dpoll
 * seconds as chrony's refclock_phc.c does: a burst of readings bracketing
 * the PHC between two system clock readings (PTP_SYS_OFFSET_EXTENDED, or
 * PTP_SYS_OFFSET where the driver lacks it), of which the device keeps the
 * narrowest. The device is opened through an injected opener, so this
 * driver is the same with the addon's reader and with a test's fake.
 */
import type { RefclockOptions } from '../core/engine/refclock-options.js';
import { addSeconds, instantFromUnixNanos } from '../time/instant.js';
import { dpollMs, type RefclockDriverHandle, type RefclockSink } from './refclock-reading.js';

/** One reading of a PHC against the system clock. */
export interface PhcReading {
  /** PHC time minus system CLOCK_REALTIME, seconds. */
  readonly offsetS: number;
  /** Width of the system-time bracket around the PHC reading, seconds. */
  readonly delayS: number;
  /** CLOCK_REALTIME at the reading, Unix nanoseconds. */
  readonly systemTimeNs: bigint;
  readonly method: 'extended' | 'basic';
}

export interface PhcDevice {
  /** Takes `samples` readings and returns the best (narrowest bracket). Throws on an ioctl failure. */
  readOffset(samples: number): PhcReading;
  close(): void;
}

export type PhcOpener = (path: string) => PhcDevice;

/** Readings per poll (chrony's PHC_READINGS). */
export const PHC_READINGS = 10;

export function startPhcRefclock(o: RefclockOptions, open: PhcOpener, sink: RefclockSink): RefclockDriverHandle {
  const dev = open(o.parameter);
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
