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
  /** Known and not implemented: named in the line's warning. */
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
function setInteger(field: 'minpoll' | 'maxpoll' | 'polltarget' | 'port' | 'ntsport' | 'version' | 'key', lo: number, hi: number): Effect {
  return {
    value: (o, v) => {
      const n = integer(o, v, lo, hi);
      if (n !== null) o.draft.options[field] = n;
      return n !== null;
    },
  };
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
  { chrony: ['offline', 'auto_offline', 'copy', 'ipv4', 'ipv6'], ntp: ['preempt', 'autokey', 'noval'], effect: { ignored: 'flag' }, doc: 'Accepted; named in one warning per line.' },
  {
    chrony: ['maxdelayratio', 'maxdelaydevratio', 'maxdelayquant', 'mindelay', 'asymmetry', 'offset', 'presend', 'minstratum', 'filter', 'certset', 'extfield'],
    ntp: ['mode', 'ttl', 'bias', 'ask', 'ca', 'cert', 'aead'],
    effect: { ignored: 'value' },
    doc: 'Take a value; accepted and named in one warning per line.',
  },
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
  // ntpd's address-family prefix: ntpkit resolves both families anyway.
  if (dialect === 'ntp' && (args[0] === '-4' || args[0] === '-6')) { ignored.push(args[0]); args = args.slice(1); }
  const [host, ...a] = args;
  if (host === undefined) return err('expected a host name or address');
  if (dialect === 'ntp' && REFCLOCK_ADDRESS.test(host)) {
    warnAt(s, l, `${kind} ${host}: reference clocks (127.127.t.u) are not supported by ntpkit, ignored`);
    return null;
  }
  if (!isHostOrAddress(host)) return err(`"${host}" is not a host name or an IP address`);
  const options = { ...SOURCE_DEFAULTS, kind, host } as SourceDraft['options'];
  const draft: SourceDraft = { options, file: l.file, line: l.line, ownMinsamples: false, ownMaxsamples: false };
  const table = BY_DIALECT[dialect];
  for (let i = 0; i < a.length; i++) {
    const opt = (a[i] as string).toLowerCase();
    const value = a[i + 1];
    const effect = table.get(opt);
    if (effect === undefined) return err(`unknown option "${a[i] as string}"`);
    if ('flag' in effect) { options[effect.flag] = true; continue; }
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
