/**
 * `refclock DRIVER PARAMETER[:OPTION...] [OPTION...]` (chrony.conf(5), conf.c
 * parse_refclock): the SHM, SOCK and PHC drivers with chrony 4.3's options
 * and defaults, `tai` and the pulse options (`pps`, `rate`, `lock`,
 * `width`, `maxlockage`). What ntpkit does not implement (the PPS driver,
 * `local`, PHC's `extpps`, `pin`, `channel`, `clear`) is an error at the
 * line, naming it: a clock meant to be read one way must not run as
 * something else.
 */
import { MAX_POLL, MIN_POLL } from '../../core/engine/source-options.js';
import { defaultRefid, REFCLOCK_DEFAULTS, type RefclockDriver, type RefclockOptions } from '../../core/engine/refclock-options.js';
import { errorAt, type ParseState } from '../config-builder.js';
import { type Directive, implemented } from '../directive.js';
import { type ConfigLine } from '../lexer.js';
import { parseInteger, parseNumber } from '../numbers.js';

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** chrony's sourcestats.c keeps at most 64 samples; so does the filter (samplefilt.c MAX_SAMPLES 256, refclock default 64). */
const MAX_STATS_SAMPLES = 64;
const MAX_FILTER = 256;

const DRIVERS: ReadonlySet<string> = new Set(['SHM', 'SOCK', 'PHC']);

/** chrony's refclock options ntpkit refuses, with why. */
const REFUSED: Readonly<Record<string, string>> = {
  local: 'a local reference (free-running PPS) is not implemented',
};

/** Driver options (after ':' in the parameter) each driver takes; the others of chrony's are refused. */
const DRIVER_OPTIONS: Readonly<Record<RefclockDriver, { readonly known: ReadonlySet<string>; readonly refused: Readonly<Record<string, string>> }>> = {
  SHM: { known: new Set(['perm']), refused: {} },
  SOCK: { known: new Set(), refused: {} },
  PHC: {
    // nocrossts: the reader passes over PTP_SYS_OFFSET_PRECISE (src/clock/phc.ts).
    known: new Set(['nocrossts']),
    refused: {
      extpps: 'PHC external PPS (extpps) is not implemented',
      pin: 'PHC pins (pin, for extpps) are not implemented',
      channel: 'PHC channels (channel, for extpps) are not implemented',
      clear: 'PHC clear-edge timestamps (clear, for extpps) are not implemented',
    },
  },
};

type Setter = (o: Mutable<RefclockOptions>, value: string) => string | null;

function int(field: 'poll' | 'dpoll' | 'filter' | 'stratum' | 'minsamples' | 'maxsamples', lo: number, hi: number): Setter {
  return (o, v) => {
    const n = parseInteger(v, lo, hi);
    if (n === null) return `expected an integer from ${lo} to ${hi}`;
    o[field] = n;
    return null;
  };
}

function num(field: 'offset' | 'delay' | 'precision' | 'maxdispersion' | 'width', lo: number): Setter {
  return (o, v) => {
    const n = parseNumber(v);
    if (n === null || n < lo) return lo === -Infinity ? 'expected a number of seconds' : `expected a number of seconds of at least ${lo}`;
    o[field] = n;
    return null;
  };
}

/** chronyd reads a refid with %4s: up to 4 characters; longer is cut there, refused here rather than shown differently. */
function refidValue(field: 'refid' | 'lock'): Setter {
  return (o, v) => {
    if (!/^[\x21-\x7e]{1,4}$/.test(v)) return 'expected 1 to 4 printable characters';
    o[field] = v;
    return null;
  };
}

const VALUED: Readonly<Record<string, Setter>> = {
  refid: refidValue('refid'),
  lock: refidValue('lock'),
  rate: (o, v) => {
    const n = parseInteger(v, -0x80000000, 0x7fffffff);
    if (n === null) return 'expected an integer number of pulses per second';
    // chronyd takes a rate below 1 as 1.
    o.rate = Math.max(1, n);
    return null;
  },
  maxlockage: (o, v) => {
    const n = parseInteger(v, 0, 0x7fffffff);
    if (n === null) return 'expected a number of pulses from 0';
    o.maxlockage = n;
    return null;
  },
  width: num('width', 0),
  poll: int('poll', MIN_POLL, MAX_POLL),
  dpoll: int('dpoll', MIN_POLL, MAX_POLL),
  filter: int('filter', 1, MAX_FILTER),
  stratum: int('stratum', 0, 15),
  minsamples: int('minsamples', 0, MAX_STATS_SAMPLES),
  maxsamples: int('maxsamples', 0, MAX_STATS_SAMPLES),
  offset: num('offset', -Infinity),
  delay: num('delay', 0),
  precision: num('precision', 0),
  maxdispersion: num('maxdispersion', 0),
};

const FLAGS = new Set(['prefer', 'noselect', 'trust', 'require', 'tai', 'pps']);

function parseDriverParameter(s: ParseState, l: ConfigLine, driver: RefclockDriver, raw: string): { parameter: string; options: Record<string, string | true> } | null {
  const [parameter = '', ...opts] = raw.split(':');
  const options: Record<string, string | true> = {};
  const spec = DRIVER_OPTIONS[driver];
  for (const opt of opts) {
    const eq = opt.indexOf('=');
    const name = eq < 0 ? opt : opt.slice(0, eq);
    const why = spec.refused[name];
    if (why !== undefined) { errorAt(s, l, `refclock ${driver}: ${why}`); return null; }
    if (!spec.known.has(name)) { errorAt(s, l, `refclock ${driver}: unknown driver option "${name}"${spec.known.size > 0 ? ` (expected ${[...spec.known].join(', ')})` : ''}`); return null; }
    options[name] = eq < 0 ? true : opt.slice(eq + 1);
  }
  if (driver === 'SHM') {
    if (parseInteger(parameter, 0, 0x7fffffff - 0x4e545030) === null) { errorAt(s, l, `refclock SHM: the segment must be a unit number (0, 1, ...), not "${parameter}"`); return null; }
    const perm = options['perm'];
    if (perm !== undefined && (perm === true || !/^0?[0-7]{1,3}$/.test(perm))) { errorAt(s, l, `refclock SHM: perm must be octal permissions such as 0600, not "${String(perm)}"`); return null; }
  } else if (!parameter.startsWith('/')) {
    errorAt(s, l, `refclock ${driver}: expected an absolute path, not "${parameter}"`);
    return null;
  }
  return { parameter, options };
}

function parseRefclock(s: ParseState, l: ConfigLine): void {
  const [driverName, param, ...rest] = l.args;
  if (driverName === undefined || param === undefined) { errorAt(s, l, 'refclock: expected a driver (SHM, SOCK, PHC) and its parameter'); return; }
  if (driverName === 'PPS') { errorAt(s, l, 'refclock PPS: the PPS driver is not implemented (ntpkit has no kernel PPS support)'); return; }
  if (!DRIVERS.has(driverName)) { errorAt(s, l, `refclock: unknown driver "${driverName}" (expected SHM, SOCK or PHC)`); return; }
  const driver = driverName as RefclockDriver;
  const dp = parseDriverParameter(s, l, driver, param);
  if (dp === null) return;
  const o: Mutable<RefclockOptions> = { ...REFCLOCK_DEFAULTS, driver, parameter: dp.parameter, driverOptions: dp.options, refid: defaultRefid(driver, s.b.refclocks.length) };
  for (let i = 0; i < rest.length; i++) {
    const opt = (rest[i] as string).toLowerCase();
    const refused = REFUSED[opt];
    if (refused !== undefined) { errorAt(s, l, `refclock ${driver} ${param}: option "${opt}": ${refused}`); return; }
    if (FLAGS.has(opt)) { o[opt as 'prefer' | 'noselect' | 'trust' | 'require' | 'tai' | 'pps'] = true; continue; }
    const set = VALUED[opt];
    if (set === undefined) { errorAt(s, l, `refclock ${driver} ${param}: unknown option "${rest[i]}"`); return; }
    const v = rest[++i];
    const err = v === undefined ? 'missing value' : set(o, v);
    if (err !== null) { errorAt(s, l, `refclock ${driver} ${param}: ${opt} ${v ?? ''}: ${err}`.replace(/ : /, ': ')); return; }
  }
  s.b.refclocks.push({ options: o, file: l.file, line: l.line });
}

/**
 * What needs the whole file: `tai` needs a leap second table, which chronyd
 * refuses to start without ("refclock tai option requires leapsectz"); a
 * `lock` must name another refclock's refid. chronyd only warns of a bad
 * lock refid and then runs the pulses unlocked, on the system clock's
 * seconds: here that is an error, as it is not what the line asked for.
 */
export function checkRefclocks(s: ParseState): void {
  const { refclocks } = s.b;
  const leapTable = s.b.leapsectz !== null || s.b.leapseclist !== null;
  refclocks.forEach((rc, i) => {
    const o = rc.options;
    const name = `refclock ${o.driver} ${o.parameter}`;
    if (o.tai && !leapTable) errorAt(s, rc, `${name}: option "tai" needs a leap second table: add leapsectz (such as right/UTC) or leapseclist`);
    if (o.lock !== null && !refclocks.some((other, j) => j !== i && other.options.refid === o.lock)) {
      errorAt(s, rc, `${name}: lock ${o.lock}: no other refclock has refid ${o.lock}`);
    }
  });
}

export const REFCLOCK_DIRECTIVES: readonly Directive[] = [
  {
    chrony: { names: ['refclock'], grammar: 'DRIVER PARAMETER[:OPTION...] [OPTION...]', status: implemented(parseRefclock) },
    field: 'refclocks',
    consumer: 'src/daemon/refclocks.ts',
    default: 'none',
    doc: 'Drivers `SHM` (unit; `:perm=0NNN`), `SOCK` (path) and `PHC` (device; `:nocrossts`). Options: `refid`, `poll`, `dpoll`, `filter`, `offset`, `delay`, `precision`, `maxdispersion`, `stratum`, `minsamples`, `maxsamples`, `prefer`, `noselect`, `trust`, `require`, `tai` (needs `leapsectz` or `leapseclist`), and for pulses `pps`, `rate`, `lock` (another refclock\'s refid), `width`, `maxlockage`, with chrony\'s defaults. Refused at the line: the `PPS` driver, `local`, and PHC\'s `extpps`, `pin`, `channel`, `clear`. See docs/refclocks.md.',
  },
];
