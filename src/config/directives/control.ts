/** How operators reach the daemon: the control socket and the metrics/dashboard HTTP server. */
import { isIP } from 'node:net';
import { DEFAULT_BINDCMDADDRESS, DEFAULT_CMDPORT, DEFAULT_HTTP_PORT } from '../config.js';
import { errorAt, parseHttpAddress, parseHttpHost, recordOrigin, warnAt } from '../config-builder.js';
import { type Directive, implemented } from '../directive.js';
import { oneArg, oneInteger } from '../line-args.js';

export const CONTROL_DIRECTIVES: readonly Directive[] = [
  {
    chrony: {
      names: ['bindcmdaddress'],
      grammar: 'PATH',
      status: implemented((s, l) => {
        const v = oneArg(s, l, 'a Unix socket path or an IP address');
        if (v === null) return;
        if (v.startsWith('/')) s.b.bindcmdaddress = v;
        else if (isIP(v) !== 0) warnAt(s, l, `bindcmdaddress ${v}: ntpkit's control socket is a Unix socket only; the address is ignored`);
        else errorAt(s, l, `bindcmdaddress: expected a Unix socket path (starting with /) or an IP address, got "${v}"`);
      }),
    },
    origin: true,
    field: 'bindcmdaddress',
    consumer: 'src/daemon/config-resources.ts',
    default: DEFAULT_BINDCMDADDRESS,
    doc: 'The control socket\'s Unix path; `/` disables the socket. An IP address is accepted with a warning, because the control socket is Unix-only.',
  },
  {
    chrony: {
      names: ['cmdport'],
      grammar: 'PORT',
      status: implemented((s, l) => {
        const n = oneInteger(s, l, 0, 65535, 'a port number from 0 to 65535');
        if (n !== null) s.b.cmdport = n;
      }),
    },
    field: 'cmdport',
    consumer: 'src/cli/validate-command.ts',
    default: String(DEFAULT_CMDPORT),
    doc: 'Recorded: chrony\'s UDP command port, which ntpkit does not open.',
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
