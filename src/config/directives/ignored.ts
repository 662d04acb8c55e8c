/**
 * Directives ntpkit knows and does not implement. A chrony.conf directive
 * that would change what the daemon does refuses to start, naming the reason:
 * a config copied from chronyd must not run on silently without it. The few
 * that change nothing a user can observe in ntpkit, and chronyd's obsolete
 * ones, load with a warning saying why. ntp.conf's are accepted with a
 * warning naming each one. For chrony's, the argument count chronyd's parser
 * (conf.c) insists on is still checked where it is fixed, so a line chronyd
 * would refuse to start with is an error here too.
 */
import { errorAt, warnAt } from '../config-builder.js';
import { type ChronyHandler, type Directive, ignored, refused, type Status } from '../directive.js';

/** chrony.conf only (chrony 4.3 to 4.6): name → fixed argument count, or null where it varies. One per line, so implementing one is a one-line removal. */
const CHRONY: Readonly<Record<string, number | null>> = {
  bindcmddevice: 1,
  cmdratelimit: null,
  corrtimeratio: 1,
  hwclockfile: 1,
  hwtstimeout: 1,
  mailonchange: 2,
  noclientlog: 0,
  ntsaeads: null,
  ntpsigndsocket: 1,
  ntsprocesses: 1,
  ntsratelimit: null,
  ptpdomain: null,
  ptpport: 1,
  refresh: 1,
  rtcautotrim: 1,
  rtcdevice: 1,
  rtcfile: 1,
  rtconutc: 0,
  tempcomp: null,
};

/**
 * chrony.conf directives of CHRONY that change nothing a user can observe in
 * ntpkit: accepted with a warning giving this reason. Every other one refuses
 * to start.
 */
export const CHRONY_HARMLESS: Readonly<Record<string, string>> = {
  hwtstimeout: 'it times out hardware transmit stamps, which ntpkit never gets: hardware timestamping always falls back to kernel stamps here',
  ntsprocesses: 'ntpkit\'s NTS-KE server runs in the daemon; the number of helper processes only spreads load',
};

/** Why each remaining directive of CHRONY refuses to start (one that has none here gets the general reason). */
export const CHRONY_REFUSED: Readonly<Record<string, string>> = {
  bindcmddevice: 'binding the UDP command port to a device is not implemented',
  broadcast: 'broadcast server mode is not implemented',
  cmdratelimit: 'rate limiting of the UDP command port is not implemented (only localhost and cmdallow hosts reach it)',
  corrtimeratio: 'the ratio of correction time to offset is not adjustable',
  dscp: 'DSCP marking of NTP packets is not implemented',
  hwclockfile: 'RTC tracking (rtcfile) is not implemented; rtcsync keeps the RTC through the kernel',
  mailonchange: 'ntpkit sends no mail',
  noclientlog: 'the client log cannot be switched off (clientloglimit bounds its memory)',
  ntpsigndsocket: 'MS-SNTP signing through Samba is not implemented',
  ntsaeads: 'ntpkit negotiates AES-SIV-CMAC-256 only; choosing the AEADs is not implemented',
  ntsratelimit: 'rate limiting of NTS-KE connections is not implemented',
  ptpdomain: 'NTP over PTP transport is not implemented',
  ptpport: 'NTP over PTP transport is not implemented',
  refresh: 'periodic re-resolution of source names is not implemented',
  rtcautotrim: 'RTC tracking (rtcfile) is not implemented; rtcsync keeps the RTC through the kernel',
  rtcdevice: 'RTC tracking (rtcfile) is not implemented; rtcsync keeps the RTC through the kernel',
  rtcfile: 'RTC tracking is not implemented; rtcsync keeps the RTC through the kernel',
  rtconutc: 'RTC tracking (rtcfile) is not implemented; rtcsync keeps the RTC through the kernel',
  tempcomp: 'temperature compensation is not implemented',
};

/** chronyd's obsolete directives: it accepts them with a warning that they are no longer supported, or silently (dumponexit). */
const CHRONY_OBSOLETE: readonly string[] = ['commandkey', 'dumponexit', 'generatecommandkey', 'linux_freq_scale', 'linux_hz'];

const REFUSED_BY_DEFAULT = 'not implemented by ntpkit; the daemon would not do what chronyd does with it';

/** ntp.conf only (ntpd 4.2.8 and NTPsec): name → why ntpkit ignores it. */
const NTP: Readonly<Record<string, string>> = {
  broadcastclient: 'broadcast mode is not supported',
  broadcastdelay: 'broadcast mode is not supported',
  manycastclient: 'manycast is not supported',
  manycastserver: 'manycast is not supported',
  multicastclient: 'multicast is not supported',
  fudge: 'reference clocks are not supported',
  trustedkey: 'every key in the keys file is trusted, as in chrony',
  controlkey: 'mode 6 requests that need a key (writes, configuration) are refused; queries need none',
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
  setvar: 'mode 6 system variables cannot be added to',
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

/** A CHRONY entry's status: a warning when it is harmless, a refusal otherwise. */
function chronyStatus(name: string, args: number | null): Status<ChronyHandler> {
  const harmless = CHRONY_HARMLESS[name];
  if (harmless !== undefined) return ignored({ ...(args === null ? {} : { args }), reason: harmless });
  return refused(CHRONY_REFUSED[name] ?? REFUSED_BY_DEFAULT);
}

function chronyForm(name: string, args: number | null, status: Status<ChronyHandler> = chronyStatus(name, args)): Directive['chrony'] {
  return { names: [name], grammar: grammar(args), status };
}

function ntpForm(name: string, reason: string): Directive['ntp'] {
  return { names: [name], grammar: '...', status: ignored({ reason }) };
}

const unused = { field: null, consumer: null, default: '', doc: '' } as const;

export const IGNORED_DIRECTIVES: readonly Directive[] = [
  ...Object.entries(CHRONY).map(([name, args]): Directive => ({ chrony: chronyForm(name, args), ...unused })),
  ...Object.entries(NTP).map(([name, reason]): Directive => ({ ntp: ntpForm(name, reason), ...unused })),
  ...CHRONY_OBSOLETE.map((name): Directive => ({
    chrony: { names: [name], grammar: '...', status: ignored({ warning: `${name}: this directive is no longer supported by chronyd, ignored` }) },
    ...unused,
  })),
  { chrony: chronyForm('broadcast', null), ntp: ntpForm('broadcast', 'broadcast mode is not supported'), ...unused },
  { chrony: chronyForm('dscp', 1), ntp: ntpForm('dscp', 'DSCP marking is not implemented'), ...unused },
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
