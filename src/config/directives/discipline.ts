/**
 * How the clock is disciplined: chrony's makestep, maxchange, maxslewrate,
 * maxdistance, maxdrift, logchange, minsources, the sample limits and leap
 * second handling, and ntp.conf's tinker and tos, which map onto the same
 * settings with ntpd's meaning (see ntp-conf.ts).
 */
import { type AuthSelectMode, DISCIPLINE_DEFAULTS, type DisciplineOptions, type LeapSecMode } from '../../core/engine/engine-api.js';
import { errorAt, oneValue, type ParseState, warnAt } from '../config-builder.js';
import { type Directive, implemented } from '../directive.js';
import { type ConfigLine } from '../lexer.js';
import { parseInteger, parseNumber } from '../numbers.js';
import { clampSamples } from '../source-line.js';
import { parseTinker, parseTos } from '../ntp-tune.js';
import { oneArg, oneInteger } from '../line-args.js';

const DISCIPLINE = 'src/core/engine/discipline.ts';
const SELECTION = 'src/core/engine/selection.ts';
const ENGINE = 'src/core/engine/engine.ts';
const REFERENCE = 'src/core/engine/reference.ts';
const LEAP_MODES: readonly LeapSecMode[] = ['system', 'step', 'slew', 'ignore'];

function positive(s: ParseState, l: ConfigLine, unit: string): number | null {
  const t = oneArg(s, l, `a number of ${unit} above 0`);
  if (t === null) return null;
  const n = parseNumber(t);
  if (n === null || n <= 0) { errorAt(s, l, `${l.directive}: expected a number of ${unit} above 0, got "${t}"`); return null; }
  return n;
}

type PositiveField = 'maxslewrate' | 'maxdistance' | 'maxdrift' | 'logchange' | 'maxclockerror' | 'maxjitter' | 'maxupdateskew' | 'combinelimit';
const AUTH_SELECT_MODES: readonly AuthSelectMode[] = ['require', 'prefer', 'mix', 'ignore'];

/** A chrony directive naming one of a few modes. */
function modeDirective<K extends 'authselectmode' | 'leapsecmode'>(name: K, modes: readonly DisciplineOptions[K][], consumer: string, doc: string): Directive {
  const list = `${modes.slice(0, -1).join(', ')} or ${modes[modes.length - 1] as string}`;
  return {
    chrony: {
      names: [name],
      grammar: modes.join('|'),
      status: implemented((s, l) => {
        const m = oneArg(s, l, list);
        if (m === null) return;
        const mode = modes.find((x) => x === m);
        if (mode === undefined) errorAt(s, l, `${name}: expected ${list}, got "${m}"`);
        else (s.b.discipline as Record<K, DisciplineOptions[K]>)[name] = mode;
      }),
    },
    field: `discipline.${name}`,
    consumer,
    default: DISCIPLINE_DEFAULTS[name],
    doc,
  };
}

/** A chrony directive taking one number of seconds, 0 or more. */
function nonNegativeDirective(name: 'reselectdist' | 'stratumweight', doc: string): Directive {
  return {
    chrony: {
      names: [name],
      grammar: 'SECONDS',
      status: implemented((s, l) => {
        const t = oneArg(s, l, 'a number of seconds, 0 or more');
        if (t === null) return;
        const n = parseNumber(t);
        if (n === null || n < 0) errorAt(s, l, `${name}: expected a number of seconds, 0 or more, got "${t}"`);
        else s.b.discipline[name] = n;
      }),
    },
    field: `discipline.${name}`,
    consumer: SELECTION,
    default: String(DISCIPLINE_DEFAULTS[name]),
    doc,
  };
}

/** A chrony directive taking one number above 0. */
function positiveDirective(name: PositiveField, unit: string, consumer: string, doc: string): Directive {
  return {
    chrony: {
      names: [name],
      grammar: unit === 'ppm' ? 'PPM' : unit === 'a ratio' ? 'RATIO' : 'SECONDS',
      status: implemented((s, l) => {
        const n = positive(s, l, unit);
        if (n !== null) s.b.discipline[name] = n;
      }),
    },
    field: `discipline.${name}`,
    consumer,
    default: String(Number(DISCIPLINE_DEFAULTS[name].toFixed(3))),
    doc,
  };
}

function samplesDirective(name: 'minsamples' | 'maxsamples'): Directive {
  return {
    chrony: {
      names: [name],
      grammar: 'N',
      status: implemented((s, l) => {
        const n = oneInteger(s, l, 0, Number.MAX_SAFE_INTEGER, 'a whole number of samples >= 0');
        if (n !== null) s.b[name] = clampSamples(s, l, name, n);
      }),
    },
    field: `sources.${name}`,
    consumer: 'src/core/engine/source-measurement.ts',
    default: 'chrony\'s (per source)',
    doc: 'The default for sources that do not set their own; above 64 clamped, as chronyd does.',
  };
}

/** chrony's `smoothtime MAXFREQ MAXWANDER [leaponly]`; as chronyd, a limit of 0 or less leaves smoothing off. */
function parseSmoothtime(s: ParseState, l: ConfigLine): void {
  const a = l.args;
  const maxFreqPpm = parseNumber(a[0]);
  const maxWanderPpm = parseNumber(a[1]);
  const extra = a[2];
  if (a.length < 2 || a.length > 3 || maxFreqPpm === null || maxWanderPpm === null || (extra !== undefined && extra.toLowerCase() !== 'leaponly')) {
    errorAt(s, l, `smoothtime: expected a maximum frequency (ppm), a maximum wander (ppm per second) and optionally leaponly, got "${a.join(' ')}"`);
    return;
  }
  if (maxFreqPpm <= 0 || maxWanderPpm <= 0) {
    warnAt(s, l, 'smoothtime with a limit of 0 or less: the served time is not smoothed (as chronyd)');
    s.b.discipline.smoothtime = null;
    return;
  }
  s.b.discipline.smoothtime = { maxFreqPpm, maxWanderPpm, leapOnly: extra !== undefined };
}

/**
 * chrony's `fallbackdrift MIN MAX`: two whole exponents. chronyd keeps no
 * fallback drift unless 0 < MIN <= MAX (it says nothing then; we warn), and
 * an exponent above 30 overflows its 32-bit span, so it is an error here.
 */
function parseFallbackdrift(s: ParseState, l: ConfigLine): void {
  const a = l.args;
  const min = parseInteger(a[0], -0x80000000, 0x7fffffff);
  const max = parseInteger(a[1], -0x80000000, 0x7fffffff);
  if (a.length !== 2 || min === null || max === null) {
    errorAt(s, l, `fallbackdrift: expected two whole exponents (log2 of seconds), the shortest and the longest averaging span, got "${a.join(' ')}"`);
    return;
  }
  if (min > FALLBACK_MAX_EXPONENT || max > FALLBACK_MAX_EXPONENT) {
    errorAt(s, l, `fallbackdrift: an exponent above ${FALLBACK_MAX_EXPONENT} (2^${FALLBACK_MAX_EXPONENT} seconds, 34 years) is out of range, got "${a.join(' ')}"`);
    return;
  }
  if (min <= 0 || max < min) {
    warnAt(s, l, `fallbackdrift ${min} ${max}: no fallback drift is kept unless 0 < MIN <= MAX (as chronyd)`);
    s.b.discipline.fallbackdrift = null;
    return;
  }
  s.b.discipline.fallbackdrift = { min, max };
}

const FALLBACK_MAX_EXPONENT = 30;

const leapFile = oneValue('one file name', (s, f) => { s.b.leapseclist = f; });

function describeStep(d: DisciplineOptions): string {
  return d.makestep ? `${d.makestep.threshold} ${d.makestep.limit}` : 'none (slew only)';
}

export const DISCIPLINE_DIRECTIVES: readonly Directive[] = [
  {
    chrony: {
      names: ['makestep'],
      grammar: 'THRESHOLD LIMIT',
      status: implemented((s, l) => {
        const a = l.args;
        const threshold = parseNumber(a[0]);
        const limit = parseInteger(a[1], -0x80000000, 0x7fffffff);
        // chronyd takes any threshold; a negative one steps on every update within the limit.
        if (a.length !== 2 || threshold === null || limit === null) {
          errorAt(s, l, `makestep: expected a threshold in seconds and a limit of updates (an integer, negative for no limit), got "${a.join(' ')}"`);
        } else {
          s.b.discipline.makestep = { threshold, limit };
        }
      }),
    },
    field: 'discipline.makestep',
    consumer: DISCIPLINE,
    default: describeStep(DISCIPLINE_DEFAULTS),
    doc: 'A negative limit means no limit.',
  },
  {
    chrony: {
      names: ['maxchange'],
      grammar: 'OFFSET START IGNORE',
      status: implemented((s, l) => {
        const a = l.args;
        const offset = parseNumber(a[0]);
        const start = parseInteger(a[1], -0x80000000, 0x7fffffff);
        const ignore = parseInteger(a[2], -0x80000000, 0x7fffffff);
        if (a.length !== 3 || offset === null || offset <= 0 || start === null || ignore === null) {
          errorAt(s, l, `maxchange: expected an offset in seconds (> 0), a number of updates before the check starts and a number of offsets to ignore, got "${a.join(' ')}"`);
        } else {
          s.b.discipline.maxchange = { offset, start, ignore };
        }
      }),
    },
    field: 'discipline.maxchange',
    consumer: DISCIPLINE,
    default: 'none',
    doc: '',
  },
  positiveDirective('maxslewrate', 'ppm', DISCIPLINE, ''),
  positiveDirective('maxdistance', 'seconds', SELECTION, ''),
  positiveDirective('maxclockerror', 'ppm', REFERENCE,
    'How fast the clock\'s own error may grow between updates: with the skew, the rate at which the root dispersion grows in tracking and in what the server sends.'),
  {
    chrony: { names: ['smoothtime'], grammar: 'MAXFREQ MAXWANDER [leaponly]', status: implemented(parseSmoothtime) },
    field: 'discipline.smoothtime',
    consumer: ENGINE,
    default: 'none',
    doc: 'The served time is smoothed as chronyd smooths it: a jump or frequency change of the clock reaches clients at most MAXFREQ ppm fast, its rate changing by at most MAXWANDER ppm/s. `leaponly`: only leap seconds (with leapsecmode slew or step). See docs/leap.md.',
  },
  positiveDirective('maxdrift', 'ppm', DISCIPLINE, ''),
  positiveDirective('maxjitter', 'seconds', SELECTION, 'A source whose offsets\' standard deviation (sourcestats\' Std Dev) exceeds it is jittery (`~`).'),
  positiveDirective('maxupdateskew', 'ppm', ENGINE, 'An estimate whose frequency error exceeds it corrects the phase only; the frequency in force stays.'),
  positiveDirective('combinelimit', 'a ratio', SELECTION, 'Truechimers farther than this times the selected source\'s distance (plus reselectdist) are not combined.'),
  nonNegativeDirective('reselectdist', 'The distance another source must beat the selected one by to replace it.'),
  nonNegativeDirective('stratumweight', 'Distance added per stratum above the lowest when the reference is chosen.'),
  modeDirective('authselectmode', AUTH_SELECT_MODES, SELECTION,
    'As chrony 4.3: `require` makes sources without `key` or `nts` noselect; `prefer` does so when one with them exists; `mix` gives authenticated sources `require` and `trust` when both kinds exist; `ignore` adds nothing.'),
  positiveDirective('logchange', 'seconds', ENGINE,
    'An update that finds the clock wrong by more than this, beyond a correction already under way, is logged as chronyd logs it: `System clock wrong by 9.860000 seconds` (`Virtual clock ...` on the virtual clock).'),
  {
    chrony: {
      names: ['minsources'],
      grammar: 'N',
      status: implemented((s, l) => {
        const n = oneInteger(s, l, 0, 0x7fffffff, 'a whole number of sources');
        if (n === null) return;
        if (n === 0) {
          // chronyd accepts 0; the clock cannot be updated from fewer than one source, so it acts as 1.
          warnAt(s, l, 'minsources 0 acts as minsources 1');
          s.b.discipline.minsources = 1;
        } else s.b.discipline.minsources = n;
      }),
    },
    field: 'discipline.minsources',
    consumer: SELECTION,
    default: String(DISCIPLINE_DEFAULTS.minsources),
    doc: '`0` acts as 1, with a warning.',
  },
  samplesDirective('minsamples'),
  samplesDirective('maxsamples'),
  modeDirective('leapsecmode', LEAP_MODES, ENGINE, ''),
  {
    chrony: { names: ['fallbackdrift'], grammar: 'MIN MAX', status: implemented(parseFallbackdrift) },
    field: 'discipline.fallbackdrift',
    consumer: ENGINE,
    default: 'none',
    doc: 'When no update has come for 2^MIN ... 2^MAX seconds, the frequency falls back to its moving average over as long (each in turn), as chronyd does; the clock then counts as unsynchronized. Kept only for 0 < MIN <= MAX.',
  },
  {
    chrony: {
      names: ['leapsectz'],
      grammar: 'ZONE',
      status: implemented(oneValue('one time zone name (such as right/UTC)', (s, z) => { s.b.leapsectz = z; })),
    },
    origin: true,
    field: 'leapsectz',
    consumer: 'src/daemon/leap-table-file.ts',
    default: 'none',
    doc: 'Shown by `validate`; read (the zone\'s TZif leap records) when a refclock has `tai`, which then refuses to start on a zone without leap seconds.',
  },
  {
    chrony: { names: ['leapseclist'], grammar: 'FILE', status: implemented(leapFile) },
    ntp: { names: ['leapfile'], grammar: 'FILE', status: implemented(leapFile) },
    origin: true,
    field: 'leapseclist',
    consumer: 'src/daemon/leap-table-file.ts',
    default: 'none',
    doc: 'A leap-seconds.list file; shown by `validate`; read when a refclock has `tai` (before `leapsectz`, as chronyd 4.5+ does).',
  },
  {
    ntp: { names: ['tinker'], grammar: 'KEY VALUE...', status: implemented(parseTinker) },
    field: 'discipline.makestep',
    consumer: DISCIPLINE,
    default: 'step 0.128 panic 1000',
    doc: '`step` and `panic` map to makestep and maxchange (see "Discipline"); the other keys give a warning.',
  },
  {
    ntp: { names: ['tos'], grammar: 'KEY VALUE...', status: implemented(parseTos) },
    field: 'discipline.maxdistance',
    consumer: SELECTION,
    default: 'maxdist 1.5',
    doc: '`minsane`, `maxdist` and `orphan` map to minsources, maxdistance and local orphan; the other keys give a warning.',
  },
];
