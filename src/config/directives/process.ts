/**
 * The daemon process: its PID file, locked memory, the RTC's 11-minute
 * mode, manual time input, hardware timestamping and the user it runs as
 * (process-options.ts).
 */
import { errorAt, isHostOrAddress, recordOrigin } from '../config-builder.js';
import { parseNumber } from '../numbers.js';
import { type Directive, implemented } from '../directive.js';
import { type ConfigLine } from '../lexer.js';
import { oneArg, oneInteger } from '../line-args.js';
import { type HwTimestampInterface } from '../process-options.js';
import { type ParseState } from '../config-builder.js';

type Flag = 'lock_all' | 'rtcsync' | 'manual';

function flag(name: Flag, consumer: string, doc: string): Directive {
  return {
    chrony: {
      names: [name],
      grammar: '',
      status: implemented((s, l) => {
        if (l.args.length !== 0) { errorAt(s, l, `${name}: expected no arguments, got "${l.args.join(' ')}"`); return; }
        s.b.process[name] = true;
      }),
    },
    field: `process.${name}`,
    consumer,
    default: 'off',
    doc,
  };
}

const RXFILTERS: ReadonlySet<string> = new Set(['all', 'ntp', 'ptp', 'none']);
/** chrony 4.3's hwtimestamp options: they tune hardware timestamps, which ntpkit never gets here, so only rxfilter (part of the attempt itself) is taken. */
const HW_OPTIONS_WITH_VALUE: ReadonlySet<string> = new Set(['minpoll', 'maxpoll', 'minsamples', 'maxsamples', 'precision', 'txcomp', 'rxcomp', 'rxfilter']);

function hwtimestamp(s: ParseState, l: ConfigLine): void {
  const [iface, ...opts] = l.args;
  if (iface === undefined) { errorAt(s, l, 'hwtimestamp: expected an interface name or *, then options'); return; }
  let rxfilter: HwTimestampInterface['rxfilter'] = 'any';
  for (let i = 0; i < opts.length; i++) {
    const o = opts[i] as string;
    if (o === 'nocrossts') { errorAt(s, l, 'hwtimestamp: option nocrossts is not implemented by ntpkit'); return; }
    if (!HW_OPTIONS_WITH_VALUE.has(o)) { errorAt(s, l, `hwtimestamp: unknown option "${o}"`); return; }
    const v = opts[++i];
    if (v === undefined) { errorAt(s, l, `hwtimestamp: option ${o} needs a value`); return; }
    if (o !== 'rxfilter') { errorAt(s, l, `hwtimestamp: option ${o} is not implemented by ntpkit`); return; }
    if (!RXFILTERS.has(v)) { errorAt(s, l, `hwtimestamp: rxfilter must be all, ntp, ptp or none, got "${v}"`); return; }
    rxfilter = v as HwTimestampInterface['rxfilter'];
  }
  s.b.process.hwtimestamp = [...s.b.process.hwtimestamp, { iface, rxfilter }];
}

function pidfile(s: ParseState, l: ConfigLine): void {
  const f = oneArg(s, l, 'one file name');
  if (f === null) return;
  s.b.process.pidfile = f;
  recordOrigin(s, l, 'pidfile');
}

function initstepslew(s: ParseState, l: ConfigLine): void {
  const [t, ...hosts] = l.args;
  const threshold = parseNumber(t);
  if (threshold === null || threshold < 0 || hosts.length === 0) {
    errorAt(s, l, `initstepslew: expected a threshold in seconds (>= 0) and one or more hosts, got "${l.args.join(' ')}"`);
    return;
  }
  const bad = hosts.find((h) => !isHostOrAddress(h));
  if (bad !== undefined) { errorAt(s, l, `initstepslew: expected a host name or an IP address, got "${bad}"`); return; }
  s.b.process.initstepslew = { threshold, hosts };
}

function user(s: ParseState, l: ConfigLine): void {
  const name = oneArg(s, l, 'one user name');
  if (name === null) return;
  s.b.process.user = name;
  recordOrigin(s, l, 'user');
}

export const PROCESS_DIRECTIVES: readonly Directive[] = [
  {
    chrony: {
      names: ['user'],
      grammar: 'USER',
      status: implemented(user),
    },
    origin: true,
    field: 'process.user',
    consumer: 'src/cli/daemon-user.ts',
    default: 'none (stays as started)',
    doc: 'Started as root, the daemon drops to this user as chronyd does: once its sockets are bound, its clock taken and its memory locked, it leaves every supplementary group, takes the user\'s uid and primary gid, and keeps only the capabilities chronyd 4.3 keeps: CAP_SYS_TIME when it controls the system clock, CAP_NET_BIND_SERVICE when `port` is below 1024, CAP_NET_RAW with `binddevice`/`bindacqdevice` on kernels before 5.7. The control socket\'s directory, `logdir` and `ntsdumpdir` are created owned by the user when they do not exist (as chronyd creates them), so the daemon can still write there. An unknown user stops the start at this line; a failure to drop stops the daemon. Not started as root, or a user with uid and gid 0: nothing is dropped. Needs the native addon.',
  },
  {
    chrony: {
      names: ['dumpdir'],
      grammar: 'DIR',
      status: implemented((s, l) => {
        const d = oneArg(s, l, 'one directory');
        if (d !== null) s.b.process.dumpdir = d;
      }),
    },
    field: 'process.dumpdir',
    consumer: 'src/daemon/source-dumps.ts',
    default: 'none',
    doc: 'Each source\'s samples are saved to DIR/ADDRESS.dat (a reference clock\'s to DIR/refid:HEX.dat), in chronyd 4.3\'s format and atomically, when the daemon stops and on the `dump` command (`ntpkit dump`); `ntpkit daemon -r` loads them at start (as `chronyd -r`), so sources are usable before new replies come. Either daemon reads the other\'s files. As chronyd, the directory is created if missing and the dump files in it are removed once the daemon has started; a file that does not load (corrupt, another source, another version) is logged and ignored.',
  },
  {
    chrony: {
      names: ['pidfile'],
      grammar: 'FILE',
      status: implemented(pidfile),
    },
    ntp: {
      names: ['pidfile'],
      grammar: 'FILE',
      status: implemented(pidfile),
    },
    origin: true,
    field: 'process.pidfile',
    consumer: 'src/cli/daemon-pidfile.ts',
    default: 'none',
    doc: 'Written at start (the PID and a newline) and removed at exit. As chronyd, a daemon refuses to start while the PID in the file is a running process (`Another ntpkit may already be running (pid=N), check FILE`). ntpkit has no default PID file: on the system clock it always holds its clock lock file.',
  },
  flag('lock_all', 'src/cli/daemon-memory.ts',
    'Locks the daemon into RAM through the native addon once it has started, after raising RLIMIT_MEMLOCK as chronyd does: the program, its libraries, the heap and the stack, what a host short of memory would evict and read back at a page fault. Unlike chronyd (mlockall of everything, now and later), V8\'s anonymous memory stays unlocked: V8 aborts the process when it decommits a locked page. The daemon logs how much it locked. Where the limit cannot be raised (no CAP_SYS_RESOURCE) the lock is still tried, since CAP_IPC_LOCK is enough; a failure is logged with chronyd\'s message and the daemon runs on.'),
  flag('rtcsync', 'src/cli/daemon-clock.ts',
    'While synchronized, STA_UNSYNC is cleared and the kernel\'s maxerror/esterror follow each update, so Linux copies the system time to the RTC every 11 minutes. Without it STA_UNSYNC stays set, as with chronyd. On the virtual clock the status word the kernel would get is kept and reported instead.'),
  flag('manual', 'src/daemon/manual-time.ts',
    'Lets the `settime` control command (`ntpkit settime`) set the time; without it `settime` is refused, as chronyd refuses it (`505 Facility not enabled in daemon`).'),
  {
    chrony: {
      names: ['initstepslew'],
      grammar: 'THRESHOLD HOST...',
      status: implemented(initstepslew),
    },
    field: 'process.initstepslew',
    consumer: 'src/daemon/initstepslew.ts',
    default: 'none',
    doc: 'Before polling begins, each host is asked 4 times on port 123 (a majority must agree, as `ntpkit sync` judges it); an offset beyond THRESHOLD is stepped, a smaller one slewed out as fast as `maxslewrate` allows. Logged with chronyd\'s line, `System\'s initial offset : 5.000123 seconds fast of true (step)`, or `No suitable source for initstepslew` when none answered (the daemon then starts as without it).',
  },
  {
    chrony: {
      names: ['clockprecision'],
      grammar: 'SECONDS',
      status: implemented((s, l) => {
        const t = oneArg(s, l, 'a precision in seconds');
        if (t === null) return;
        const n = parseNumber(t);
        // chronyd's bounds (conf.c): above 0, at most 1 s.
        if (n === null || !(n > 0) || n > 1) { errorAt(s, l, `clockprecision: expected seconds above 0 and at most 1, got "${t}"`); return; }
        s.b.process.clockprecision = n;
      }),
    },
    field: 'process.clockprecision',
    consumer: 'src/daemon/sync-daemon.ts',
    default: 'measured at start',
    doc: 'The precision the NTP server announces (its log2, rounded, as chronyd rounds it: 0.001 gives -10) and the engine assumes, instead of the one measured by reading the clock at start.',
  },
  {
    chrony: {
      names: ['sched_priority'],
      grammar: 'PRIORITY',
      status: implemented((s, l) => {
        // chronyd stops at start for a priority outside 1-99 ("Bad scheduler priority"); 0 leaves the scheduling alone.
        const n = oneInteger(s, l, 0, 99, 'a priority from 0 to 99');
        if (n !== null) s.b.process.sched_priority = n;
      }),
    },
    field: 'process.sched_priority',
    consumer: 'src/cli/daemon-memory.ts',
    default: '0 (not changed)',
    doc: 'The daemon\'s event loop thread is moved to SCHED_FIFO at this priority (clamped to the policy\'s range) once it has started, as chronyd does on Linux; a failure is logged with chronyd\'s `sched_setscheduler() failed` and the daemon runs on. Only that thread: Node\'s helper threads (DNS, file I/O) keep the default policy.',
  },
  {
    chrony: {
      names: ['hwtimestamp'],
      grammar: 'IFACE|* [rxfilter all|ntp|ptp|none]',
      status: implemented(hwtimestamp),
    },
    field: 'process.hwtimestamp',
    consumer: 'src/daemon/hw-timestamping.ts',
    default: 'none',
    doc: 'Tries hardware timestamping on the interface (ethtool\'s timestamping capabilities, then SIOCSHWTSTAMP) as chronyd does. A named interface that cannot do it stops the daemon with chronyd\'s `Could not enable HW timestamping on IFACE`; with `*`, interfaces that cannot are passed over and the NTP sockets keep the kernel\'s software timestamps. Every interface ntpkit was tested on falls back: no NIC with hardware timestamping was available, so the hardware path itself is untested. chrony\'s other options (minpoll, maxpoll, min/maxsamples, precision, txcomp, rxcomp, nocrossts) are refused.',
  },
];
