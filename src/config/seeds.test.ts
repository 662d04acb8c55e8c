/**
 * The config snippets of /work/shared/seeds/, extracted into fixtures/
 * (each fixture says which seed and section it comes from), load as they
 * are: no errors, and the sources and options the seed asks for.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { SOURCE_DEFAULTS } from '../core/engine/source-options.js';
import { loadConfig } from './parse-config.js';

// Tests run from the build output; the fixtures live in the source tree.
const FIXTURES = fileURLToPath(new URL('../../src/config/fixtures/', import.meta.url));

const ALIYUN_VPC = ['ntp.cloud.aliyuncs.com', 'ntp10.cloud.aliyuncs.com', 'ntp11.cloud.aliyuncs.com', 'ntp12.cloud.aliyuncs.com', 'ntp7.cloud.aliyuncs.com', 'ntp8.cloud.aliyuncs.com', 'ntp9.cloud.aliyuncs.com'];
const seedOptions = (host: string) => ({ ...SOURCE_DEFAULTS, kind: 'server', host, minpoll: 4, maxpoll: 10, iburst: true });

test('seed 000, Linux (chrony): seven servers, minpoll 4 maxpoll 10 iburst', async () => {
  const r = await loadConfig(`${FIXTURES}seed000-chrony-servers.conf`);
  assert.deepEqual(r.errors, []);
  assert.deepEqual(r.warnings, []);
  assert.equal(r.config?.format, 'chrony');
  assert.deepEqual(r.config?.sources.map((s) => s.options), ALIYUN_VPC.map(seedOptions));
  assert.deepEqual(r.config?.sources.map((s) => s.line), [5, 6, 7, 8, 9, 10, 11]);
});

test('seed 000, Linux (ntpd): six servers in /etc/ntp.conf, iburst minpoll 4 maxpoll 10', async () => {
  for (const format of ['auto', 'ntp'] as const) {
    const r = await loadConfig(`${FIXTURES}seed000-ntpd-servers.ntp.conf`, { format });
    assert.deepEqual(r.errors, []);
    assert.deepEqual(r.warnings, []);
    assert.equal(r.config?.format, 'ntp');
    assert.deepEqual(r.config?.sources.map((s) => s.options), ALIYUN_VPC.slice(1).map(seedOptions));
    assert.deepEqual(r.config?.discipline.makestep, { threshold: 0.128, limit: -1 });
  }
  // The same lines also load as chrony.conf (a user pasting them into chrony.conf gets the same sources).
  const asChrony = await loadConfig(`${FIXTURES}seed000-ntpd-servers.ntp.conf`, { format: 'chrony' });
  assert.deepEqual(asChrony.errors, []);
  assert.deepEqual(asChrony.config?.sources.map((s) => s.options), ALIYUN_VPC.slice(1).map(seedOptions));
});

test('seed 000, FAQ upgrade to chrony: server, driftfile, allow 127.0.0.1', async () => {
  const r = await loadConfig(`${FIXTURES}seed000-faq-upgrade-chrony.conf`);
  assert.deepEqual(r.errors, []);
  assert.deepEqual(r.warnings, []);
  const c = r.config;
  assert.ok(c);
  assert.deepEqual(c.sources.map((s) => s.options), [seedOptions('ntp.cloud.aliyuncs.com')]);
  assert.equal(c.driftfile, '/var/lib/chrony/drift');
  assert.deepEqual(c.server.access.map((a) => [a.allow, a.all, a.subnet, a.line]), [[true, false, '127.0.0.1', 9]]);
  assert.equal(c.server.port, 123);
});
