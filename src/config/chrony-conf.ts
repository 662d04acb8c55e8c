/**
 * chrony.conf for the daemon, with chrony's syntax, ranges and defaults
 * (chrony.conf(5), chrony 4.3 to 4.6). Directives ntpkit implements fill the
 * Config; every other chrony directive is known and gets a warning naming
 * it; anything else is an error. As in chronyd, a later line wins for
 * single-valued directives, and include/confdir/sourcedir files are read in
 * place, where the directive stands.
 */
import { isIP } from 'node:net';
import { type LeapSecMode } from '../core/engine/engine-api.js';
import { MAX_POLL, MIN_POLL, type SourceKind } from '../core/engine/source-options.js';
import {
  errorAt, includeFiles, isHostOrAddress, newSourceDraft, oneArg, parseHttpAddress, parseHttpHost, parseInteger, parseNumber, type ParseState, recordOrigin, type SourceDraft,
  sourceInteger, warnAt, warnSourceLine,
} from './config-builder.js';
import { describeError } from './bounded-read.js';
import { confdirFiles, expandGlob, MAX_CONFDIRS } from './include.js';
import { type ConfigLine, lexChronyConf } from './lexer.js';
import { applyServerDirective, OTHER_CHRONY_DIRECTIVES, SERVER_DIRECTIVES } from './server-config.js';

/** chrony `log` options (chrony.conf(5), "Logging"). */
export const CHRONY_LOG_OPTIONS: ReadonlySet<string> = new Set([
  'rawmeasurements', 'measurements', 'statistics', 'selection', 'tracking', 'rtc', 'refclocks', 'tempcomp',
]);

const LEAP_MODES: readonly LeapSecMode[] = ['system', 'step', 'slew', 'ignore'];

/**
 * chrony's sourcestats.c keeps at most 64 samples per source, whatever
 * minsamples/maxsamples say: larger values are clamped there, and here.
 */
const MAX_SAMPLES = 64;

/** Source options chrony has and ntpkit does not implement: accepted, each named in a warning. */
const UNIMPLEMENTED_SOURCE_FLAGS: ReadonlySet<string> = new Set(['offline', 'auto_offline', 'copy', 'ipv4', 'ipv6']);
const UNIMPLEMENTED_SOURCE_VALUES: ReadonlySet<string> = new Set([
  'maxdelayratio', 'maxdelaydevratio', 'maxdelayquant', 'mindelay', 'asymmetry', 'offset', 'presend', 'minstratum',
  'filter', 'certset', 'extfield',
]);

/**
 * How many arguments chronyd's parser (conf.c) takes for the directives
 * ntpkit only warns about, where that number is fixed: a line chronyd would
 * refuse to start with is an error here too, not a warning.
 */
const FIXED_ARGS: Readonly<Record<string, number>> = {
  lock_all: 0, manual: 0, noclientlog: 0, nosystemcert: 0, rtconutc: 0, rtcsync: 0,
  acquisitionport: 1, bindacqaddress: 1, bindacqdevice: 1, bindcmddevice: 1, binddevice: 1, clientloglimit: 1,
  clockprecision: 1, combinelimit: 1, corrtimeratio: 1, dscp: 1, dumpdir: 1, hwclockfile: 1, hwtstimeout: 1,
  maxclockerror: 1, maxjitter: 1, maxntsconnections: 1, maxupdateskew: 1,
  nocerttimecheck: 1, ntpsigndsocket: 1, ntsdumpdir: 1, ntsntpserver: 1, ntsport: 1, ntsprocesses: 1, ntsrefresh: 1,
  ntsrotate: 1, pidfile: 1, ptpport: 1, refresh: 1, reselectdist: 1, rtcautotrim: 1, rtcdevice: 1, rtcfile: 1,
  sched_priority: 1, stratumweight: 1, user: 1, fallbackdrift: 2, mailonchange: 2,
};

/** Directives naming a file or an address the daemon loads or binds: where each was written is kept (Config.origins). */
const ORIGIN_DIRECTIVES: ReadonlySet<string> = new Set([
  'keyfile', 'driftfile', 'logdir', 'bindcmdaddress', 'httpaddress', 'bindaddress',
  'ntsdumpdir', 'ntsservercert', 'ntsserverkey', 'ntstrustedcerts',
]);

/** Directives a `sourcedir` file may hold (chrony.conf(5), sourcedir). */
const SOURCE_DIRECTIVES: ReadonlySet<string> = new Set(['server', 'pool', 'peer', 'refclock']);

/**
 * Parses the options of a `server`/`pool`/`peer` line (chrony syntax) into a
 * SourceDraft; reports problems itself and returns null on an error.
 */
export function parseChronySource(s: ParseState, l: ConfigLine): SourceDraft | null {
  const kind = l.directive as SourceKind;
  const err = (m: string): null => { errorAt(s, l, `${kind}: ${m}`); return null; };
  const [host, ...a] = l.args;
  if (host === undefined) return err('expected a host name or address');
  if (!isHostOrAddress(host)) return err(`"${host}" is not a host name or an IP address`);
  const draft = newSourceDraft(l, host);
  const o = draft.options;
  const ignored: string[] = [];
  for (let i = 0; i < a.length; i++) {
    const opt = (a[i] as string).toLowerCase();
    const value = a[i + 1];
    const int = (lo: number, hi: number): number | null => sourceInteger(s, l, opt, value, lo, hi);
    switch (opt) {
      case 'iburst': o.iburst = true; continue;
      case 'burst': o.burst = true; continue;
      case 'prefer': o.prefer = true; continue;
      case 'noselect': o.noselect = true; continue;
      case 'trust': o.trust = true; continue;
      case 'require': o.require = true; continue;
      case 'xleave': o.xleave = true; continue;
      case 'nts': o.nts = true; continue;
      default: break;
    }
    if (UNIMPLEMENTED_SOURCE_FLAGS.has(opt)) { ignored.push(opt); continue; }
    if (UNIMPLEMENTED_SOURCE_VALUES.has(opt)) {
      if (value === undefined) return err(`option ${opt} needs a value`);
      ignored.push(`${opt} ${value}`);
      i++;
      continue;
    }
    i++;
    switch (opt) {
      case 'minpoll': case 'maxpoll': {
        const n = int(MIN_POLL, MAX_POLL);
        if (n === null) return null;
        o[opt] = n;
        break;
      }
      case 'maxdelay': {
        // chrony.conf(5): "the maximum value is 1000 seconds".
        const n = parseNumber(value);
        if (n === null || n <= 0 || n > 1000) return err(`maxdelay must be a number of seconds above 0 and at most 1000, got "${value ?? ''}"`);
        o.maxdelay = n;
        break;
      }
      case 'minsamples': case 'maxsamples': {
        const n = int(0, Number.MAX_SAFE_INTEGER);
        if (n === null) return null;
        o[opt] = clampSamples(s, l, opt, n);
        if (opt === 'minsamples') draft.ownMinsamples = true; else draft.ownMaxsamples = true;
        break;
      }
      case 'polltarget': {
        // chrony accepts any value and uses at least 1; 6..60 is its "useful range".
        const n = int(1, 1000);
        if (n === null) return null;
        o.polltarget = n;
        break;
      }
      case 'port': case 'ntsport': {
        const n = int(1, 65535);
        if (n === null) return null;
        o[opt] = n;
        break;
      }
      case 'version': {
        const n = int(1, 4);
        if (n === null) return null;
        o.version = n;
        break;
      }
      case 'key': {
        const n = int(1, 0xffffffff);
        if (n === null) return null;
        o.key = n;
        break;
      }
      case 'maxsources': {
        // chrony.conf(5): "The default value is 4 and the maximum value is 16."
        const n = int(1, 16);
        if (n === null) return null;
        if (kind !== 'pool') warnAt(s, l, `${kind}: maxsources applies to pool only; ignored here`);
        else o.maxsources = n;
        break;
      }
      default:
        return err(`unknown option "${a[i - 1] as string}"`);
    }
  }
  warnSourceLine(s, l, host, ignored);
  return draft;
}

function clampSamples(s: ParseState, l: ConfigLine, what: string, n: number): number {
  if (n <= MAX_SAMPLES) return n;
  warnAt(s, l, `${what} ${n} is above ${MAX_SAMPLES}; using ${MAX_SAMPLES} (as chronyd does)`);
  return MAX_SAMPLES;
}

/** Reads and parses included files in place. */
function includeChronyFiles(s: ParseState, l: ConfigLine, paths: readonly string[], depth: number, onlySources: boolean): void {
  includeFiles(s, l, paths, depth, (text, file) => parseChronyLines(s, lexChronyConf(text, file), depth + 1, onlySources));
}

function positive(s: ParseState, l: ConfigLine, unit: string): number | null {
  const t = oneArg(s, l, `a number of ${unit} above 0`);
  if (t === null) return null;
  const n = parseNumber(t);
  if (n === null || n <= 0) { errorAt(s, l, `${l.directive}: expected a number of ${unit} above 0, got "${t}"`); return null; }
  return n;
}

/**
 * Applies chrony.conf lines to the builder. `depth` counts include levels;
 * `onlySources` is set inside sourcedir files, which may hold only sources.
 */
export function parseChronyLines(s: ParseState, lines: readonly ConfigLine[], depth = 0, onlySources = false): void {
  const { b } = s;
  for (const l of lines) {
    const a = l.args;
    const d = l.directive;
    const err = (m: string): void => errorAt(s, l, `${d}: ${m}`);
    if (onlySources && !SOURCE_DIRECTIVES.has(d)) {
      errorAt(s, l, `"${d}" is not allowed in a sourcedir file (only server, pool, peer and refclock)`);
      continue;
    }
    if (ORIGIN_DIRECTIVES.has(d)) recordOrigin(s, l, d);
    if (SERVER_DIRECTIVES.has(d)) { applyServerDirective(b.server, l, s.errors, s.warnings); continue; }
    switch (d) {
      case 'server': case 'pool': case 'peer': {
        const src = parseChronySource(s, l);
        if (src) b.sources.push(src);
        break;
      }
      case 'driftfile': {
        const f = oneArg(s, l, 'one file name');
        if (f !== null) b.driftfile = f;
        break;
      }
      case 'makestep': {
        const threshold = parseNumber(a[0]);
        const limit = parseInteger(a[1], -0x80000000, 0x7fffffff);
        // chronyd takes any threshold; a negative one steps on every update within the limit.
        if (a.length !== 2 || threshold === null || limit === null) {
          err(`expected a threshold in seconds and a limit of updates (an integer, negative for no limit), got "${a.join(' ')}"`);
        } else {
          b.discipline.makestep = { threshold, limit };
        }
        break;
      }
      case 'maxchange': {
        const offset = parseNumber(a[0]);
        const start = parseInteger(a[1], -0x80000000, 0x7fffffff);
        const ignore = parseInteger(a[2], -0x80000000, 0x7fffffff);
        if (a.length !== 3 || offset === null || offset <= 0 || start === null || ignore === null) {
          err(`expected an offset in seconds (> 0), a number of updates before the check starts and a number of offsets to ignore, got "${a.join(' ')}"`);
        } else {
          b.discipline.maxchange = { offset, start, ignore };
        }
        break;
      }
      case 'maxslewrate': {
        const n = positive(s, l, 'ppm');
        if (n !== null) b.discipline.maxslewrate = n;
        break;
      }
      case 'maxdistance': {
        const n = positive(s, l, 'seconds');
        if (n !== null) b.discipline.maxdistance = n;
        break;
      }
      case 'maxdrift': {
        const n = positive(s, l, 'ppm');
        if (n !== null) b.discipline.maxdrift = n;
        break;
      }
      case 'logchange': {
        const n = positive(s, l, 'seconds');
        if (n !== null) b.discipline.logchange = n;
        break;
      }
      case 'minsources': {
        const n = a.length === 1 ? parseInteger(a[0], 0, 0x7fffffff) : null;
        if (n === null) err(`expected a whole number of sources, got "${a.join(' ')}"`);
        else if (n === 0) {
          // chronyd accepts 0; the clock cannot be updated from fewer than one source, so it acts as 1.
          warnAt(s, l, 'minsources 0 acts as minsources 1');
          b.discipline.minsources = 1;
        } else b.discipline.minsources = n;
        break;
      }
      case 'minsamples': case 'maxsamples': {
        const n = a.length === 1 ? parseInteger(a[0], 0, Number.MAX_SAFE_INTEGER) : null;
        if (n === null) err(`expected a whole number of samples >= 0, got "${a.join(' ')}"`);
        else b[d] = clampSamples(s, l, d, n);
        break;
      }
      case 'leapsecmode': {
        const m = oneArg(s, l, 'system, step, slew or ignore');
        if (m === null) break;
        if (!(LEAP_MODES as readonly string[]).includes(m)) err(`expected system, step, slew or ignore, got "${m}"`);
        else b.discipline.leapsecmode = m as LeapSecMode;
        break;
      }
      case 'leapsectz': {
        const z = oneArg(s, l, 'one time zone name (such as right/UTC)');
        if (z !== null) b.leapsectz = z;
        break;
      }
      case 'leapseclist': {
        const f = oneArg(s, l, 'one file name');
        if (f !== null) b.leapseclist = f;
        break;
      }
      case 'keyfile': {
        const f = oneArg(s, l, 'one file name');
        // Read by the daemon at start and on reload (config/keyfile.ts): its errors stop it there.
        if (f !== null) b.keyfile = f;
        break;
      }
      case 'bindcmdaddress': {
        const v = oneArg(s, l, 'a Unix socket path or an IP address');
        if (v === null) break;
        if (v.startsWith('/')) b.bindcmdaddress = v;
        else if (isIP(v) !== 0) warnAt(s, l, `bindcmdaddress ${v}: ntpkit's control socket is a Unix socket only; the address is ignored`);
        else err(`expected a Unix socket path (starting with /) or an IP address, got "${v}"`);
        break;
      }
      case 'cmdport': {
        const n = a.length === 1 ? parseInteger(a[0], 0, 65535) : null;
        if (n === null) err(`expected a port number from 0 to 65535, got "${a.join(' ')}"`);
        else b.cmdport = n;
        break;
      }
      case 'httpaddress':
        parseHttpAddress(s, l);
        break;
      case 'httphost':
        parseHttpHost(s, l);
        break;
      case 'logdir': {
        const f = oneArg(s, l, 'one directory');
        if (f !== null) b.logdir = f;
        break;
      }
      case 'log': {
        const bad = a.filter((o) => !CHRONY_LOG_OPTIONS.has(o));
        if (bad.length > 0) { err(`unknown option${bad.length > 1 ? 's' : ''} ${bad.map((o) => `"${o}"`).join(', ')} (expected ${[...CHRONY_LOG_OPTIONS].join(', ')})`); break; }
        for (const o of a) if (!b.log.includes(o)) b.log.push(o);
        break;
      }
      case 'logbanner': {
        const n = a.length === 1 ? parseInteger(a[0], 0, 0x7fffffff) : null;
        if (n === null) err(`expected a whole number of log entries, got "${a.join(' ')}"`);
        else b.logbanner = n;
        break;
      }
      case 'include': {
        const pattern = oneArg(s, l, 'one file name or glob pattern');
        if (pattern === null) break;
        const listDir = s.access.listDir;
        let paths: string[];
        try {
          paths = listDir ? expandGlob(pattern, listDir) : [pattern];
        } catch (e) {
          err(`cannot list files for ${pattern}: ${describeError(e)}`);
          break;
        }
        // chrony.conf(5): "at least one file is required to exist".
        if (paths.length === 0) { err(`no file matches ${pattern}`); break; }
        includeChronyFiles(s, l, paths, depth, onlySources);
        break;
      }
      case 'confdir': case 'sourcedir': {
        if (a.length < 1 || a.length > MAX_CONFDIRS) { err(`expected 1 to ${MAX_CONFDIRS} directories, got ${a.length}`); break; }
        const listDir = s.access.listDir;
        if (!listDir) { err('cannot list directories here (no file access given)'); break; }
        let paths: string[];
        try {
          paths = confdirFiles(a, d === 'confdir' ? '.conf' : '.sources', listDir);
        } catch (e) {
          err(`cannot list ${a.join(' ')}: ${describeError(e)}`);
          break;
        }
        includeChronyFiles(s, l, paths, depth, d === 'sourcedir');
        break;
      }
      case 'refclock':
        warnAt(s, l, 'refclock: reference clocks are not supported by ntpkit, ignored');
        break;
      default: {
        if (!OTHER_CHRONY_DIRECTIVES.has(d)) { errorAt(s, l, `unknown directive "${d}"`); break; }
        const want = FIXED_ARGS[d];
        if (want !== undefined && a.length !== want) err(`expected ${want === 0 ? 'no arguments' : want === 1 ? 'one argument' : `${want} arguments`}, got "${a.join(' ')}"`);
        else warnAt(s, l, `${d}: not implemented by ntpkit, ignored`);
      }
    }
  }
}
