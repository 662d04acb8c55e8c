/**
 * ntp.conf (ntpd 4.2.8 and NTPsec, ntp.conf(5) and their html docs) mapped
 * onto the same Config as chrony.conf. What maps, and how:
 *
 * - `server`/`pool`/`peer`: the same SourceOptions (`true` is chrony's
 *   `trust`); `peer` is a symmetric active association. `server
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
 * `ntpport`, `mssntp`, `flake`, `serverresponse fuzz`. `noquery` decides
 * who may send mode 6 queries. Flags restricting services ntpkit does not
 * offer at all (mode 6 changes, mode 7, traps, symmetric peers, the MRU list:
 * `nomodify`, `notrap`, `lowpriotrap`, `nopeer`, `noepeer`, `nomrulist`,
 * `ippeerlimit`) hold by construction and are accepted silently.
 */
import { errorAt, type ParseState } from './config-builder.js';
import { applyStatus, type LineContext } from './directive.js';
import { type ConfigLine, lexNtpConf } from './lexer.js';
import { finishNtpServer } from './ntp-restrict.js';
import { type NtpParseState } from './ntp-state.js';
import { ntpDirective } from './registry.js';

/** ntpd's defaults where they differ from chrony's (see the module comment). */
export const NTPD_DEFAULTS = Object.freeze({
  stepThreshold: 0.128,
  panicThreshold: 1000,
  maxslewrate: 500,
  maxdrift: 500,
  maxdistance: 1.5,
  discardAverage: 3,
});

/** Applies ntp.conf lines to the builder; `depth` counts includefile levels. */
export function parseNtpLines(s: NtpParseState, lines: readonly ConfigLine[], depth = 0): void {
  const ctx: LineContext = { depth, onlySources: false, parseFile: (text, file) => parseNtpLines(s, lexNtpConf(text, file), depth + 1) };
  for (const l of lines) {
    const found = ntpDirective(l.directive);
    if (found === undefined) errorAt(s, l, `unknown directive "${l.directive}"`);
    else applyStatus(s, l, found.form.status, ctx);
  }
}

/** Parses a whole ntp.conf into the builder, starting from ntpd's defaults, then maps its restrict entries. */
export function parseNtpConf(base: ParseState, text: string, name: string): void {
  const d = base.b.discipline;
  d.makestep = { threshold: NTPD_DEFAULTS.stepThreshold, limit: -1 };
  d.maxchange = { offset: NTPD_DEFAULTS.panicThreshold, start: 1, ignore: 0 };
  d.maxslewrate = NTPD_DEFAULTS.maxslewrate;
  d.maxdrift = NTPD_DEFAULTS.maxdrift;
  d.maxdistance = NTPD_DEFAULTS.maxdistance;
  const s: NtpParseState = { ...base, restricts: new Map(), discardAverage: NTPD_DEFAULTS.discardAverage, mainFile: name };
  parseNtpLines(s, lexNtpConf(text, name));
  finishNtpServer(s);
}
