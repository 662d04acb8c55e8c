/**
 * The entry points: parseConfigText() (pure apart from the injected file
 * access) and loadConfig() (reads from disk). Which format a file is in:
 * as told, else by its name (ntp.conf, chrony.conf), else by its content.
 */
import { readdirSync } from 'node:fs';
import { basename } from 'node:path';
import { ConfigFileReader, readFailure } from './bounded-read.js';
import { parseChronyLines } from './chrony-conf.js';
import { type ConfigFormat, type ConfigResult, type ParseConfigOptions } from './config.js';
import { finish, newConfigBuilder, type ParseState } from './config-builder.js';
import { lexChronyConf, lexNtpConf } from './lexer.js';
import { finishNtpServer, NTPD_DEFAULTS, type NtpParseState, parseNtpLines } from './ntp-conf.js';
import { OTHER_CHRONY_DIRECTIVES, SERVER_DIRECTIVES } from './server-config.js';

/** Directives only ntp.conf has. */
const NTP_ONLY = new Set([
  'restrict', 'unrestrict', 'tinker', 'tos', 'includefile', 'logfile', 'statsdir', 'statistics', 'filegen', 'leapfile',
  'keys', 'trustedkey', 'controlkey', 'requestkey', 'fudge', 'enable', 'disable', 'broadcastclient', 'interface',
  'discard', 'logconfig', 'manycastclient', 'multicastclient', 'setvar', 'nic',
]);

/**
 * Guesses the format of a config: by file name first (`ntp.conf`, `ntpd.conf`,
 * `*.ntp.conf` and the like are ntp.conf; `chrony*` is chrony.conf), then by
 * which format's own directives the text uses more. chrony.conf wins ties.
 */
export function detectFormat(text: string, name: string): ConfigFormat {
  const base = basename(name).toLowerCase();
  if (/chrony/.test(base)) return 'chrony';
  if (/(^|[.\-_])ntp(d|sec)?\.conf$/.test(base) || base === 'ntp.conf') return 'ntp';
  let ntp = 0;
  let chrony = 0;
  for (const l of lexNtpConf(text, name)) {
    if (NTP_ONLY.has(l.directive)) ntp++;
    else if (SERVER_DIRECTIVES.has(l.directive) || OTHER_CHRONY_DIRECTIVES.has(l.directive)) {
      if (l.directive !== 'server' && l.directive !== 'pool' && l.directive !== 'peer' && l.directive !== 'driftfile' && l.directive !== 'pidfile') chrony++;
    }
    // Source options only one format has.
    if (l.directive === 'server' || l.directive === 'pool' || l.directive === 'peer') {
      if (l.args.some((x) => x === 'true' || x === 'preempt' || x === 'mode' || /^127\.127\./.test(x))) ntp++;
      if (l.args.some((x) => x === 'maxsources' || x === 'polltarget' || x === 'trust' || x === 'maxdelay')) chrony++;
    }
  }
  return ntp > chrony ? 'ntp' : 'chrony';
}

/**
 * Parses a config held in memory. `name` is its file name in messages.
 * include/confdir/includefile read through opts.readFile/listDir; without
 * them, those directives are errors.
 */
export function parseConfigText(text: string, name: string, opts: ParseConfigOptions = {}): ConfigResult {
  const format = opts.format ?? detectFormat(text, name);
  const b = newConfigBuilder(format);
  b.files.push(name);
  const base: ParseState = { b, errors: [], warnings: [], access: { readFile: opts.readFile, listDir: opts.listDir } };
  if (format === 'chrony') {
    parseChronyLines(base, lexChronyConf(text, name));
    return finish(base);
  }
  b.discipline.makestep = { threshold: NTPD_DEFAULTS.stepThreshold, limit: -1 };
  b.discipline.maxchange = { offset: NTPD_DEFAULTS.panicThreshold, start: 1, ignore: 0 };
  b.discipline.maxslewrate = NTPD_DEFAULTS.maxslewrate;
  b.discipline.maxdrift = NTPD_DEFAULTS.maxdrift;
  b.discipline.maxdistance = NTPD_DEFAULTS.maxdistance;
  const s: NtpParseState = { ...base, restricts: new Map(), discardAverage: NTPD_DEFAULTS.discardAverage, mainFile: name };
  parseNtpLines(s, lexNtpConf(text, name));
  finishNtpServer(s);
  return finish(s);
}

/**
 * Reads `path` and everything it includes from disk, within
 * CONFIG_READ_LIMITS (bounded-read.ts). `format`: 'auto' (default) guesses
 * from the name, then the content.
 */
export async function loadConfig(path: string, opts: { format?: ConfigFormat | 'auto' } = {}): Promise<ConfigResult> {
  const reader = new ConfigFileReader();
  let text: string;
  try {
    text = reader.read(path);
  } catch (e) {
    return Object.freeze({ config: null, errors: Object.freeze([readFailure(path, e)]), warnings: Object.freeze([]) });
  }
  const format = opts.format === undefined || opts.format === 'auto' ? undefined : opts.format;
  return parseConfigText(text, path, {
    format,
    readFile: (p) => reader.read(p),
    listDir: (p) => readdirSync(p),
  });
}
