/**
 * The NTP server side: chrony's port, bindaddress, allow, deny, local and
 * ratelimit, ntpkit's xleave and denykod switches, and ntp.conf's restrict,
 * discard and interface, which map onto the same settings. `ntpkit server`
 * takes the chrony ones too.
 */
import { isIP } from 'node:net';
import { parseSubnet } from '../../core/server/access.js';
import { DEFAULT_RATE_LIMIT, RATE_LIMIT_RANGES, type RateLimitConfig } from '../../core/server/ratelimit.js';
import { errorAt, interfaceSetter, oneValue, recordOrigin, warnAt } from '../config-builder.js';
import { type Directive, implemented, type ServerHandler, viaServer } from '../directive.js';
import { parseRestrict } from '../ntp-restrict.js';
import { parseInteger } from '../numbers.js';
import { LOCAL_DEFAULTS } from '../server-config.js';
import { lineError, oneArg } from '../line-args.js';

const SERVER = 'src/daemon/ntp-server.ts';

const port: ServerHandler = (b, l, d) => {
  const n = l.args.length === 1 ? parseInteger(l.args[0], 0, 65535) : null;
  if (n === null) lineError(d, l, `expected a port number from 0 to 65535, got "${l.args.join(' ')}"`);
  else b.port = n;
};

const bindaddress: ServerHandler = (b, l, d) => {
  const a = l.args;
  if (a.length !== 1 || isIP(a[0] as string) === 0) lineError(d, l, `expected one IPv4 or IPv6 address, got "${a.join(' ')}"`);
  else b.bindAddresses.push(a[0] as string);
};

/** `allow`/`deny`, `cmdallow`/`cmddeny`: `[all] [SUBNET]`, into the list `field`; `allowName` is the allowing spelling. */
function accessRule(field: 'access' | 'queryAccess', allowName: string): ServerHandler {
  return (b, l, d) => {
    let rest = l.args;
    const all = rest[0] === 'all';
    if (all) rest = rest.slice(1);
    if (rest.length > 1) { lineError(d, l, `expected at most one subnet, got "${rest.join(' ')}"`); return; }
    let subnet: string | null = null;
    if (rest.length === 1) {
      subnet = rest[0] as string;
      if (!parseSubnet(subnet)) {
        lineError(d, l, `"${subnet}" is not an address or subnet (host names are not accepted here: give an address or subnet)`);
        return;
      }
    }
    b[field].push({ allow: l.directive === allowName, all, subnet, file: l.file, line: l.line });
  };
}

const access = accessRule('access', 'allow');

const local: ServerHandler = (b, l, d) => {
  const a = l.args;
  const cfg = { ...LOCAL_DEFAULTS };
  for (let i = 0; i < a.length; i++) {
    const key = a[i];
    if (key === 'orphan') { cfg.orphan = true; continue; }
    if (key === 'waitsynced' || key === 'waitunsynced') {
      // chrony 4.4+: both take a value (seconds).
      d.warnings.push({ file: l.file, line: l.line, message: `local: option ${key} is not implemented by ntpkit and is ignored` });
      i++;
      continue;
    }
    const value = a[i + 1];
    i++;
    if (key === 'stratum') {
      const n = parseInteger(value, 1, 15);
      if (n === null) { lineError(d, l, `stratum must be an integer from 1 to 15, got "${value ?? ''}"`); return; }
      cfg.stratum = n;
    } else if (key === 'distance') {
      const n = Number(value);
      if (value === undefined || value.trim() === '' || !Number.isFinite(n) || n < 0) { lineError(d, l, `distance must be a number of seconds >= 0, got "${value ?? ''}"`); return; }
      cfg.distance = n;
    } else {
      lineError(d, l, `unknown option "${key}" (expected stratum, orphan, distance, waitsynced or waitunsynced)`);
      return;
    }
  }
  b.local = cfg;
};

const ratelimit: ServerHandler = (b, l, d) => {
  const a = l.args;
  const rl: Record<string, number> = { ...DEFAULT_RATE_LIMIT };
  for (let i = 0; i < a.length; i += 2) {
    const key = a[i] as string;
    const range = Object.hasOwn(RATE_LIMIT_RANGES, key) ? RATE_LIMIT_RANGES[key as keyof RateLimitConfig] : undefined;
    if (!range) { lineError(d, l, `unknown option "${key}" (expected interval, burst, leak or kod)`); return; }
    const n = parseInteger(a[i + 1], range[0], range[1]);
    if (n === null) { lineError(d, l, `${key} must be an integer from ${range[0]} to ${range[1]}, got "${a[i + 1] ?? ''}"`); return; }
    rl[key] = n;
  }
  b.rateLimit = rl as unknown as RateLimitConfig;
};

/**
 * ntpkit's switches, not chrony's directives: chronyd always serves
 * interleaved mode (xleave, default on) and always ignores denied clients
 * (denykod, default off). A bare directive means on.
 */
function onOff(set: (b: Parameters<ServerHandler>[0], on: boolean) => void): ServerHandler {
  return (b, l, d) => {
    const a = l.args;
    if (a.length > 1 || (a.length === 1 && a[0] !== 'on' && a[0] !== 'off')) lineError(d, l, `expected "on" or "off", got "${a.join(' ')}"`);
    else set(b, a[0] !== 'off');
  };
}

/** A chrony.conf directive of the server side, which `ntpkit server` takes as well. */
function serving(names: readonly string[], grammar: string, apply: ServerHandler, rest: Omit<Directive, 'chrony' | 'server'>): Directive {
  return { chrony: { names, grammar, status: implemented(viaServer(apply)) }, server: apply, ...rest };
}

export const SERVING_DIRECTIVES: readonly Directive[] = [
  serving(['port'], 'PORT', port, { field: 'server.port', consumer: SERVER, default: '123', doc: '0 disables serving.' }),
  {
    chrony: { names: ['bindaddress'], grammar: 'ADDRESS', status: implemented(viaServer(bindaddress)) },
    ntp: {
      names: ['interface', 'nic'],
      grammar: 'listen|ignore|drop ADDRESS|NAME|all|ipv4|ipv6|wildcard',
      status: implemented((s, l) => {
        const a = l.args;
        // `interface listen ADDR` is the one form with a chrony equivalent (bindaddress).
        if (a.length === 2 && a[0] === 'listen' && isIP(a[1] as string) !== 0) {
          s.b.server.bindAddresses.push(a[1] as string);
          recordOrigin(s, l, 'bindaddress');
          return;
        }
        if (a.length !== 2 || !['listen', 'ignore', 'drop'].includes(a[0] as string)) {
          errorAt(s, l, `${l.directive}: expected listen, ignore or drop and an address, interface name, all, ipv4, ipv6 or wildcard, got "${a.join(' ')}"`);
          return;
        }
        warnAt(s, l, `${l.directive} ${a.join(' ')}: not implemented by ntpkit (only "interface listen ADDRESS" maps, to bindaddress), ignored`);
      }),
    },
    server: bindaddress,
    origin: true,
    field: 'server.bindAddresses',
    consumer: SERVER,
    default: 'every address',
    doc: 'Repeatable. ntp.conf: only `interface listen ADDRESS` maps; the other forms give a warning.',
  },
  {
    chrony: {
      names: ['binddevice'],
      grammar: 'INTERFACE',
      status: implemented(interfaceSetter((b, iface) => { b.server.bindDevice = iface; })),
    },
    field: 'server.bindDevice',
    consumer: SERVER,
    default: 'none',
    doc: 'SO_BINDTODEVICE on the NTP server\'s sockets, as chronyd sets it: only requests that arrive through that interface are answered, and replies (and a peer\'s packets) leave through it. An interface this machine does not have stops the start at this line. Needs the native addon. Refused with an NTS-KE server (its TCP socket would not be bound). The daemon only: `ntpkit server` ignores it with a warning.',
  },
  serving(['allow', 'deny'], '[all] [SUBNET]', access, {
    field: 'server.access', consumer: SERVER, default: 'nothing served',
    doc: 'Addresses and subnets only: a host name would need DNS at load time.',
  }),

  serving(['local'], '[stratum N] [orphan] [distance D]', local, {
    field: 'server.local', consumer: SERVER, default: 'off',
    doc: '`waitsynced` and `waitunsynced` give a warning.',
  }),
  serving(['ratelimit'], '[interval N] [burst N] [leak N] [kod N]', ratelimit, { field: 'server.rateLimit', consumer: SERVER, default: 'off', doc: '' }),
  serving(['xleave'], '[on|off]', onOff((b, on) => { b.xleave = on; }), {
    extension: true, field: 'server.xleave', consumer: SERVER, default: 'on',
    doc: 'answer interleaved-mode requests (chronyd always does).',
  }),
  serving(['denykod'], '[on|off]', onOff((b, on) => { b.denyKod = on; }), {
    extension: true, field: 'server.denyKod', consumer: SERVER, default: 'off',
    doc: 'send denied clients a DENY kiss-o\'-death (chronyd ignores them).',
  }),
  serving(['clientloglimit'], 'BYTES', (b, l, d) => {
    const n = l.args.length === 1 ? parseInteger(l.args[0], 0, Number.MAX_SAFE_INTEGER) : null;
    if (n === null) lineError(d, l, `expected a number of bytes, got "${l.args.join(' ')}"`);
    else b.clientLogLimit = n;
  }, {
    field: 'server.clientLogLimit', consumer: SERVER, default: 'ntpkit\'s 65536 records (chronyd: 524288 bytes, 4096 records)',
    doc: 'Memory for the per-client records (rate limiting, interleaved mode). As in chronyd, one record per 128 bytes, rounded down to a power of two; ntpkit keeps 8 to 16777216 records.',
  }),
  {
    ntp: { names: ['restrict', 'unrestrict'], grammar: '[-4|-6] default|source|ADDR[/BITS] [mask MASK] [FLAG...]', status: implemented(parseRestrict) },
    // It sets server.access too, the field chrony's allow/deny declare; this one is its own.
    field: 'server.queryAccess',
    consumer: 'src/daemon/query-access.ts',
    default: 'serve everyone; mode 6 queries from loopback only',
    doc: 'Becomes allow/deny rules, a rate limit and the DENY KoD switch (see "Serving and restrict"), and who may send mode 6 queries (ntpq): an entry without `noquery` or `ignore` permits them (see docs/control.md).',
  },
  {
    ntp: {
      names: ['discard'],
      grammar: '[average N] [minimum N] [monitor N]',
      status: implemented((s, l) => {
        const a = l.args;
        for (let i = 0; i < a.length; i += 2) {
          const key = (a[i] as string).toLowerCase();
          const n = parseInteger(a[i + 1], -19, 0x7fffffff);
          if (n === null) { errorAt(s, l, `discard: ${key} must be an integer, got "${a[i + 1] ?? ''}"`); return; }
          if (key === 'average') {
            if (n > 12) { errorAt(s, l, `discard: average must be from -19 to 12 (log2 seconds), got ${n}`); return; }
            s.discardAverage = n;
          } else if (key === 'minimum' || key === 'monitor') {
            warnAt(s, l, `discard ${key}: not implemented by ntpkit (chrony's ratelimit burst and leak apply), ignored`);
          } else { errorAt(s, l, `discard: unknown option "${key}"`); return; }
        }
      }),
    },
    field: 'server.rateLimit',
    consumer: SERVER,
    default: 'average 3',
    doc: '`average` is the rate limit\'s interval when a restrict entry is `limited`.',
  },
  {
    chrony: {
      names: ['keyfile'],
      grammar: 'FILE',
      // Read by the daemon at start and on reload (config/keyfile.ts): its errors stop it there.
      status: implemented(oneValue('one file name', (s, f) => { s.b.keyfile = f; })),
    },
    ntp: {
      names: ['keys'],
      grammar: 'FILE',
      status: implemented(oneValue('one file name', (s, p, l) => { s.b.keyfile = p; recordOrigin(s, l, 'keyfile'); })),
    },
    server: (b, l, d) => {
      const f = oneArg(d, l, 'one file name');
      if (f !== null) b.keyfile = f;
    },
    origin: true,
    field: 'keyfile',
    consumer: 'src/daemon/config-resources.ts',
    default: 'none',
    doc: 'Symmetric keys for `key N` sources and for signing replies, loaded at start and on reload ([keys.md](keys.md)).',
  },
];
