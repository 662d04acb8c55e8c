/**
 * Directives ntpkit knows and does not implement: a config written for
 * chronyd or ntpd loads unchanged, with a warning naming each one. For
 * chrony's, the argument count chronyd's parser (conf.c) insists on is
 * still checked where it is fixed, so a line chronyd would refuse to start
 * with is an error here too.
 */
import { errorAt, warnAt } from '../config-builder.js';
import { type ChronyHandler, type Directive, ignored, type Status } from '../directive.js';

/** chrony.conf only (chrony 4.3 to 4.6): name → fixed argument count, or null where it varies. One per line, so implementing one is a one-line removal. */
const CHRONY: Readonly<Record<string, number | null>> = {
  acquisitionport: 1,
  authselectmode: null,
  bindacqaddress: 1,
  bindacqdevice: 1,
  bindcmddevice: 1,
  binddevice: 1,
  clockprecision: 1,
  cmdallow: null,
  cmddeny: null,
  cmdratelimit: null,
  combinelimit: 1,
  corrtimeratio: 1,
  dumpdir: 1,
  fallbackdrift: 2,
  hwclockfile: 1,
  hwtimestamp: null,
  hwtstimeout: 1,
  initstepslew: null,
  lock_all: 0,
  mailonchange: 2,
  manual: 0,
  maxclockerror: 1,
  maxjitter: 1,
  maxupdateskew: 1,
  noclientlog: 0,
  ntsaeads: null,
  ntpsigndsocket: 1,
  ntsprocesses: 1,
  ntsratelimit: null,
  ntsrefresh: 1,
  ptpdomain: null,
  ptpport: 1,
  refresh: 1,
  reselectdist: 1,
  rtcautotrim: 1,
  rtcdevice: 1,
  rtcfile: 1,
  rtconutc: 0,
  rtcsync: 0,
  sched_priority: 1,
  smoothtime: null,
  stratumweight: 1,
  tempcomp: null,
  user: 1,
};

/** ntp.conf only (ntpd 4.2.8 and NTPsec): name → why ntpkit ignores it. */
const NTP: Readonly<Record<string, string>> = {
  broadcastclient: 'broadcast mode is not supported',
  broadcastdelay: 'broadcast mode is not supported',
  manycastclient: 'manycast is not supported',
  manycastserver: 'manycast is not supported',
  multicastclient: 'multicast is not supported',
  fudge: 'reference clocks are not supported',
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
  rlimit: 'resource limits are not implemented',
  saveconfigdir: 'saveconfig is not supported',
  calldelay: 'reference clocks are not supported',
  mdnstries: 'mDNS is not supported',
  nonvolatile: 'ntpkit writes the drift file on every update and on exit',
  ttl: 'manycast is not supported',
  unpeer: 'runtime configuration is not supported',
  nts: 'NTS server options are not implemented yet',
};

/** `enable`/`disable` flags (ntpd 4.2.8 and NTPsec). */
const SYSTEM_FLAGS: ReadonlySet<string> = new Set([
  'auth', 'bclient', 'calibrate', 'kernel', 'mode7', 'monitor', 'ntp', 'stats', 'peer_clear_digest_early',
  'unpeer_crypto_early', 'unpeer_crypto_nak_early', 'unpeer_digest_early', 'manycastserver',
]);

function grammar(args: number | null): string {
  return args === null ? '...' : Array.from({ length: args }, () => 'VALUE').join(' ');
}

function chronyForm(name: string, args: number | null, status: Status<ChronyHandler> = ignored(args === null ? {} : { args })): Directive['chrony'] {
  return { names: [name], grammar: grammar(args), status };
}

function ntpForm(name: string, reason: string): Directive['ntp'] {
  return { names: [name], grammar: '...', status: ignored({ reason }) };
}

const unused = { field: null, consumer: null, default: '', doc: '' } as const;

export const IGNORED_DIRECTIVES: readonly Directive[] = [
  ...Object.entries(CHRONY).map(([name, args]): Directive => ({ chrony: chronyForm(name, args), ...unused })),
  ...Object.entries(NTP).map(([name, reason]): Directive => ({ ntp: ntpForm(name, reason), ...unused })),
  { chrony: chronyForm('broadcast', null), ntp: ntpForm('broadcast', 'broadcast mode is not supported'), ...unused },
  { chrony: chronyForm('dscp', 1), ntp: ntpForm('dscp', 'DSCP marking is not implemented'), ...unused },
  { chrony: chronyForm('pidfile', 1), ntp: ntpForm('pidfile', 'the daemon runs in the foreground (systemd style)'), ...unused },
  { ntp: ntpForm('refclock', 'reference clocks are not supported'), ...unused },
  {
    ntp: {
      names: ['enable', 'disable'],
      grammar: 'FLAG...',
      status: ignored({
        check: (s, l) => {
          const a = l.args;
          const bad = a.filter((f) => !SYSTEM_FLAGS.has(f));
          if (bad.length > 0 || a.length === 0) {
            errorAt(s, l, `${l.directive}: unknown flag${bad.length > 1 ? 's' : ''} ${bad.map((f) => `"${f}"`).join(', ')} (expected ${[...SYSTEM_FLAGS].join(', ')})`);
          } else {
            warnAt(s, l, `${l.directive} ${a.join(' ')}: not implemented by ntpkit, ignored`);
          }
        },
      }),
    },
    ...unused,
  },
];
