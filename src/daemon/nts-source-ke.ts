/**
 * The NTS-KE options for one `server HOST nts` source, from its line and the
 * config's trust settings. nocerttimecheck N (chrony.conf(5)) forgives
 * certificate validity times only during the first N clock updates, while a
 * clock that started wrong is still being corrected; after that the check
 * is back, so the caller passes the number of updates so far.
 */
import type { NtsConfig } from '../config/nts-config.js';
import type { SourceOptions } from '../core/engine/source-options.js';
import type { NtsKeyExchangeOptions } from '../net/nts-ke-client.js';

export function ntsKeOptionsFor(source: SourceOptions, nts: NtsConfig, clockUpdates: number, timeoutMs = 5000): NtsKeyExchangeOptions {
  return {
    host: source.host,
    port: source.ntsport,
    trustedCerts: nts.trustedCerts,
    noSystemCerts: nts.noSystemCert,
    noCertTimeCheck: clockUpdates < nts.noCertTimeCheck,
    timeoutMs,
  };
}
