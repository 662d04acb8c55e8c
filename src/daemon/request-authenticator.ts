/**
 * The NTP server's authentication in the daemon: NTS requests go to the NTS
 * server side while NTS-KE runs, MACs to the symmetric keys. Both change on
 * reload without restarting the server, so the server holds this one object.
 */
import type { RequestAuthenticator } from '../core/server/server.js';
import { NtsServerAuthenticator } from '../crypto/nts-server.js';
import { symmetricRequestAuthenticator } from '../crypto/symmetric-auth.js';
import type { KeyTable } from './config-resources.js';

export class DaemonRequestAuthenticator implements RequestAuthenticator {
  private symmetric: RequestAuthenticator;
  /** Set while an NTS-KE service hands out cookies this server must accept. */
  nts: NtsServerAuthenticator | null = null;

  constructor(keys: KeyTable | null) {
    this.symmetric = symmetricRequestAuthenticator(keys);
  }

  setKeys(keys: KeyTable | null): void {
    this.symmetric = symmetricRequestAuthenticator(keys);
  }

  authenticate(request: Uint8Array, reply: Uint8Array): ReturnType<RequestAuthenticator['authenticate']> {
    return this.nts !== null && NtsServerAuthenticator.isNtsRequest(request)
      ? this.nts.authenticate(request, reply)
      : this.symmetric.authenticate(request, reply);
  }
}
