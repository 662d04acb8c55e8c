/**
 * The options of a `server`/`pool`/`peer` line, one table for both
 * dialects: each option is declared once with its chrony.conf and ntp.conf
 * spellings (chrony's `trust` is ntpd's `true`), and one parser reads a line
 * of either dialect against it.
 */
import { MAX_POLL, MIN_POLL, SOURCE_DEFAULTS, type SourceKind } from '../core/engine/source-options.js';
import { errorAt, isHostOrAddress, type ParseState, type SourceDraft, warnAt } from './config-builder.js';
import { type ConfigLine } from './lexer.js';
import { parseInteger, parseNumber } from './numbers.js';

import { type Dialect } from './directive.js';

/**
 * chrony's sourcestats.c keeps at most 64 samples per source, whatever
 * minsamples/maxsamples say: larger values are clamped there, and here.
 */
const MAX_SAMPLES = 64;

type Flag = 'iburst' | 'burst' | 'prefer' | 'noselect' | 'trust' | 'require' | 'xleave' | 'nts';

interface OptionLine {
  readonly s: ParseState;
  readonly l: ConfigLine;
  readonly draft: SourceDraft;
  /** The option as written, lower-cased. */
  readonly opt: string;
}

type Effect =
  | { readonly flag: Flag }
  /** A flag option that sets something other than a boolean of the same name. */
  | { readonly set: (o: SourceDraft['options']) => void }
  /** Known and not implemented, where that changes what the daemon does: the line is an error. */
  | { readonly refused: string; readonly takesValue: boolean; readonly exceptPool?: boolean }
  /** Known and not implemented, changing nothing observable: named in the line's warning. */
  | { readonly ignored: 'flag' | 'value' }
  /** Reads the value; false after reporting an error. */
  | { readonly value: (o: OptionLine, value: string | undefined) => boolean };

export interface SourceOption {
  readonly chrony?: readonly string[];
  readonly ntp?: readonly string[];
  readonly effect: Effect;
  /** What the reference table says about it. */
  readonly doc: string;
}

function integer(o: OptionLine, value: string | undefined, lo: number, hi: number): number | null {
  const n = parseInteger(value, lo, hi);
  if (n === null) errorAt(o.s, o.l, `${o.l.directive}: ${o.opt} must be an integer from ${lo} to ${hi}, got "${value ?? ''}"`);
  return n;
}

/** An integer option stored as is. */
function setInteger(field: 'minpoll' | 'maxpoll' | 'polltarget' | 'port' | 'ntsport' | 'version' | 'key' | 'minstratum' | 'filter' | 'presend', lo: number, hi: number): Effect {
  return {
    value: (o, v) => {
      const n = integer(o, v, lo, hi);
      if (n !== null) o.draft.options[field] = n;
      return n !== null;
    },
  };
}

/** A number option within lo..hi, stored as is. */
function setNumber(field: 'offset' | 'maxdelayratio' | 'maxdelaydevratio' | 'mindelay', lo: number, hi: number): Effect {
  return {
    value: (o, v) => {
      const n = parseNumber(v);
      if (n === null || n < lo || n > hi) {
        errorAt(o.s, o.l, `${o.l.directive}: ${o.opt} must be a number from ${lo} to ${hi}, got "${v ?? ''}"`);
        return false;
      }
      o.draft.options[field] = n;
      return true;
    },
  };
}

/** An option ntpkit refuses: the line is an error naming it, and the config does not load. */
function refuse(reason: string, takesValue = true): Effect {
  return { refused: reason, takesValue };
}

/** chronyd clamps minsamples/maxsamples above MAX_SAMPLES; so does ntpkit, with a warning. */
export function clampSamples(s: ParseState, l: Pick<ConfigLine, 'file' | 'line'>, what: string, n: number): number {
  if (n <= MAX_SAMPLES) return n;
  warnAt(s, l, `${what} ${n} is above ${MAX_SAMPLES}; using ${MAX_SAMPLES} (as chronyd does)`);
  return MAX_SAMPLES;
}

const samples = (field: 'minsamples' | 'maxsamples'): Effect => ({
  value: (o, v) => {
    const n = integer(o, v, 0, Number.MAX_SAFE_INTEGER);
    if (n === null) return false;
    o.draft.options[field] = clampSamples(o.s, o.l, field, n);
    if (field === 'minsamples') o.draft.ownMinsamples = true; else o.draft.ownMaxsamples = true;
    return true;
  },
});

const both = (name: string): Pick<SourceOption, 'chrony' | 'ntp'> => ({ chrony: [name], ntp: [name] });

export const SOURCE_OPTIONS: readonly SourceOption[] = [
  ...(['iburst', 'burst', 'prefer', 'noselect', 'xleave', 'nts'] as const).map((f) => ({ ...both(f), effect: { flag: f }, doc: '' })),
  { chrony: ['trust'], ntp: ['true'], effect: { flag: 'trust' }, doc: '' },
  { chrony: ['require'], effect: { flag: 'require' }, doc: '' },
  { chrony: ['offline'], effect: { set: (o) => { o.offline = true; } }, doc: 'Starts offline, as after chronyc offline.' },
  { chrony: ['auto_offline'], effect: { set: (o) => { o.autoOffline = true; } }, doc: 'A request that cannot be sent takes the source offline.' },
  { chrony: ['copy'], effect: { set: (o) => { o.copy = true; } }, doc: 'Serve the source\'s reference id and stratum (its stratum, not one more) while it is the reference.' },
  { chrony: ['ipv4'], effect: { set: (o) => { o.family = 'ipv4'; } }, doc: 'Use only the IPv4 addresses of a name.' },
  { chrony: ['ipv6'], effect: { set: (o) => { o.family = 'ipv6'; } }, doc: 'Use only the IPv6 addresses of a name.' },
  { chrony: ['minstratum'], effect: setInteger('minstratum', 0, 15), doc: '0..15: the stratum selection and our served stratum take for the source, at least.' },
  { chrony: ['offset'], ntp: ['bias'], effect: setNumber('offset', -1e9, 1e9), doc: 'Seconds added to every offset measured with the source; ntpd\'s `bias` is the same correction.' },
  {
    chrony: ['asymmetry'],
    effect: {
      value: (o, v) => {
        const n = parseNumber(v);
        if (n === null) { errorAt(o.s, o.l, `${o.l.directive}: asymmetry must be a number, got "${v ?? ''}"`); return false; }
        // chronyd takes a value beyond ±0.5 (its default is 1) as "estimate it"; ntpkit then makes no correction, as without the option.
        o.draft.options.asymmetry = Math.abs(n) <= 0.5 ? n : null;
        return true;
      },
    },
    doc: '-0.5..+0.5: offsets are corrected by this share of the delay above the minimum. Beyond that (chronyd: estimate it), no correction, as without the option.',
  },
  { chrony: ['filter'], effect: setInteger('filter', 1, 64), doc: '1..64 samples combined into one by a median filter before the statistics take it.' },
  { chrony: ['maxdelayratio'], effect: setNumber('maxdelayratio', 1, 1e9), doc: 'At least 1: a delay above this times the minimum fails test B.' },
  { chrony: ['maxdelaydevratio'], effect: setNumber('maxdelaydevratio', 0, 1e9), doc: 'Test C\'s limit (default 10).' },
  { chrony: ['mindelay'], effect: setNumber('mindelay', 0, 1000), doc: 'Seconds: the minimum round trip of the path, instead of the measured one.' },
  { chrony: ['presend'], effect: setInteger('presend', MIN_POLL, MAX_POLL), doc: 'From this poll exponent on, an extra request goes 2 s before each poll, its reply only warming the path.' },
  {
    chrony: ['extfield'],
    effect: refuse('the F323 extension field (chrony 4.3\'s only one) is not implemented'),
    doc: 'Refused: chrony 4.3 knows only F323, its experimental field, which ntpkit does not send or read.',
  },
  {
    chrony: ['maxdelayquant'],
    effect: refuse('the delay quantile test is not implemented (use maxdelaydevratio or maxdelayratio)'),
    doc: 'Refused: not implemented.',
  },
  {
    chrony: ['certset'],
    effect: {
      value: (o, v) => {
        // Set 0 is the default set, the one ntstrustedcerts fills; another would change which certificates are trusted.
        if (v === '0') return true;
        errorAt(o.s, o.l, `${o.l.directive}: option certset ${v ?? ''} is not supported: only the default set 0 is (certificate sets are not implemented)`);
        return false;
      },
    },
    doc: 'Only 0, the default set; other sets are refused (they would change which certificates an NTS source trusts).',
  },
  // ntpd's: the first two change nothing for a network server; the others change who is trusted or when a server is dropped.
  { ntp: ['mode'], effect: { ignored: 'value' }, doc: 'Warning only: ntpd passes it to a reference clock driver, and does nothing with it on a network server.' },
  { ntp: ['ttl'], effect: { ignored: 'value' }, doc: 'Warning only: ntpd uses it for broadcast and manycast, which ntpkit does not do.' },
  {
    ntp: ['preempt'],
    effect: { refused: 'preemptable associations (dropped when not useful) are not implemented', takesValue: false, exceptPool: true },
    doc: 'Refused on server and peer lines: ntpd would drop such a server when it is not useful. A warning on pool lines, whose members ntpkit replaces anyway.',
  },
  { ntp: ['autokey'], effect: refuse('Autokey is not supported', false), doc: 'Refused: Autokey authentication is not supported.' },
  { ntp: ['noval'], effect: refuse('NTS options of NTPsec are not implemented', false), doc: 'Refused: NTPsec\'s NTS certificate options change who is trusted.' },
  ...(['ask', 'ca', 'cert', 'aead'] as const).map((n) => ({
    ntp: [n], effect: refuse('NTS options of NTPsec are not implemented'), doc: 'Refused: NTPsec\'s NTS certificate options change who is trusted.',
  })),
  { ...both('minpoll'), effect: setInteger('minpoll', MIN_POLL, MAX_POLL), doc: `${MIN_POLL}..${MAX_POLL}` },
  { ...both('maxpoll'), effect: setInteger('maxpoll', MIN_POLL, MAX_POLL), doc: `${MIN_POLL}..${MAX_POLL}` },
  { ...both('version'), effect: setInteger('version', 1, 4), doc: '1..4' },
  { ...both('key'), effect: setInteger('key', 1, 0xffffffff), doc: 'A key of the key file.' },
  {
    chrony: ['maxdelay'],
    effect: {
      value: (o, v) => {
        // chrony.conf(5): "the maximum value is 1000 seconds".
        const n = parseNumber(v);
        if (n === null || n <= 0 || n > 1000) {
          errorAt(o.s, o.l, `${o.l.directive}: maxdelay must be a number of seconds above 0 and at most 1000, got "${v ?? ''}"`);
          return false;
        }
        o.draft.options.maxdelay = n;
        return true;
      },
    },
    doc: 'Seconds, above 0 and at most 1000.',
  },
  { chrony: ['minsamples'], effect: samples('minsamples'), doc: `Above ${MAX_SAMPLES} clamped, as chronyd does.` },
  { chrony: ['maxsamples'], effect: samples('maxsamples'), doc: `Above ${MAX_SAMPLES} clamped, as chronyd does.` },
  // chrony accepts any polltarget and uses at least 1; 6..60 is its "useful range".
  { chrony: ['polltarget'], effect: setInteger('polltarget', 1, 1000), doc: '1..1000' },
  { chrony: ['port'], effect: setInteger('port', 1, 65535), doc: '' },
  { chrony: ['ntsport'], effect: setInteger('ntsport', 1, 65535), doc: 'The NTS-KE port of an `nts` source.' },
  {
    chrony: ['maxsources'],
    effect: {
      value: (o, v) => {
        // chrony.conf(5): "The default value is 4 and the maximum value is 16."
        const n = integer(o, v, 1, 16);
        if (n === null) return false;
        if (o.l.directive !== 'pool') warnAt(o.s, o.l, `${o.l.directive}: maxsources applies to pool only; ignored here`);
        else o.draft.options.maxsources = n;
        return true;
      },
    },
    doc: 'pool only, 1..16.',
  },
];

function byName(dialect: Dialect): ReadonlyMap<string, Effect> {
  const m = new Map<string, Effect>();
  for (const o of SOURCE_OPTIONS) for (const name of o[dialect] ?? []) m.set(name, o.effect);
  return m;
}

const BY_DIALECT: Readonly<Record<Dialect, ReadonlyMap<string, Effect>>> = { chrony: byName('chrony'), ntp: byName('ntp') };

/** Source option names only `dialect` has: a line using one hints at its format. */
export function sourceOptionsOnlyIn(dialect: Dialect): ReadonlySet<string> {
  const other = BY_DIALECT[dialect === 'chrony' ? 'ntp' : 'chrony'];
  return new Set([...BY_DIALECT[dialect].keys()].filter((n) => !other.has(n)));
}

/** All source option names of both dialects (for the fuzz dictionary). */
export const SOURCE_OPTION_NAMES: readonly string[] = [...new Set(SOURCE_OPTIONS.flatMap((o) => [...(o.chrony ?? []), ...(o.ntp ?? [])]))];

/** ntpd's reference clock pseudo-addresses. */
const REFCLOCK_ADDRESS = /^127\.127\.\d+\.\d+$/;

/**
 * Parses a `server`/`pool`/`peer` line of either dialect into a SourceDraft;
 * reports problems itself and returns null on an error (or, in ntp.conf, for
 * a reference clock, which is warned about and adds no source).
 */
export function parseSourceLine(s: ParseState, l: ConfigLine, dialect: Dialect): SourceDraft | null {
  const kind = l.directive as SourceKind;
  const err = (m: string): null => { errorAt(s, l, `${kind}: ${m}`); return null; };
  let args = l.args;
  const ignored: string[] = [];
  // ntpd's address-family prefix: chrony's ipv4/ipv6 options.
  let family: 'ipv4' | 'ipv6' | null = null;
  if (dialect === 'ntp' && (args[0] === '-4' || args[0] === '-6')) { family = args[0] === '-4' ? 'ipv4' : 'ipv6'; args = args.slice(1); }
  const [host, ...a] = args;
  if (host === undefined) return err('expected a host name or address');
  if (dialect === 'ntp' && REFCLOCK_ADDRESS.test(host)) {
    warnAt(s, l, `${kind} ${host}: reference clocks (127.127.t.u) are not supported by ntpkit, ignored`);
    return null;
  }
  if (!isHostOrAddress(host)) return err(`"${host}" is not a host name or an IP address`);
  const options = { ...SOURCE_DEFAULTS, kind, host } as SourceDraft['options'];
  if (family !== null) options.family = family;
  const draft: SourceDraft = { options, file: l.file, line: l.line, ownMinsamples: false, ownMaxsamples: false };
  const table = BY_DIALECT[dialect];
  for (let i = 0; i < a.length; i++) {
    const opt = (a[i] as string).toLowerCase();
    const value = a[i + 1];
    const effect = table.get(opt);
    if (effect === undefined) return err(`unknown option "${a[i] as string}"`);
    if ('flag' in effect) { options[effect.flag] = true; continue; }
    if ('set' in effect) { effect.set(options); continue; }
    if ('refused' in effect) {
      // ntpd's pool associations are preemptable anyway, and ntpkit replaces pool members that stop being useful.
      if (effect.exceptPool === true && kind === 'pool') { ignored.push(opt); continue; }
      return err(`option ${opt} is not supported: ${effect.refused}`);
    }
    if ('value' in effect && value === undefined) return err(`option ${opt} needs a value`);
    if ('ignored' in effect) {
      if (effect.ignored === 'flag') { ignored.push(opt); continue; }
      if (value === undefined) return err(`option ${opt} needs a value`);
      ignored.push(`${opt} ${value}`);
    } else if (!effect.value({ s, l, draft, opt }, value)) {
      return null;
    }
    i++;
  }
  // ntpkit does basic symmetric mode only; chronyd itself warns that NTS does not work with peers.
  if (kind === 'peer' && options.xleave) return err(`${host}: option xleave (interleaved symmetric mode) is not implemented by ntpkit`);
  if (kind === 'peer' && options.nts) return err(`${host}: option nts cannot secure a peer (NTS has no symmetric mode); use key N`);
  if (ignored.length > 0) warnAt(s, l, `${kind} ${host}: option${ignored.length > 1 ? 's' : ''} ${ignored.join(', ')} not implemented by ntpkit, ignored`);
  return draft;
}
