/**
 * ntp.conf (ntpd 4.2.8 and NTPsec, ntp.conf(5) and their html docs) mapped
 * onto the same Config as chrony.conf. What maps, and how:
 *
 * - `server`/`pool`/`peer`: the same SourceOptions (`true` is chrony's
 *   `trust`); `peer` is polled as a server, with a warning. `server
 *   127.127.t.u` is a reference clock: warned about, not a source.
 * - Discipline with ntpd's defaults, not chrony's: ntpd steps whenever the
 *   offset exceeds 0.128 s (`tinker step`, any time, so makestep 0.128 -1),
 *   exits when it exceeds the panic threshold of 1000 s except on the first
 *   update (`tinker panic`; every distribution runs ntpd -g, so maxchange
 *   1000 1 0), slews at most 500 ppm (the kernel PLL's limit: maxslewrate
 *   500), corrects at most 500 ppm of frequency (maxdrift 500), and rejects
 *   sources farther than `tos maxdist` 1.5 s (maxdistance 1.5). `tinker step
 *   0` never steps; `tinker panic 0` never gives up.
 * - Serving: ntpd answers everyone on port 123 unless `restrict` says
 *   otherwise, so the access rules start with an `allow` for every address.
 *   `restrict` entries become allow/deny rules (`ignore`/`noserve` deny,
 *   anything else allows) added from the least to the most specific prefix:
 *   ntpd uses the most specific matching entry, whatever the file order, and
 *   so does chrony's table built in that order. `limited` turns on rate
 *   limiting with `discard average` as chrony's interval (and ntpd's burst
 *   of 8 responses, chrony's default burst); `kod` sends RATE KoDs with
 *   `limited` and DENY KoDs with `noserve`.
 *
 * What cannot map, each reported as a warning: rate limiting and KoD are
 * global in ntpkit, not per entry; `restrict` in ntpd also filters the
 * replies of our own servers (ntpkit always accepts replies to its own
 * requests, matched by origin timestamp); `restrict source` (the addresses
 * of sources are known only once resolved); `notrust`, `version`,
 * `ntpport`, `mssntp`, `flake`, `serverresponse fuzz`. Flags restricting
 * services ntpkit does not offer at all (mode 6/7 queries and changes,
 * traps, symmetric peers, the MRU list: `nomodify`, `noquery`, `notrap`,
 * `lowpriotrap`, `nopeer`, `noepeer`, `nomrulist`, `ippeerlimit`) hold by
 * construction and are accepted silently.
 */
import { isIP } from 'node:net';
import { MAX_POLL, MIN_POLL, type SourceKind } from '../core/engine/source-options.js';
import { parseIPv4, parseIPv6 } from '../proto/ip-address.js';
import {
  errorAt, includeFiles, isHostOrAddress, newSourceDraft, oneArg, parseHttpAddress, parseHttpHost, parseInteger, parseNumber, type ParseState, recordOrigin, type SourceDraft,
  sourceInteger, warnAt, warnSourceLine,
} from './config-builder.js';
import { type ConfigLine, lexNtpConf } from './lexer.js';
import { type AccessRuleConfig } from './server-config.js';

/** ntpd's defaults where they differ from chrony's (see the module comment). */
export const NTPD_DEFAULTS = Object.freeze({
  stepThreshold: 0.128,
  panicThreshold: 1000,
  maxslewrate: 500,
  maxdrift: 500,
  maxdistance: 1.5,
  discardAverage: 3,
});

/** ntp.conf `restrict` flags ntpkit honours by construction (it has no such service). */
const SATISFIED_FLAGS: ReadonlySet<string> = new Set(['nomodify', 'noquery', 'notrap', 'lowpriotrap', 'nopeer', 'noepeer', 'nomrulist']);
/** Flags that would change serving in ways ntpkit does not implement. */
const UNMAPPED_FLAGS: ReadonlySet<string> = new Set(['notrust', 'version', 'ntpport', 'mssntp', 'flake']);
const ACCESS_FLAGS: ReadonlySet<string> = new Set(['ignore', 'noserve', 'limited', 'kod']);

/** statistics names and the chrony `log` option each corresponds to (null: nothing similar). */
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

/** `enable`/`disable` flags (ntpd 4.2.8 and NTPsec). */
const SYSTEM_FLAGS: ReadonlySet<string> = new Set([
  'auth', 'bclient', 'calibrate', 'kernel', 'mode7', 'monitor', 'ntp', 'stats', 'peer_clear_digest_early',
  'unpeer_crypto_early', 'unpeer_crypto_nak_early', 'unpeer_digest_early', 'manycastserver',
]);

/** Known ntp.conf directives ntpkit does not implement: a warning names each. */
const UNIMPLEMENTED: Readonly<Record<string, string>> = {
  broadcast: 'broadcast mode is not supported',
  broadcastclient: 'broadcast mode is not supported',
  broadcastdelay: 'broadcast mode is not supported',
  manycastclient: 'manycast is not supported',
  manycastserver: 'manycast is not supported',
  multicastclient: 'multicast is not supported',
  fudge: 'reference clocks are not supported',
  refclock: 'reference clocks are not supported',
  trustedkey: 'every key in the keys file is trusted, as in chrony',
  controlkey: 'mode 6 control queries are not supported',
  requestkey: 'mode 7 requests are not supported',
  crypto: 'Autokey is not supported',
  keysdir: 'Autokey is not supported',
  revoke: 'Autokey is not supported',
  automax: 'Autokey is not supported',
  ident: 'Autokey is not supported',
  logconfig: 'ntpkit logs every event class',
  filegen: 'file generation sets are not implemented (statistics use statsdir with chrony\'s file names)',
  leapsmearinterval: 'leap smearing is not implemented',
  mru: 'the MRU list is not kept',
  setvar: 'mode 6 variables are not supported',
  phone: 'reference clocks are not supported',
  pidfile: 'the daemon runs in the foreground (systemd style)',
  rlimit: 'resource limits are not implemented',
  saveconfigdir: 'saveconfig is not supported',
  calldelay: 'reference clocks are not supported',
  mdnstries: 'mDNS is not supported',
  nonvolatile: 'ntpkit writes the drift file on every update and on exit',
  ttl: 'manycast is not supported',
  dscp: 'DSCP marking is not implemented',
  unpeer: 'runtime configuration is not supported',
  nts: 'NTS server options are not implemented yet',
};

interface RestrictEntry {
  /** null: `restrict default` without -4/-6 (both families). */
  subnet: string | null;
  bits: number;
  flags: Set<string>;
  file: string;
  line: number;
}

/** ntp.conf parsing state: the restrict entries wait for the whole file, since their order does not matter in ntpd. */
export interface NtpParseState extends ParseState {
  readonly restricts: Map<string, RestrictEntry>;
  discardAverage: number;
  mainFile: string;
}

/** Prefix length of a contiguous netmask, or null. */
function maskBits(octets: Uint8Array): number | null {
  let bits = 0;
  let ended = false;
  for (const o of octets) {
    for (let i = 7; i >= 0; i--) {
      const one = (o >> i) & 1;
      if (one && ended) return null;
      if (one) bits++; else ended = true;
    }
  }
  return bits;
}

function parseNtpSource(s: NtpParseState, l: ConfigLine): SourceDraft | null {
  const kind = l.directive as SourceKind;
  const err = (m: string): null => { errorAt(s, l, `${kind}: ${m}`); return null; };
  let args = l.args;
  const ignored: string[] = [];
  if (args[0] === '-4' || args[0] === '-6') { ignored.push(args[0]); args = args.slice(1); }
  const [host, ...a] = args;
  if (host === undefined) return err('expected a host name or address');
  if (/^127\.127\.\d+\.\d+$/.test(host)) {
    warnAt(s, l, `${kind} ${host}: reference clocks (127.127.t.u) are not supported by ntpkit, ignored`);
    return null;
  }
  if (!isHostOrAddress(host)) return err(`"${host}" is not a host name or an IP address`);
  const draft = newSourceDraft(l, host);
  const o = draft.options;
  for (let i = 0; i < a.length; i++) {
    const opt = (a[i] as string).toLowerCase();
    const value = a[i + 1];
    const int = (lo: number, hi: number): number | null => sourceInteger(s, l, opt, value, lo, hi);
    switch (opt) {
      case 'iburst': o.iburst = true; continue;
      case 'burst': o.burst = true; continue;
      case 'prefer': o.prefer = true; continue;
      case 'noselect': o.noselect = true; continue;
      case 'true': o.trust = true; continue;
      case 'xleave': o.xleave = true; continue;
      case 'nts': o.nts = true; continue;
      case 'preempt': case 'autokey': case 'noval': ignored.push(opt); continue;
      case 'minpoll': case 'maxpoll': {
        const n = int(MIN_POLL, MAX_POLL);
        if (n === null) return null;
        o[opt] = n;
        i++;
        continue;
      }
      case 'version': {
        const n = int(1, 4);
        if (n === null) return null;
        o.version = n;
        i++;
        continue;
      }
      case 'key': {
        const n = int(1, 0xffffffff);
        if (n === null) return null;
        o.key = n;
        i++;
        continue;
      }
      case 'mode': case 'ttl': case 'bias': case 'ask': case 'ca': case 'cert': case 'aead':
        if (value === undefined) return err(`option ${opt} needs a value`);
        ignored.push(`${opt} ${value}`);
        i++;
        continue;
      default:
        return err(`unknown option "${a[i] as string}"`);
    }
  }
  warnSourceLine(s, l, host, ignored);
  return draft;
}

/** `restrict [-4|-6] default|source|ADDR[/BITS] [mask MASK] [flag...]` (and NTPsec's `unrestrict`). */
function parseRestrict(s: NtpParseState, l: ConfigLine): void {
  const err = (m: string): void => errorAt(s, l, `${l.directive}: ${m}`);
  let a = l.args;
  let family: 4 | 6 | null = null;
  if (a[0] === '-4' || a[0] === '-6') { family = a[0] === '-4' ? 4 : 6; a = a.slice(1); }
  const target = a[0];
  if (target === undefined) { err('expected default, source or an address'); return; }
  a = a.slice(1);
  let maskText: string | null = null;
  if (a[0] === 'mask') {
    maskText = a[1] ?? null;
    if (maskText === null) { err('mask needs a value'); return; }
    a = a.slice(2);
  }
  const flags = new Set<string>();
  const unmapped: string[] = [];
  for (let i = 0; i < a.length; i++) {
    const f = (a[i] as string).toLowerCase();
    if (f === 'ippeerlimit') {
      if (parseInteger(a[i + 1], -1, 0x7fffffff) === null) { err(`ippeerlimit must be an integer, got "${a[i + 1] ?? ''}"`); return; }
      i++;
    } else if (f === 'serverresponse') {
      if (a[i + 1] !== 'fuzz') { err(`expected "serverresponse fuzz", got "serverresponse ${a[i + 1] ?? ''}"`); return; }
      unmapped.push('serverresponse fuzz');
      i++;
    } else if (ACCESS_FLAGS.has(f)) flags.add(f);
    else if (UNMAPPED_FLAGS.has(f)) unmapped.push(f);
    else if (!SATISFIED_FLAGS.has(f)) { err(`unknown flag "${a[i] as string}"`); return; }
  }
  if (unmapped.length > 0) warnAt(s, l, `${l.directive}: flag${unmapped.length > 1 ? 's' : ''} ${unmapped.join(', ')} not implemented by ntpkit, ignored`);

  if (target === 'source') {
    if (maskText !== null) { err('"restrict source" takes no mask'); return; }
    if (flags.has('ignore') || flags.has('noserve') || flags.has('limited')) {
      warnAt(s, l, `${l.directive} source: not mapped (the addresses of sources are known only once resolved); ntpkit always accepts replies from its sources and serves their addresses by the other rules`);
    }
    return;
  }
  let subnet: string | null;
  let bits: number;
  if (target === 'default') {
    if (maskText !== null) { err('"restrict default" takes no mask'); return; }
    subnet = family === 4 ? '0.0.0.0/0' : family === 6 ? '::/0' : null;
    bits = 0;
  } else {
    const slash = target.indexOf('/');
    const addrText = slash >= 0 ? target.slice(0, slash) : target;
    const v4 = parseIPv4(addrText);
    const v6 = v4 ? null : parseIPv6(addrText);
    const octets = v4 ?? v6;
    if (!octets) {
      err(`"${addrText}" is not an IP address (host names are not accepted here: give an address)`);
      return;
    }
    const width = v4 ? 32 : 128;
    if (family !== null && family !== (v4 ? 4 : 6)) { err(`-${family} does not match the address ${addrText}`); return; }
    if (slash >= 0) {
      const b = parseInteger(target.slice(slash + 1), 0, width);
      if (b === null) { err(`bad prefix length in "${target}"`); return; }
      bits = b;
      if (maskText !== null) { err('give either ADDR/BITS or a mask, not both'); return; }
    } else if (maskText !== null) {
      const m = v4 ? parseIPv4(maskText) : parseIPv6(maskText);
      const b = m ? maskBits(m) : null;
      if (b === null) { err(`"${maskText}" is not a contiguous ${v4 ? 'IPv4' : 'IPv6'} netmask`); return; }
      bits = b;
    } else {
      bits = width;
    }
    subnet = `${addrText}/${bits}`;
  }
  const key = `${subnet ?? 'default'}`;
  if (l.directive === 'unrestrict') { s.restricts.delete(key); return; }
  const prev = s.restricts.get(key);
  // ntpd (ntp_restrict.c) adds the flags of a repeated address/mask to the entry's.
  if (prev) for (const f of flags) prev.flags.add(f);
  else s.restricts.set(key, { subnet, bits, flags, file: l.file, line: l.line });
}

/** Turns the restrict entries into the server's access rules, rate limit and KoD switch. */
export function finishNtpServer(s: NtpParseState): void {
  const server = s.b.server;
  const entries = [...s.restricts.values()].sort((x, y) => x.bits - y.bits);
  const rules: AccessRuleConfig[] = [{ allow: true, all: false, subnet: null, file: s.mainFile, line: 0 }];
  const serving = (e: RestrictEntry): boolean => !e.flags.has('ignore') && !e.flags.has('noserve');
  for (const e of entries) rules.push({ allow: serving(e), all: false, subnet: e.subnet, file: e.file, line: e.line });
  // Not unshift(...rules): a long restrict list spread as arguments overflows the call stack.
  server.access = rules.concat(server.access);

  const limited = entries.filter((e) => serving(e) && e.flags.has('limited'));
  if (limited.length > 0) {
    const kod = limited.some((e) => e.flags.has('kod'));
    server.rateLimit = { interval: s.discardAverage, burst: 8, leak: 2, kod: kod ? 1 : 0 };
    const unlimited = entries.filter((e) => serving(e) && !e.flags.has('limited'));
    if (unlimited.length > 0) {
      const first = limited[0] as RestrictEntry;
      warnAt(s, first, `restrict: rate limiting ("limited") applies to every client in ntpkit, also to ${unlimited.map((e) => e.subnet ?? 'default').join(', ')}`);
    }
  }
  const denyKod = entries.find((e) => e.flags.has('noserve') && !e.flags.has('ignore') && e.flags.has('kod'));
  if (denyKod) {
    server.denyKod = true;
    warnAt(s, denyKod, 'restrict: "kod" with "noserve": ntpkit sends DENY kiss-o\'-death replies to every denied client');
  }
}

function parseTinker(s: NtpParseState, l: ConfigLine): void {
  const a = l.args;
  if (a.length === 0 || a.length % 2 !== 0) { errorAt(s, l, `tinker: expected KEY VALUE pairs, got "${a.join(' ')}"`); return; }
  for (let i = 0; i < a.length; i += 2) {
    const key = (a[i] as string).toLowerCase();
    const n = parseNumber(a[i + 1]);
    if (n === null || n < 0) { errorAt(s, l, `tinker: ${key} must be a number >= 0, got "${a[i + 1] as string}"`); return; }
    switch (key) {
      case 'step':
        // ntpd steps whenever the offset exceeds the threshold (after the stepout interval), not only at start.
        s.b.discipline.makestep = n === 0 ? null : { threshold: n, limit: -1 };
        break;
      case 'panic':
        // ntpd exits on an offset above panic, except on the first update under -g.
        s.b.discipline.maxchange = n === 0 ? null : { offset: n, start: 1, ignore: 0 };
        break;
      case 'allan': case 'dispersion': case 'freq': case 'huffpuff': case 'stepout': case 'stepback': case 'stepfwd': case 'tick':
        warnAt(s, l, `tinker ${key}: not implemented by ntpkit, ignored`);
        break;
      default:
        errorAt(s, l, `tinker: unknown option "${key}"`);
        return;
    }
  }
}

function parseTos(s: NtpParseState, l: ConfigLine): void {
  const a = l.args;
  if (a.length === 0 || a.length % 2 !== 0) { errorAt(s, l, `tos: expected KEY VALUE pairs, got "${a.join(' ')}"`); return; }
  for (let i = 0; i < a.length; i += 2) {
    const key = (a[i] as string).toLowerCase();
    const v = a[i + 1] as string;
    switch (key) {
      case 'minsane': {
        const n = parseInteger(v, 1, 0x7fffffff);
        if (n === null) { errorAt(s, l, `tos: minsane must be a whole number >= 1, got "${v}"`); return; }
        s.b.discipline.minsources = n;
        break;
      }
      case 'maxdist': {
        const n = parseNumber(v);
        if (n === null || n <= 0) { errorAt(s, l, `tos: maxdist must be a number of seconds above 0, got "${v}"`); return; }
        s.b.discipline.maxdistance = n;
        break;
      }
      case 'orphan': {
        // chrony.conf(5): local ... orphan "is compatible with the ntpd's orphan mode (enabled by the tos orphan command)".
        const n = parseInteger(v, 1, 15);
        if (n === null) { errorAt(s, l, `tos: orphan must be a stratum from 1 to 15, got "${v}"`); return; }
        s.b.server.local = { stratum: n, orphan: true, distance: 1 };
        break;
      }
      case 'minclock': case 'maxclock': case 'floor': case 'ceiling': case 'cohort': case 'orphanwait':
      case 'mindist': case 'beacon': case 'bcpollbstep': case 'maxdisp':
        if (parseNumber(v) === null) { errorAt(s, l, `tos: ${key} must be a number, got "${v}"`); return; }
        warnAt(s, l, `tos ${key}: not implemented by ntpkit, ignored`);
        break;
      default:
        errorAt(s, l, `tos: unknown option "${key}"`);
        return;
    }
  }
}

/** Applies ntp.conf lines to the builder; `depth` counts includefile levels. */
export function parseNtpLines(s: NtpParseState, lines: readonly ConfigLine[], depth = 0): void {
  const { b } = s;
  for (const l of lines) {
    const a = l.args;
    const d = l.directive;
    const err = (m: string): void => errorAt(s, l, `${d}: ${m}`);
    switch (d) {
      case 'server': case 'pool': case 'peer': {
        const src = parseNtpSource(s, l);
        if (src) b.sources.push(src);
        break;
      }
      case 'driftfile': {
        // ntpd 4.2.8: driftfile NAME [MINUTES [TOLERANCE]] (write interval, change threshold).
        if (a.length < 1 || a.length > 3) { err(`expected a file name, got "${a.join(' ')}"`); break; }
        b.driftfile = a[0] as string;
        recordOrigin(s, l, 'driftfile');
        if (a.length > 1) warnAt(s, l, 'driftfile: the write interval and tolerance are not implemented by ntpkit, ignored');
        break;
      }
      case 'restrict': case 'unrestrict':
        parseRestrict(s, l);
        break;
      case 'discard': {
        for (let i = 0; i < a.length; i += 2) {
          const key = (a[i] as string).toLowerCase();
          const n = parseInteger(a[i + 1], -19, 0x7fffffff);
          if (n === null) { err(`${key} must be an integer, got "${a[i + 1] ?? ''}"`); break; }
          if (key === 'average') {
            if (n > 12) { err(`average must be from -19 to 12 (log2 seconds), got ${n}`); break; }
            s.discardAverage = n;
          } else if (key === 'minimum' || key === 'monitor') {
            warnAt(s, l, `discard ${key}: not implemented by ntpkit (chrony's ratelimit burst and leak apply), ignored`);
          } else { err(`unknown option "${key}"`); break; }
        }
        break;
      }
      case 'tinker':
        parseTinker(s, l);
        break;
      case 'tos':
        parseTos(s, l);
        break;
      case 'includefile': {
        const p = oneArg(s, l, 'one file name');
        if (p !== null) includeFiles(s, l, [p], depth, (text, file) => parseNtpLines(s, lexNtpConf(text, file), depth + 1));
        break;
      }
      case 'logfile': {
        const p = oneArg(s, l, 'one file name');
        if (p !== null) b.logfile = p;
        break;
      }
      case 'httpaddress':
        recordOrigin(s, l, 'httpaddress');
        parseHttpAddress(s, l);
        break;
      case 'httphost':
        parseHttpHost(s, l);
        break;
      case 'statsdir': {
        const p = oneArg(s, l, 'one directory');
        if (p !== null) { b.logdir = p; recordOrigin(s, l, 'logdir'); }
        break;
      }
      case 'statistics': {
        const bad = a.filter((n) => !Object.hasOwn(STATISTICS, n));
        if (bad.length > 0) { err(`unknown statistics ${bad.map((n) => `"${n}"`).join(', ')} (expected ${Object.keys(STATISTICS).join(', ')})`); break; }
        const unmapped = a.filter((n) => STATISTICS[n] === null);
        for (const n of a) {
          const log = STATISTICS[n];
          if (log && !b.log.includes(log)) b.log.push(log);
        }
        if (unmapped.length > 0) warnAt(s, l, `statistics: ${unmapped.join(', ')} not implemented by ntpkit, ignored`);
        break;
      }
      case 'leapfile': {
        const p = oneArg(s, l, 'one file name');
        if (p !== null) b.leapseclist = p;
        break;
      }
      case 'keys': {
        const p = oneArg(s, l, 'one file name');
        if (p === null) break;
        b.keyfile = p;
        recordOrigin(s, l, 'keyfile');
        break;
      }
      case 'enable': case 'disable': {
        const bad = a.filter((f) => !SYSTEM_FLAGS.has(f));
        if (bad.length > 0 || a.length === 0) { err(`unknown flag${bad.length > 1 ? 's' : ''} ${bad.map((f) => `"${f}"`).join(', ')} (expected ${[...SYSTEM_FLAGS].join(', ')})`); break; }
        warnAt(s, l, `${d} ${a.join(' ')}: not implemented by ntpkit, ignored`);
        break;
      }
      case 'interface': case 'nic': {
        // `interface listen ADDR` is the one form with a chrony equivalent (bindaddress).
        if (a.length === 2 && a[0] === 'listen' && isIP(a[1] as string) !== 0) {
          b.server.bindAddresses.push(a[1] as string);
          recordOrigin(s, l, 'bindaddress');
          break;
        }
        if (a.length !== 2 || !['listen', 'ignore', 'drop'].includes(a[0] as string)) { err(`expected listen, ignore or drop and an address, interface name, all, ipv4, ipv6 or wildcard, got "${a.join(' ')}"`); break; }
        warnAt(s, l, `${d} ${a.join(' ')}: not implemented by ntpkit (only "interface listen ADDRESS" maps, to bindaddress), ignored`);
        break;
      }
      default:
        if (Object.hasOwn(UNIMPLEMENTED, d)) warnAt(s, l, `${d}: not implemented by ntpkit (${UNIMPLEMENTED[d] as string}), ignored`);
        else errorAt(s, l, `unknown directive "${d}"`);
    }
  }
}
