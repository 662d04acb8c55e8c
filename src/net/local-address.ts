/**
 * The local address a datagram to `remote` leaves from, and so the address
 * its reply comes back to, when the socket is bound to the wildcard (as the
 * daemon's client sockets are): the kernel picks it by route. A connected
 * UDP socket asks the kernel for that choice without sending anything
 * (getsockname() after connect()), which is what chronyd's per-server
 * client socket reports as ntpdata's Local address.
 */
import { createSocket } from 'node:dgram';
import { isIP } from 'node:net';

/** The source address the kernel would use towards `remote` (port 123), or null when it has no route or `remote` is no address. */
export function routeLocalAddress(remote: string, port = 123): Promise<string | null> {
  const family = isIP(remote);
  if (family === 0) return Promise.resolve(null);
  return new Promise((resolve) => {
    const s = createSocket(family === 6 ? 'udp6' : 'udp4');
    const done = (address: string | null): void => {
      s.close();
      resolve(address);
    };
    s.on('error', () => done(null));
    s.connect(port, remote, () => {
      try {
        done(s.address().address);
      } catch {
        done(null);
      }
    });
  });
}
