/**
 * chrony's `hwtimestamp`: before the NTP sockets open, each interface named
 * is asked (ETHTOOL_GET_TS_INFO, as chronyd's add_interface asks) whether it
 * stamps packets in hardware. ntpkit's sockets read only the kernel's
 * software stamps, so an interface that could do it is never switched over
 * (SIOCSHWTSTAMP is not issued):
 * - a named interface that cannot stops the daemon, with chronyd's fatal
 *   `Could not enable HW timestamping on IFACE`; one that could stops it
 *   too, saying ntpkit cannot read hardware stamps, rather than silently
 *   giving worse stamps than the operator asked for;
 * - `*` passes over every interface that cannot, as chronyd does, and the
 *   sockets keep kernel software timestamps.
 */
import { networkInterfaces } from 'node:os';
import { loadNative } from '../clock/native.js';
import type { Config } from '../config/config.js';

/** What an interface answered: hardware stamps possible, or why not. */
export type HwAnswer = { readonly hardware: true } | { readonly hardware: false; readonly reason: string };

/** How interfaces are asked (tests give their own). */
export interface HwProbe {
  ask(iface: string): HwAnswer;
  /** Every interface with an address, as chronyd's getifaddrs() walk for `*` finds them. */
  interfaces(): string[];
}

export const kernelHwProbe: HwProbe = {
  ask(iface) {
    const n = loadNative();
    const info = n.ok ? n.addon.hwTimestampInfo : undefined;
    if (!n.ok || info === undefined) return { hardware: false, reason: n.ok ? 'the native addon has no hwTimestampInfo() (stale build?)' : n.reason };
    const r = info.call(n.addon, iface);
    if (!r.ok) return { hardware: false, reason: `${r.step}: ${r.error}` };
    if (!('hardware' in r) || !r.hardware) return { hardware: false, reason: 'the interface has no hardware RX/TX timestamping (ethtool -T)' };
    return { hardware: true };
  },
  interfaces: () => Object.keys(networkInterfaces()),
};

/** Checks `config.process.hwtimestamp`; throws chronyd's fatal error for a named interface, logs how `*` fell back. */
export function checkHwTimestamping(config: Config, log: (line: string) => void, probe: HwProbe = kernelHwProbe): void {
  for (const { iface } of config.process.hwtimestamp) {
    if (iface === '*') {
      const all = probe.interfaces();
      const capable = all.filter((i) => probe.ask(i).hardware);
      for (const i of capable) log(`HW timestamping is available on ${i}, but ntpkit reads only kernel software timestamps`);
      log(`No HW timestamping on ${all.length === 0 ? 'any interface' : all.join(', ')}: using kernel software timestamps`);
      continue;
    }
    const a = probe.ask(iface);
    if (!a.hardware) throw new Error(`Could not enable HW timestamping on ${iface} (${a.reason})`);
    throw new Error(`Could not enable HW timestamping on ${iface} (ntpkit reads only kernel software timestamps; remove the hwtimestamp line)`);
  }
}
