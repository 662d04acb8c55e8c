/**
 * ntp.conf `tinker` and `tos`: the keys with a chrony equivalent set the
 * discipline (or orphan mode) with ntpd's meaning; the others are known and
 * give a warning.
 */
import { errorAt, warnAt } from './config-builder.js';
import { type ConfigLine } from './lexer.js';
import { type NtpParseState } from './ntp-state.js';
import { parseInteger, parseNumber } from './numbers.js';

export function parseTinker(s: NtpParseState, l: ConfigLine): void {
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

export function parseTos(s: NtpParseState, l: ConfigLine): void {
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
