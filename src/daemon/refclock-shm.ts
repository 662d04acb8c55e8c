/**
 * `refclock SHM N`: the shared-memory segment with key 0x4e545030 + N that
 * ntpd, chronyd and gpsd share (native/shm_segment.c reads it by chrony's
 * rules). Like chronyd, ntpkit creates the segment if it is missing (mode
 * `perm`, default 0600, so only root's writer can fill segments 0 and 1, as
 * gpsd expects) and reads it every 2^dpoll seconds; a sample is used once,
 * since the read clears `valid`.
 */
import type { ShmHandle, ShmSample } from '../clock/native.js';
import type { RefclockOptions } from '../core/engine/refclock-options.js';
import { dpollMs, leapOf, type RefclockDriverHandle, type RefclockSink } from './refclock-reading.js';

/** "NTP0": the key of unit 0. */
export const SHM_BASE_KEY = 0x4e545030;

export interface ShmAccess {
  shmAttach(key: number, perm: number): ShmHandle;
  shmRead(handle: ShmHandle): ShmSample | null;
  shmDetach(handle: ShmHandle): void;
}

export function startShmRefclock(o: RefclockOptions, shm: ShmAccess, sink: RefclockSink): RefclockDriverHandle {
  const perm = o.driverOptions['perm'];
  const handle = shm.shmAttach(SHM_BASE_KEY + Number(o.parameter), typeof perm === 'string' ? parseInt(perm, 8) : 0o600);
  let badLeap = 0;
  const timer = setInterval(() => {
    const s = shm.shmRead(handle);
    if (s === null) return;
    const leap = leapOf(s.leap);
    if (leap === null) {
      if (badLeap++ === 0) sink.problem(`refclock SHM ${o.parameter}: sample with leap ${s.leap} (not synchronized) dropped; so are the ones after it`);
      return;
    }
    badLeap = 0;
    sink.sample({ realtime: s.receive, reference: s.clock, leap });
  }, dpollMs(o.dpoll));
  return {
    close: () => {
      clearInterval(timer);
      shm.shmDetach(handle);
    },
  };
}
