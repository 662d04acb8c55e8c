/**
 * ntp.conf -> chrony.conf, line by line (`ntpkit convert`). Comments, blank
 * lines and the order of the file are kept; each directive becomes its
 * chrony equivalent, and a line with none is kept as a comment that says why
 * (`#ntp.conf: LINE  -- reason`), so nothing the operator wrote disappears.
 *
 * The output must load in chronyd 4.3 and in ntpkit alike, so only
 * directives both take are written. What ntpd does by default that chrony
 * does not is written out at the end: ntpd steps the clock whenever it is
 * more than 128 ms off (chrony only slews unless `makestep` says so).
 *
 * Access: ntpd answers everyone unless `restrict` says otherwise; chrony
 * answers no one unless `allow` says so. A `restrict` entry without `ignore`
 * or `noserve` becomes `allow` for its prefix, one with them `deny`; both
 * pick the most specific matching entry, whatever the order. The flags about
 * services chrony does not offer over NTP (mode 6/7 queries and changes,
 * traps, unconfigured peers) have nothing to convert to.
 */
import { isIP } from 'node:net';
import { lexNtpConf } from './lexer.js';

export interface ConvertResult {
  /** The chrony.conf text. */
  readonly text: string;
  /** Directives written as chrony directives. */
  readonly converted: number;
  /** Directives kept as comments, with their line numbers and reasons. */
  readonly commented: readonly { readonly line: number; readonly reason: string }[];
}

/** What one ntp.conf directive becomes: chrony lines, and a reason when it is (partly) left as a comment. */
interface Mapped {
  readonly lines: readonly string[];
  /** Set: the original goes in a comment with this reason (with no `lines`, nothing replaces it). */
  readonly note?: string;
}

const NONE = (note: string): Mapped => ({ lines: [], note });

/** ntpd source options and their chrony spelling; null: no equivalent, dropped with a note. */
const FLAG_OPTIONS: Record<string, string | null> = {
  iburst: 'iburst', burst: 'burst', prefer: 'prefer', noselect: 'noselect', true: 'trust', xleave: 'xleave',
  preempt: null, autokey: null,
};
const VALUE_OPTIONS: Record<string, string | null> = {
  minpoll: 'minpoll', maxpoll: 'maxpoll', key: 'key', version: 'version',
  mode: null, ttl: null, ident: null, bias: null,
};

const WHY_OPTION: Record<string, string> = {
  preempt: 'chrony replaces unreachable pool servers by itself',
  autokey: 'chrony has no Autokey; NTS (the nts option) is its authenticated replacement',
  mode: 'reference clock modes have no chrony equivalent',
  ttl: 'chrony has no manycast',
  ident: 'chrony has no Autokey',
  bias: 'use the offset option',
};

/** A reference clock address 127.127.t.u: the driver type and unit. */
function refclockOf(host: string): { type: number; unit: number } | null {
  const m = /^127\.127\.(\d+)\.(\d+)$/.exec(host);
  return m ? { type: Number(m[1]), unit: Number(m[2]) } : null;
}

function mapSource(directive: string, args: readonly string[], localStratum: Map<string, number>): Mapped {
  const rest = [...args];
  const dropped: string[] = [];
  // -4/-6 before the address: chrony 4.3 has no per-source address family.
  while (rest[0] === '-4' || rest[0] === '-6') dropped.push(`${rest.shift() as string} (chrony 4.3 has no per-source address family; it uses what the name resolves to)`);
  const host = rest.shift();
  if (host === undefined) return NONE(`${directive} without an address`);
  const clock = refclockOf(host);
  if (clock !== null) {
    if (clock.type === 1) return { lines: [`local stratum ${localStratum.get(host) ?? 10}`], note: "ntpd's local clock driver is chrony's `local` directive (the stratum from its fudge line)" };
    if (clock.type === 28) return { lines: [`refclock SHM ${clock.unit}`], note: "ntpd's shared memory driver (type 28) is chrony's refclock SHM" };
    return NONE(`reference clock driver type ${clock.type} has no direct chrony equivalent; write a refclock line (chrony.conf(5))`);
  }
  const out = [directive, host];
  for (let i = 0; i < rest.length; i++) {
    const o = (rest[i] as string).toLowerCase();
    if (o in FLAG_OPTIONS) {
      const c = FLAG_OPTIONS[o];
      if (c === null || c === undefined) dropped.push(`${o} (${WHY_OPTION[o] ?? 'no chrony equivalent'})`);
      else out.push(c);
    } else if (o in VALUE_OPTIONS) {
      const v = rest[++i];
      const c = VALUE_OPTIONS[o];
      if (v === undefined) return NONE(`${o} without a value`);
      if (c === null || c === undefined) dropped.push(`${o} ${v} (${WHY_OPTION[o] ?? 'no chrony equivalent'})`);
      else out.push(c, v);
    } else {
      dropped.push(`${o} (unknown option)`);
    }
  }
  return { lines: [out.join(' ')], ...(dropped.length > 0 ? { note: `dropped ${dropped.join(', ')}` } : {}) };
}

/** The prefix length of a dotted IPv4 netmask, or null when it is not contiguous. */
function maskBits(mask: string): number | null {
  if (isIP(mask) !== 4) return null;
  const n = mask.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
  let bits = 0;
  while (bits < 32 && (n & (2 ** (31 - bits))) !== 0) bits++;
  const expect = bits === 0 ? 0 : (2 ** 32 - 2 ** (32 - bits));
  return n === expect ? bits : null;
}

/** Flags with a meaning in chrony's allow/deny; the others restrict services chrony does not offer over NTP. */
const DENY_FLAGS = new Set(['ignore', 'noserve']);

function mapRestrict(args: readonly string[], state: { ratelimit: boolean }): Mapped {
  const rest = [...args];
  let family: '' | '-4' | '-6' = '';
  if (rest[0] === '-4' || rest[0] === '-6') family = rest.shift() as '-4' | '-6';
  const target = rest.shift();
  if (target === undefined) return NONE('restrict without an address');
  let mask: string | undefined;
  const flags: string[] = [];
  for (let i = 0; i < rest.length; i++) {
    const f = (rest[i] as string).toLowerCase();
    if (f === 'mask') mask = rest[++i];
    else flags.push(f);
  }
  if (target === 'source') return NONE("chrony always accepts the replies of its own sources; `restrict source` has nothing to convert to");
  const deny = flags.some((f) => DENY_FLAGS.has(f));
  let subnet: string;
  if (target === 'default') {
    // Plain: both families, as chrony's allow/deny without an address.
    subnet = family === '-4' ? ' 0.0.0.0/0' : family === '-6' ? ' ::/0' : '';
  } else if (isIP(target.split('/')[0] ?? '') !== 0 && target.includes('/')) {
    subnet = ` ${target}`;
  } else if (isIP(target) === 0) {
    return NONE(`chrony's allow/deny take addresses, not names; a restrict on a server's name only lets its replies in, which chrony does for its own sources anyway`);
  } else if (mask !== undefined) {
    const bits = maskBits(mask);
    if (bits === null) return NONE(`mask ${mask} is not a prefix chrony can express`);
    subnet = ` ${target}/${bits}`;
  } else {
    subnet = ` ${target}`;
  }
  const lines = [`${deny ? 'deny' : 'allow'}${subnet}`];
  const notes: string[] = [];
  if (target === 'default' && !deny) notes.push('ntpd serves time to every address no restrict line denies; chrony to those allow names');
  if (flags.includes('limited') && !state.ratelimit) {
    state.ratelimit = true;
    // ntpd's discard average 3 (8 s) and burst of 8 are chrony's ratelimit defaults.
    lines.push('ratelimit interval 3 burst 8');
    notes.push('limited: chrony rate-limits all clients alike (ratelimit)');
  }
  if (flags.includes('kod')) notes.push('kod: chrony 4.3 sends no rate KoD');
  if (flags.includes('notrust')) notes.push('notrust: chrony cannot require authentication per client');
  return { lines, ...(notes.length > 0 ? { note: notes.join('; ') } : {}) };
}

function mapTinker(args: readonly string[], state: { step: boolean }): Mapped {
  const lines: string[] = [];
  const skipped: string[] = [];
  for (let i = 0; i + 1 < args.length; i += 2) {
    const k = (args[i] as string).toLowerCase();
    const v = args[i + 1] as string;
    if (k === 'step') {
      state.step = true;
      if (Number(v) > 0) lines.push(`makestep ${v} -1`);
      else skipped.push('step 0 (chrony never steps without makestep)');
    } else if (k === 'panic') {
      if (Number(v) > 0) lines.push(`maxchange ${v} 1 0`);
      else skipped.push('panic 0 (chrony has no panic limit without maxchange)');
    } else {
      skipped.push(`${k} ${v} (no chrony equivalent)`);
    }
  }
  return { lines, ...(skipped.length > 0 ? { note: `not converted: ${skipped.join(', ')}` } : {}) };
}

function mapTos(args: readonly string[]): Mapped {
  const lines: string[] = [];
  const skipped: string[] = [];
  for (let i = 0; i + 1 < args.length; i += 2) {
    const k = (args[i] as string).toLowerCase();
    const v = args[i + 1] as string;
    if (k === 'minsane') lines.push(`minsources ${v}`);
    else if (k === 'maxdist') lines.push(`maxdistance ${v}`);
    else if (k === 'orphan') lines.push(`local stratum ${v} orphan`);
    else skipped.push(`${k} ${v} (no chrony equivalent)`);
  }
  return { lines, ...(skipped.length > 0 ? { note: `not converted: ${skipped.join(', ')}` } : {}) };
}

const STATS_LOG: Record<string, string> = { loopstats: 'tracking', peerstats: 'measurements', clockstats: 'refclocks' };

/** Directives with no chrony equivalent, and why. */
const NO_EQUIVALENT: Record<string, string> = {
  filegen: 'chrony names its log files itself and leaves rotation to logrotate',
  logfile: 'chronyd logs to syslog, or to a file given with its -l option',
  logconfig: 'chronyd logs to syslog, or to a file given with its -l option',
  trustedkey: 'chrony trusts a key where a server line names it (key ID)',
  requestkey: 'chronyc needs no key (its socket and cmdallow decide)',
  controlkey: 'chronyc needs no key (its socket and cmdallow decide)',
  crypto: 'chrony has no Autokey; NTS (the nts option) is its authenticated replacement',
  broadcastclient: 'chrony does not listen to broadcast servers',
  multicastclient: 'chrony does not listen to multicast servers',
  manycastclient: 'chrony has no manycast',
  manycastserver: 'chrony has no manycast',
  broadcast: 'ntpkit does not send broadcasts (chronyd would take `broadcast 64 ADDRESS`)',
  enable: 'ntpd system flags have no chrony equivalent',
  disable: 'ntpd system flags have no chrony equivalent',
  interface: 'chrony listens where bindaddress says; write it for the address you want',
  nic: 'chrony listens where bindaddress says; write it for the address you want',
  leapsmearinterval: 'chrony smears leap seconds with leapsecmode slew and smoothtime',
  setvar: 'chrony has no mode 6 variables',
  discard: 'chrony rate-limits with ratelimit interval/burst',
  phone: 'chrony has no modem driver',
  saveconfigdir: 'chrony does not save its runtime configuration',
  mru: 'chrony sizes its client log with clientloglimit',
  rlimit: 'chronyd locks its memory with -m',
  revoke: 'chrony has no Autokey',
  keysdir: 'chrony has no Autokey',
  automax: 'chrony has no Autokey',
  ttl: 'chrony has no manycast',
};

/** Converts ntp.conf text to chrony.conf text; `file` names the input in the header. */
export function ntpConfToChrony(text: string, file: string): ConvertResult {
  const src = text.split(/\r?\n/);
  if (src.length > 0 && src[src.length - 1] === '') src.pop();
  // A local clock's stratum comes from a later fudge line: read them all first.
  const localStratum = new Map<string, number>();
  for (const l of lexNtpConf(text, file)) {
    if (l.directive !== 'fudge' || l.args[0] === undefined) continue;
    const i = l.args.findIndex((a) => a.toLowerCase() === 'stratum');
    if (i > 0 && l.args[i + 1] !== undefined) localStratum.set(l.args[0], Number(l.args[i + 1]));
  }
  const state = { ratelimit: false, step: false };
  const out: string[] = [`# Converted from ${file} by ntpkit convert. Lines chrony has no equivalent for`, '# are kept as comments beginning "#ntp.conf:", with the reason.', ''];
  const commented: { line: number; reason: string }[] = [];
  let converted = 0;
  for (const [i, raw] of src.entries()) {
    const trimmed = raw.trim();
    if (trimmed === '' || trimmed.startsWith('#')) { out.push(raw); continue; }
    const [l] = lexNtpConf(raw, file);
    if (l === undefined) { out.push(raw); continue; }
    const hash = raw.indexOf('#');
    // A comment after the directive: kept on a line of its own (chrony.conf has no trailing comments).
    if (hash > 0) out.push(`# ${raw.slice(hash + 1).trim()}`);
    const m = mapLine(l.directive, l.args, localStratum, state);
    const original = (hash > 0 ? raw.slice(0, hash) : raw).trim();
    if (m.lines.length === 0) {
      commented.push({ line: i + 1, reason: m.note ?? 'no chrony equivalent' });
      out.push(`#ntp.conf: ${original}  -- not converted: ${m.note ?? 'no chrony equivalent'}`);
      continue;
    }
    converted++;
    if (m.note !== undefined) out.push(`#ntp.conf: ${original}  -- ${m.note}`);
    out.push(...m.lines);
  }
  if (!state.step) {
    out.push('', "# ntpd steps the clock whenever it is more than 0.128 s off (its `tinker step`");
    out.push('# default); chrony only slews unless makestep says otherwise.', 'makestep 0.128 -1');
  }
  return { text: `${out.join('\n')}\n`, converted, commented };
}

function mapLine(directive: string, args: readonly string[], localStratum: Map<string, number>, state: { ratelimit: boolean; step: boolean }): Mapped {
  switch (directive) {
    case 'server': case 'pool': case 'peer':
      return mapSource(directive, args, localStratum);
    case 'fudge': {
      const clock = args[0] === undefined ? null : refclockOf(args[0]);
      return clock?.type === 1 ? NONE('folded into the `local stratum` line of its server') : NONE('reference clock calibration: write it as refclock options (offset, delay, refid)');
    }
    case 'driftfile':
      return args[0] === undefined ? NONE('driftfile without a file') : { lines: [`driftfile ${args[0]}`], note: "the same path; chrony's drift file holds the frequency and its error, so it does not read ntpd's one-number file (it warns once) and writes its own from then on" };
    case 'pidfile':
      return args[0] === undefined ? NONE('pidfile without a file') : { lines: [`pidfile ${args[0]}`] };
    case 'keys':
      return args[0] === undefined ? NONE('keys without a file') : { lines: [`keyfile ${args[0]}`], note: "chrony's key file names hash types in full (MD5, SHA1) and marks hex keys HEX:; convert ntpd's M and bare hex keys" };
    case 'restrict':
      return mapRestrict(args, state);
    case 'tinker':
      return mapTinker(args, state);
    case 'tos':
      return mapTos(args);
    case 'statsdir':
      return args[0] === undefined ? NONE('statsdir without a directory') : { lines: [`logdir ${args[0]}`] };
    case 'statistics': {
      const kinds = [...new Set(args.map((a) => STATS_LOG[a.toLowerCase()]).filter((k): k is string => k !== undefined))];
      const left = args.filter((a) => STATS_LOG[a.toLowerCase()] === undefined);
      if (kinds.length === 0) return NONE('none of these statistics has a chrony log');
      return { lines: [`log ${kinds.join(' ')}`], note: `loopstats is chrony's tracking log, peerstats its measurements, clockstats its refclocks${left.length > 0 ? `; not converted: ${left.join(' ')}` : ''}` };
    }
    case 'leapfile':
      return { lines: ['leapsectz right/UTC'], note: 'chrony 4.3 reads leap seconds from the tz database, not a leap-seconds.list file' };
    case 'includefile':
      return NONE('the included file is ntp.conf too: convert it with ntpkit convert and include the result');
    default:
      return NONE(NO_EQUIVALENT[directive] ?? `unknown ntp.conf directive "${directive}"`);
  }
}
