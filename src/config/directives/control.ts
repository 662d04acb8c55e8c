/** How operators reach the daemon: the control socket and the metrics/dashboard HTTP server. */
import { isIP } from 'node:net';
import { DEFAULT_CHRONY_CMD_SOCKET, DEFAULT_CMD_ADDRESSES, DEFAULT_CMDPORT, DEFAULT_CONTROLSOCKET, DEFAULT_HTTP_PORT } from '../config.js';
import { errorAt, type ParseState, parseHttpAddress, parseHttpHost, recordOrigin } from '../config-builder.js';
import { type ConfigLine } from '../lexer.js';
import { type Directive, implemented } from '../directive.js';
import { oneArg, oneInteger } from '../line-args.js';
import { parseSubnet } from '../../core/server/access.js';

/** `cmdallow` / `cmddeny [all] [SUBNET]`, chrony's grammar of allow/deny. */
function cmdAccess(s: ParseState, l: ConfigLine): void {
  let rest = l.args;
  const all = rest[0] === 'all';
  if (all) rest = rest.slice(1);
  if (rest.length > 1) { errorAt(s, l, `${l.directive}: expected at most one subnet, got "${rest.join(' ')}"`); return; }
  const subnet = rest[0] ?? null;
  if (subnet !== null && !parseSubnet(subnet)) { errorAt(s, l, `${l.directive}: "${subnet}" is not an address or subnet`); return; }
  const rule = { allow: l.directive === 'cmdallow', all, subnet, file: l.file, line: l.line };
  s.b.command.access.push(rule);
  // The same rules say who may send mode 6 queries (ntpq) to the NTP port: chronyd has no mode 6, and its cmdallow is what guards its own replies larger than requests.
  s.b.server.queryAccess.push(rule);
}

/** `controlsocket PATH`, the same in both formats. */
function controlSocket(s: ParseState, l: ConfigLine): void {
  const v = oneArg(s, l, 'a Unix socket path');
  if (v === null) return;
  if (!v.startsWith('/')) { errorAt(s, l, `controlsocket: expected a Unix socket path (starting with /), got "${v}"`); return; }
  recordOrigin(s, l, 'controlsocket');
  s.b.controlsocket = v;
}

export const CONTROL_DIRECTIVES: readonly Directive[] = [
  {
    chrony: {
      names: ['bindcmdaddress'],
      grammar: 'PATH|ADDRESS',
      status: implemented((s, l) => {
        const v = oneArg(s, l, 'a Unix socket path or an IP address');
        if (v === null) return;
        if (v.startsWith('/') || isIP(v) !== 0) s.b.command.bind.push(v);
        else errorAt(s, l, `bindcmdaddress: expected a Unix socket path (starting with /) or an IP address, got "${v}"`);
      }),
    },
    origin: true,
    field: 'command.bind',
    consumer: 'src/config/command-endpoints.ts',
    default: `${DEFAULT_CHRONY_CMD_SOCKET}, ${DEFAULT_CMD_ADDRESSES.join(' and ')}`,
    doc: 'Where chronyc\'s command protocol is served, as chronyd: a path names the Unix datagram socket (`/` closes it), an address the UDP command socket of its family. Repeatable; the last of each kind counts.',
  },
  {
    chrony: {
      names: ['cmdport'],
      grammar: 'PORT',
      status: implemented((s, l) => {
        const n = oneInteger(s, l, 0, 65535, 'a port number from 0 to 65535');
        if (n !== null) s.b.command.port = n;
      }),
    },
    field: 'command.port',
    consumer: 'src/config/command-endpoints.ts',
    default: String(DEFAULT_CMDPORT),
    doc: 'chronyc\'s UDP command port; 0 closes it (the Unix socket stays).',
  },
  {
    chrony: { names: ['cmdallow', 'cmddeny'], grammar: '[all] [SUBNET]', status: implemented(cmdAccess) },
    field: 'command.access',
    consumer: 'src/control/candm/server.ts',
    default: 'only 127.0.0.1 and ::1',
    doc: 'Which other hosts may send chronyc\'s monitoring requests to the UDP command port, and mode 6 queries (ntpq) to the NTP port, as allow/deny do for NTP; changing requests are served on the Unix socket only, as chronyd 4.3 does.',
  },
  {
    chrony: { names: ['controlsocket'], grammar: 'PATH', status: implemented(controlSocket) },
    ntp: { names: ['controlsocket'], grammar: 'PATH', status: implemented(controlSocket) },
    extension: true,
    origin: true,
    field: 'controlsocket',
    consumer: 'src/daemon/config-resources.ts',
    default: DEFAULT_CONTROLSOCKET,
    doc: 'ntpkit\'s own JSON control socket (a Unix stream socket, docs/control.md), read by `ntpkit tracking`, `sources`...; `/` disables it.',
  },
  {
    chrony: { names: ['httpaddress'], grammar: 'ADDRESS [PORT]', status: implemented(parseHttpAddress) },
    ntp: {
      names: ['httpaddress'],
      grammar: 'ADDRESS [PORT]',
      status: implemented((s, l) => {
        recordOrigin(s, l, 'httpaddress');
        parseHttpAddress(s, l);
      }),
    },
    extension: true,
    origin: true,
    field: 'httpaddress',
    consumer: 'src/web/http-address.ts',
    default: `off (port ${DEFAULT_HTTP_PORT} when none is given)`,
    doc: 'where Prometheus metrics (/metrics) and the dashboard (/) are served; an IP address only. Port 0 picks a free port.',
  },
  {
    chrony: { names: ['httphost'], grammar: 'NAME...', status: implemented(parseHttpHost) },
    ntp: { names: ['httphost'], grammar: 'NAME...', status: implemented(parseHttpHost) },
    extension: true,
    field: 'httphosts',
    consumer: 'src/cli/daemon-run.ts',
    default: 'none',
    doc: 'names the HTTP server answers to besides its address; other Host headers get 421 (against DNS rebinding). Repeatable.',
  },
];
