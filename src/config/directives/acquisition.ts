/**
 * chrony's `acquisitionport`, `bindacqaddress` and `bindacqdevice`: the
 * port, address and interface the client socket polling the sources is bound
 * to, so a firewall can be opened for exactly that. ntpkit keeps one client socket per address family (not
 * chronyd's socket per request), so a fixed port serves every source.
 */
import { isIP } from 'node:net';
import { errorAt, interfaceSetter, recordOrigin } from '../config-builder.js';
import { type Directive, implemented } from '../directive.js';
import { oneInteger } from '../line-args.js';

const CONSUMER = 'src/net/client-socket.ts';

export const ACQUISITION_DIRECTIVES: readonly Directive[] = [
  {
    chrony: {
      names: ['acquisitionport'],
      grammar: 'PORT',
      status: implemented((s, l) => {
        const n = oneInteger(s, l, 0, 65535, 'a port number from 0 to 65535');
        if (n === null) return;
        s.b.acquisition.port = n;
        recordOrigin(s, l, 'acquisitionport');
      }),
    },
    field: 'acquisition.port',
    consumer: CONSUMER,
    default: '0',
    doc: '0: an ephemeral port chosen by the kernel. The same port as `port` while serving is refused at start (chronyd would share the server\'s socket; ntpkit does not).',
  },
  {
    chrony: {
      names: ['bindacqaddress'],
      grammar: 'ADDRESS',
      status: implemented((s, l) => {
        const a = l.args[0];
        const family = l.args.length === 1 ? isIP(a ?? '') : 0;
        if (family === 0) { errorAt(s, l, `bindacqaddress: expected one IPv4 or IPv6 address, got "${l.args.join(' ')}"`); return; }
        // chronyd takes one per family; the last one wins, as there.
        const acq = s.b.acquisition;
        acq.addresses = [...acq.addresses.filter((x) => isIP(x) !== family), a as string];
      }),
    },
    field: 'acquisition.addresses',
    consumer: CONSUMER,
    default: 'any',
    doc: 'One per address family.',
  },
  {
    chrony: {
      names: ['bindacqdevice'],
      grammar: 'INTERFACE',
      status: implemented(interfaceSetter((b, iface) => { b.acquisition.device = iface; })),
    },
    field: 'acquisition.device',
    consumer: CONSUMER,
    default: 'none',
    doc: 'SO_BINDTODEVICE on the client socket, as chronyd sets it: requests leave only through that interface and replies are taken only from it, whatever the routes say. An interface this machine does not have stops the start at this line. Needs the native addon. Refused with NTS sources (their NTS-KE connection would not be bound) and with `initstepslew` (its queries would not be).',
  },
];
