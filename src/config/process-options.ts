/**
 * What chrony.conf says about the daemon process itself rather than about
 * time: its PID file, memory locking, the RTC's 11-minute mode, manual time
 * input, hardware timestamping. One group, so each such directive adds a
 * field here and its consumer, and nothing else of the Config changes.
 */

/** `hwtimestamp IFACE [options]`: an interface to try hardware timestamping on ('*': every one). */
export interface HwTimestampInterface {
  readonly iface: string;
  /** `rxfilter`: all, ntp, ptp or none (chrony's default: any it can get, trying all, then ntp). */
  readonly rxfilter: 'any' | 'all' | 'ntp' | 'ptp' | 'none';
}

export interface ProcessOptions {
  /** chrony `pidfile` (ntp.conf too): the daemon's PID, written at start and removed at exit; null: none. */
  readonly pidfile: string | null;
  /** chrony `lock_all`: the program, its libraries, heap and stack locked into RAM (V8's own memory cannot be: cli/daemon-memory.ts). */
  readonly lock_all: boolean;
  /** chrony `rtcsync`: STA_UNSYNC cleared while synchronized, so Linux's 11-minute mode keeps the RTC. */
  readonly rtcsync: boolean;
  /** chrony `manual`: the `settime` command is accepted. */
  readonly manual: boolean;
  /** chrony `hwtimestamp`: interfaces to try hardware timestamping on. */
  readonly hwtimestamp: readonly HwTimestampInterface[];
  /** chrony `initstepslew THRESHOLD HOST...`: measured once at start, the clock stepped beyond THRESHOLD seconds, else slewed. */
  readonly initstepslew: { readonly threshold: number; readonly hosts: readonly string[] } | null;
  /** chrony `clockprecision`: the system clock's precision, seconds, instead of the one measured at start; null: measured. */
  readonly clockprecision: number | null;
  /** chrony `sched_priority`: SCHED_FIFO at this priority (1-99); 0: the default scheduling. */
  readonly sched_priority: number;
  /** chrony `user`: the user the daemon runs as once its sockets are open and its clock is taken; null: it stays as started. */
  readonly user: string | null;
  /** chrony `dumpdir`: where each source's samples are saved at stop and on `dump`, and read back with `-r`; null: not saved. */
  readonly dumpdir: string | null;
}

export const PROCESS_DEFAULTS: ProcessOptions = Object.freeze({
  pidfile: null,
  lock_all: false,
  rtcsync: false,
  manual: false,
  hwtimestamp: Object.freeze([]),
  initstepslew: null,
  clockprecision: null,
  sched_priority: 0,
  user: null,
  dumpdir: null,
});
