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
import { checkRefclocks } from './directives/refclock.js';
import { lexChronyConf, lexNtpConf } from './lexer.js';
import { parseNtpConf } from './ntp-conf.js';
import { namesOnlyIn } from './registry.js';
import { sourceOptionsOnlyIn } from './source-line.js';

const HINTS = {
  chrony: { directives: namesOnlyIn('chrony'), options: sourceOptionsOnlyIn('chrony') },
  ntp: { directives: namesOnlyIn('ntp'), options: sourceOptionsOnlyIn('ntp') },
};

/**
 * Guesses the format of a config: by file name first (`ntp.conf`, `ntpd.conf`,
 * `*.ntp.conf` and the like are ntp.conf; `chrony*` is chrony.conf), then by
 * which format's own directives and source options, as the registry declares
 * them, the text uses more. chrony.conf wins ties.
 */
export function detectFormat(text: string, name: string): ConfigFormat {
  const base = basename(name).toLowerCase();
  if (/chrony/.test(base)) return 'chrony';
  if (/(^|[.\-_])ntp(d|sec)?\.conf$/.test(base) || base === 'ntp.conf') return 'ntp';
  let ntp = 0;
  let chrony = 0;
  for (const l of lexNtpConf(text, name)) {
    if (HINTS.ntp.directives.has(l.directive)) ntp++;
    else if (HINTS.chrony.directives.has(l.directive)) chrony++;
    // Source options only one format has, and ntpd's reference clock addresses.
    if (l.directive === 'server' || l.directive === 'pool' || l.directive === 'peer') {
      if (l.args.some((x) => HINTS.ntp.options.has(x) || /^127\.127\./.test(x))) ntp++;
      if (l.args.some((x) => HINTS.chrony.options.has(x))) chrony++;
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
    checkRefclocks(base);
  } else {
    parseNtpConf(base, text, name);
  }
  return finish(base);
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
