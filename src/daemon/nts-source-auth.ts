/**
 * An `nts` source's authenticator: it runs NTS-KE (RFC 8915 §4) whenever it
 * has no session, no cookies left, got an NTS NAK, or its keys are older
 * than `ntsrefresh`; requests wait (the poll counts as lost) until the
 * exchange is done, as chronyd's do.
 */
import { isIP } from 'node:net';
import type { NtsConfig } from '../config/nts-config.js';
import type { SourceOptions } from '../core/engine/source-options.js';
import { NtsSourceAuthenticator } from '../crypto/nts-client.js';
import { ntsKeyExchange } from '../net/nts-ke-client.js';
import { ntsKeOptionsFor } from './nts-source-ke.js';

export interface NtsSourceContext {
  /** The trust settings in force when an exchange starts (a reload may change them). */
  readonly nts: () => NtsConfig;
  /** Clock updates so far: chrony's `nocerttimecheck N` forgives certificate dates only during the first N. */
  readonly clockUpdates: () => number;
  readonly log: (line: string) => void;
}

export function ntsSourceAuthenticator(so: SourceOptions, ctx: NtsSourceContext): NtsSourceAuthenticator {
  const { log } = ctx;
  const auth: NtsSourceAuthenticator = new NtsSourceAuthenticator(() => {
    const ke = ntsKeOptionsFor(so, ctx.nts(), ctx.clockUpdates());
    ntsKeyExchange(ke).then((r) => {
      // RFC 8915 §4.1.7-8: the KE server may send the client to another NTP address or port.
      if (r.server !== so.host || r.port !== so.port) {
        if (r.server === so.host) {
          auth.setDestination({ address: null, port: r.port });
          log(`NTS-KE with ${so.host}:${ke.port} named NTP port ${r.port}; polling ${so.host} there`);
        } else if (isIP(r.server) !== 0) {
          auth.setDestination({ address: r.server, port: r.port });
          log(`NTS-KE with ${so.host}:${ke.port} named the NTP server ${r.server}:${r.port}; polling it there`);
        } else {
          log(`NTS-KE with ${so.host}:${ke.port} named the NTP server ${r.server}:${r.port}, a name: ntpkit does not resolve KE-named hosts yet and keeps polling ${so.host}:${so.port}`);
        }
      } else {
        auth.setDestination(null);
      }
      auth.install(r);
      log(`NTS-KE with ${so.host}:${ke.port}: ${r.cookies.length} cookies, AEAD ${r.aeadId}`);
    }, (e: Error) => {
      // The client's errors already name the exchange; say it once.
      const prefix = `NTS-KE with ${so.host}:${ke.port}: `;
      const reason = `NTS-KE with ${so.host}:${ke.port} failed: ${e.message.startsWith(prefix) ? e.message.slice(prefix.length) : e.message}`;
      log(`${reason}; retrying at the next poll`);
      auth.failed(reason);
    });
  }, {
    // Monotonic, as chronyd measures the age of its keys: a step of the clock being disciplined must not renew them or hold them.
    now: () => performance.now() / 1000,
    maxKeyAge: () => ctx.nts().refresh,
  });
  return auth;
}
