/**
 * The daemon's reference clocks: one driver per `refclock` line (SHM, SOCK,
 * PHC), each feeding its readings to the engine source made from the same
 * line. A driver that cannot start (no addon for SHM, a socket path taken, a
 * PHC that cannot be opened) fails the start with the line's file:line.
 */
import type { Config } from '../config/config.js';
import type { RefclockOptions } from '../core/engine/refclock-options.js';
import { startPhcRefclock, type PhcOpener } from './refclock-phc.js';
import type { RefclockDriverHandle, RefclockSample } from './refclock-reading.js';
import { startShmRefclock, type ShmAccess } from './refclock-shm.js';
import { startSockRefclock } from './refclock-sock.js';

export interface RefclockDeps {
  /** The addon's SHM entry points, or why there are none. */
  readonly shm: () => ShmAccess | string;
  /** Opens a PHC device, or null when this build has no PHC reader. */
  readonly openPhc: PhcOpener | null;
  readonly log: (line: string) => void;
}

export class RunningRefclocks {
  private constructor(private readonly handles: readonly RefclockDriverHandle[]) {}

  /** Starts a driver for each of `c.refclocks`; `feed(i, s)` gets the i-th line's readings. On failure, closes what started and throws. */
  static start(c: Config, feed: (index: number, s: RefclockSample) => void, deps: RefclockDeps): RunningRefclocks {
    const handles: RefclockDriverHandle[] = [];
    try {
      c.refclocks.forEach((rc, i) => {
        try {
          handles.push(startOne(rc.options, {
            sample: (s) => feed(i, s),
            problem: (m) => deps.log(m),
          }, deps));
        } catch (e) {
          throw new Error(`${rc.file}:${rc.line}: refclock ${rc.options.driver} ${rc.options.parameter}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
        }
      });
    } catch (e) {
      for (const h of handles) h.close();
      throw e;
    }
    return new RunningRefclocks(handles);
  }

  close(): void {
    for (const h of this.handles) h.close();
  }
}

function startOne(o: RefclockOptions, sink: { sample: (s: RefclockSample) => void; problem: (m: string) => void }, deps: RefclockDeps): RefclockDriverHandle {
  switch (o.driver) {
    case 'SHM': {
      const shm = deps.shm();
      if (typeof shm === 'string') throw new Error(shm);
      return startShmRefclock(o, shm, sink);
    }
    case 'SOCK':
      return startSockRefclock(o, sink);
    case 'PHC':
      if (deps.openPhc === null) throw new Error('this build has no PHC reader (the addon\'s PTP_SYS_OFFSET support is missing)');
      return startPhcRefclock(o, deps.openPhc, sink);
  }
}

/**
 * Whether two configs name the same reference clocks (a reload keeps the
 * drivers and the engine's refclock sources then). A `tai` clock reads the
 * leap table its engine was made with, so a change of the table's
 * directive counts too.
 */
export function sameRefclocks(a: Config, b: Config): boolean {
  const key = (c: Config): string => JSON.stringify([c.refclocks.map((r) => r.options), c.refclocks.some((r) => r.options.tai) ? [c.leapsectz, c.leapseclist] : null]);
  return key(a) === key(b);
}
