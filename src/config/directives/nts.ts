/**
 * chrony's NTS directives (chrony.conf(5)): the NTS-KE server's certificates,
 * keys and limits, and the trust settings of `server HOST nts` sources.
 * The daemon and `ntpkit server` both take them.
 */
import { type Directive, implemented, type ServerHandler, viaServer } from '../directive.js';
import { NTS_DEFAULTS, type NtsConfig } from '../nts-config.js';
import { parseInteger } from '../numbers.js';
import { lineError, oneArg, oneIntegerInRange } from '../line-args.js';

const KE_SERVER = 'src/daemon/nts-ke-service.ts';
const KE_CLIENT = 'src/daemon/nts-source-ke.ts';
const NTS_SOURCE = 'src/daemon/nts-source-auth.ts';

function nts(name: string | readonly string[], grammar: string, field: keyof NtsConfig, consumer: string, doc: string, apply: ServerHandler, origin = false): Directive {
  const dflt = NTS_DEFAULTS[field];
  return {
    chrony: { names: typeof name === 'string' ? [name] : name, grammar, status: implemented(viaServer(apply)) },
    server: apply,
    origin,
    field: `server.nts.${field}`,
    consumer,
    default: Array.isArray(dflt) || dflt === null ? 'none' : typeof dflt === 'boolean' ? (dflt ? 'on' : 'off') : String(dflt),
    doc,
  };
}

export const NTS_DIRECTIVES: readonly Directive[] = [
  nts('ntsservercert', 'FILE', 'serverCerts', 'src/daemon/config-resources.ts', 'Repeatable; paired with `ntsserverkey` by position. The NTS-KE server runs when at least one pair is given.', (b, l, d) => {
    const f = oneArg(d, l, 'one certificate file');
    if (f !== null) b.nts.serverCerts.push(f);
  }, true),
  nts('ntsserverkey', 'FILE', 'serverKeys', 'src/daemon/config-resources.ts', 'Repeatable; as many as `ntsservercert`.', (b, l, d) => {
    const f = oneArg(d, l, 'one key file');
    if (f !== null) b.nts.serverKeys.push(f);
  }, true),
  nts('ntsport', 'PORT', 'port', KE_SERVER, 'The NTS-KE TCP port.', (b, l, d) => {
    const n = oneIntegerInRange(d, l, 1, 65535, 'a TCP port');
    if (n !== null) b.nts.port = n;
  }),
  nts('ntsrotate', 'SECONDS', 'rotate', KE_SERVER, 'Operating time between master key rotations; 0 never rotates.', (b, l, d) => {
    const n = oneIntegerInRange(d, l, 0, 0x7fffffff, 'a number of seconds');
    if (n !== null) b.nts.rotate = n;
  }),
  // ntscachedir: chrony's older name for it, which chronyd 4.3 still reads.
  nts(['ntsdumpdir', 'ntscachedir'], 'DIR', 'dumpDir', KE_SERVER, 'Where the server keeps its `ntskeys`.', (b, l, d) => {
    const f = oneArg(d, l, 'one directory');
    if (f !== null) b.nts.dumpDir = f;
  }, true),
  nts('ntsntpserver', 'HOST', 'ntpServer', KE_SERVER, 'The NTP server named in NTS-KE responses; by default the KE server\'s own address.', (b, l, d) => {
    const h = oneArg(d, l, 'one host name or address');
    if (h !== null) b.nts.ntpServer = h;
  }),
  nts('maxntsconnections', 'N', 'maxConnections', KE_SERVER, '', (b, l, d) => {
    const n = oneIntegerInRange(d, l, 1, 0x7fffffff, 'a number of connections');
    if (n !== null) b.nts.maxConnections = n;
  }),
  nts('nocerttimecheck', 'UPDATES', 'noCertTimeCheck', KE_CLIENT, 'Clock updates during which certificate validity times are not checked.', (b, l, d) => {
    const n = oneIntegerInRange(d, l, 0, 0x7fffffff, 'a number of clock updates');
    if (n !== null) b.nts.noCertTimeCheck = n;
  }),
  nts('ntsrefresh', 'SECONDS', 'refresh', NTS_SOURCE, 'Age of an `nts` source\'s keys after which it runs NTS-KE again before its next request, even with cookies left (the server\'s keys that sealed them may be rotated away).', (b, l, d) => {
    const n = oneIntegerInRange(d, l, 0, 0x7fffffff, 'a number of seconds');
    if (n !== null) b.nts.refresh = n;
  }),
  nts('nosystemcert', '', 'noSystemCert', KE_CLIENT, 'Trust only `ntstrustedcerts`.', (b, l, d) => {
    if (l.args.length !== 0) lineError(d, l, `expected no arguments, got "${l.args.join(' ')}"`);
    else b.nts.noSystemCert = true;
  }),
  nts('ntstrustedcerts', '[SET-ID] FILE|DIR', 'trustedCerts', KE_CLIENT, 'Added to the system CAs. Sets other than 0 (for the `certset` option) are ignored with a warning.', (b, l, d) => {
    const a = l.args;
    if (a.length === 1) { b.nts.trustedCerts.push(a[0] as string); return; }
    const set = a.length === 2 ? parseInteger(a[0], 0, 0xffffffff) : null;
    if (set === null) { lineError(d, l, `expected [SET-ID] FILE|DIRECTORY, got "${a.join(' ')}"`); return; }
    if (set === 0) b.nts.trustedCerts.push(a[1] as string);
    else d.warnings.push({ file: l.file, line: l.line, message: `ntstrustedcerts: certificate set ${set} is not supported by ntpkit (no certset option), ignored` });
  }, true),
];
