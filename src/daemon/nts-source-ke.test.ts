import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfigText } from '../config/parse-config.js';
import { ntsKeOptionsFor } from './nts-source-ke.js';

test('a source\'s KE options: its host and ntsport, the trusted certs, and nocerttimecheck only for the first N clock updates', () => {
  const c = parseConfigText('server 127.0.0.7 nts ntsport 14460\nntstrustedcerts /etc/ca.pem\nnosystemcert\nnocerttimecheck 2\n', 't.conf', { format: 'chrony' }).config!;
  const src = c.sources[0]!.options;
  assert.deepEqual(ntsKeOptionsFor(src, c.server.nts, 0), { host: '127.0.0.7', port: 14460, trustedCerts: ['/etc/ca.pem'], noSystemCerts: true, noCertTimeCheck: true, timeoutMs: 5000 });
  assert.equal(ntsKeOptionsFor(src, c.server.nts, 1).noCertTimeCheck, true);
  assert.equal(ntsKeOptionsFor(src, c.server.nts, 2).noCertTimeCheck, false);
  const plain = parseConfigText('server 127.0.0.7 nts\n', 't.conf', { format: 'chrony' }).config!;
  assert.equal(ntsKeOptionsFor(plain.sources[0]!.options, plain.server.nts, 0).noCertTimeCheck, false, 'default 0: always checked');
  assert.equal(ntsKeOptionsFor(plain.sources[0]!.options, plain.server.nts, 0).port, 4460);
});
