/** Statistics logs (chrony's logdir, log and logbanner; ntpd's statsdir, statistics and logfile). */
import { DEFAULT_LOGBANNER } from '../config.js';
import { errorAt, oneValue, recordOrigin, warnAt } from '../config-builder.js';
import { type Directive, implemented } from '../directive.js';
import { oneInteger } from '../line-args.js';

const STATS_LOG = 'src/daemon/stats-log.ts';

/** chrony `log` options (chrony.conf(5), "Logging"). */
const CHRONY_LOG_OPTIONS: ReadonlySet<string> = new Set([
  'rawmeasurements', 'measurements', 'statistics', 'selection', 'tracking', 'rtc', 'refclocks', 'tempcomp',
]);

/** ntp.conf statistics names and the chrony `log` option each corresponds to (null: nothing similar). */
const STATISTICS: Readonly<Record<string, string | null>> = {
  loopstats: 'tracking',
  peerstats: 'measurements',
  rawstats: 'rawmeasurements',
  clockstats: 'refclocks',
  sysstats: null,
  cryptostats: null,
  protostats: null,
  timingstats: null,
  usestats: null,
  ntsstats: null,
  ntskestats: null,
};

export const LOGGING_DIRECTIVES: readonly Directive[] = [
  {
    chrony: {
      names: ['logdir'],
      grammar: 'DIR',
      status: implemented(oneValue('one directory', (s, f) => { s.b.logdir = f; })),
    },
    ntp: {
      names: ['statsdir'],
      grammar: 'DIR',
      status: implemented(oneValue('one directory', (s, p, l) => { s.b.logdir = p; recordOrigin(s, l, 'logdir'); })),
    },
    origin: true,
    field: 'logdir',
    consumer: STATS_LOG,
    default: 'none',
    doc: '',
  },
  {
    chrony: {
      names: ['log'],
      grammar: 'OPTION...',
      status: implemented((s, l) => {
        const a = l.args;
        const bad = a.filter((o) => !CHRONY_LOG_OPTIONS.has(o));
        if (bad.length > 0) {
          errorAt(s, l, `log: unknown option${bad.length > 1 ? 's' : ''} ${bad.map((o) => `"${o}"`).join(', ')} (expected ${[...CHRONY_LOG_OPTIONS].join(', ')})`);
          return;
        }
        for (const o of a) if (!s.b.log.includes(o)) s.b.log.push(o);
      }),
    },
    ntp: {
      names: ['statistics'],
      grammar: 'NAME...',
      status: implemented((s, l) => {
        const a = l.args;
        const bad = a.filter((n) => !Object.hasOwn(STATISTICS, n));
        if (bad.length > 0) {
          errorAt(s, l, `statistics: unknown statistics ${bad.map((n) => `"${n}"`).join(', ')} (expected ${Object.keys(STATISTICS).join(', ')})`);
          return;
        }
        const unmapped = a.filter((n) => STATISTICS[n] === null);
        for (const n of a) {
          const log = STATISTICS[n];
          if (log && !s.b.log.includes(log)) s.b.log.push(log);
        }
        if (unmapped.length > 0) warnAt(s, l, `statistics: ${unmapped.join(', ')} not implemented by ntpkit, ignored`);
      }),
    },
    field: 'log',
    consumer: STATS_LOG,
    default: 'none',
    doc: 'Options are checked against chrony\'s list; repeated lines add up. ntp.conf: `loopstats` → `tracking`, `peerstats` → `measurements`, `rawstats` → `rawmeasurements`, `clockstats` → `refclocks`; the others give a warning.',
  },
  {
    chrony: {
      names: ['logbanner'],
      grammar: 'N',
      status: implemented((s, l) => {
        const n = oneInteger(s, l, 0, 0x7fffffff, 'a whole number of log entries');
        if (n !== null) s.b.logbanner = n;
      }),
    },
    field: 'logbanner',
    consumer: STATS_LOG,
    default: String(DEFAULT_LOGBANNER),
    doc: 'The column banner is written before every this many entries of each log file; 0 never.',
  },
  {
    ntp: {
      names: ['logfile'],
      grammar: 'FILE',
      status: implemented(oneValue('one file name', (s, p) => { s.b.logfile = p; })),
    },
    field: 'logfile',
    consumer: 'src/cli/validate-command.ts',
    default: 'stderr',
    doc: 'Recorded and shown by `validate`; the daemon logs to stderr (systemd style).',
  },
];
