/**
 * ntp.conf `restrict` (and NTPsec's `unrestrict`) mapped onto chrony's
 * allow/deny rules: entries are gathered while the file is read and turned
 * into rules, a rate limit and the DENY KoD switch once it is all read,
 * since ntpd uses the most specific entry whatever the file order.
 */
import { errorAt, warnAt } from './config-builder.js';
import { type ConfigLine } from './lexer.js';
import { type NtpParseState, type RestrictEntry } from './ntp-state.js';
import { parseInteger } from './numbers.js';
import { parseIPv4, parseIPv6 } from '../proto/ip-address.js';
import { type AccessRuleConfig } from './server-config.js';

/** ntp.conf `restrict` flags ntpkit honours by construction (it has no such service: mode 6 writes, traps, peers, the MRU list). */
const SATISFIED_FLAGS: ReadonlySet<string> = new Set(['nomodify', 'notrap', 'lowpriotrap', 'nopeer', 'noepeer', 'nomrulist']);
/** Flags that would change serving in ways ntpkit does not implement. */
const UNMAPPED_FLAGS: ReadonlySet<string> = new Set(['notrust', 'version', 'ntpport', 'mssntp', 'flake']);
const ACCESS_FLAGS: ReadonlySet<string> = new Set(['ignore', 'noserve', 'limited', 'kod', 'noquery']);

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

/** `restrict [-4|-6] default|source|ADDR[/BITS] [mask MASK] [flag...]` (and NTPsec's `unrestrict`). */
export function parseRestrict(s: NtpParseState, l: ConfigLine): void {
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

/** Turns the restrict entries into the server's access rules, rate limit and KoD switch, and the mode 6 query rules. */
export function finishNtpServer(s: NtpParseState): void {
  const server = s.b.server;
  const entries = [...s.restricts.values()].sort((x, y) => x.bits - y.bits);
  const rules: AccessRuleConfig[] = [{ allow: true, all: false, subnet: null, file: s.mainFile, line: 0 }];
  const serving = (e: RestrictEntry): boolean => !e.flags.has('ignore') && !e.flags.has('noserve');
  for (const e of entries) rules.push({ allow: serving(e), all: false, subnet: e.subnet, file: e.file, line: e.line });
  // Not unshift(...rules): a long restrict list spread as arguments overflows the call stack.
  server.access = rules.concat(server.access);
  // Mode 6 queries: ntpd answers them unless the most specific entry says noquery (or ignore).
  server.queryAccess = entries.map((e) => ({ allow: !e.flags.has('noquery') && !e.flags.has('ignore'), all: false, subnet: e.subnet, file: e.file, line: e.line }));

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

