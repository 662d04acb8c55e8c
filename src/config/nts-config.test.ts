import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfigText } from './parse-config.js';
import { formatDiagnostic } from './diagnostics.js';
import { lexChronyConf } from './lexer.js';
import { NTS_DEFAULTS } from './nts-config.js';
import { parseServerConfig } from './parse-server-config.js';
import { memoryFiles } from '../testing/memory-files.js';

const chrony = (text: string) => parseConfigText(text, 'chrony.conf', { format: 'chrony', ...memoryFiles({}) });
const messages = (ds: readonly { file: string; line: number; message: string }[]) => ds.map(formatDiagnostic);

test('chrony\'s NTS directives fill config.server.nts, with chronyd\'s defaults', () => {
  assert.deepEqual(chrony('').config?.server.nts, NTS_DEFAULTS);
  const r = chrony([
    'ntsservercert /etc/chrony/a.crt', 'ntsserverkey /etc/chrony/a.key', 'ntsport 14460', 'ntsrotate 0', 'ntsdumpdir /var/lib/chrony',
    'ntsntpserver ntp.example.org', 'maxntsconnections 20', 'ntstrustedcerts /etc/ca.pem', 'ntstrustedcerts 0 /etc/ca.d', 'nosystemcert',
    'nocerttimecheck 1', 'ntsrefresh 3600', 'server nts.example.org iburst nts',
  ].join('\n'));
  assert.deepEqual(r.errors, []);
  assert.deepEqual(r.warnings, []);
  assert.deepEqual(r.config?.server.nts, {
    serverCerts: ['/etc/chrony/a.crt'], serverKeys: ['/etc/chrony/a.key'], port: 14460, rotate: 0, dumpDir: '/var/lib/chrony',
    ntpServer: 'ntp.example.org', maxConnections: 20, trustedCerts: ['/etc/ca.pem', '/etc/ca.d'], noSystemCert: true, noCertTimeCheck: 1,
    refresh: 3600,
  });
  assert.equal(r.config?.sources[0]?.options.nts, true);
});

test('bad NTS lines are file:line errors; other certificate sets are a warning', () => {
  const r = chrony('ntsport 0\nntsrotate -1\nnocerttimecheck\nntsservercert\nnosystemcert yes\nntstrustedcerts x y\nmaxntsconnections 0\nntsrefresh 1h\n');
  assert.deepEqual(messages(r.errors), [
    'chrony.conf:1: ntsport: expected a TCP port from 1 to 65535, got "0"',
    'chrony.conf:2: ntsrotate: expected a number of seconds from 0 to 2147483647, got "-1"',
    'chrony.conf:3: nocerttimecheck: expected a number of clock updates from 0 to 2147483647, got ""',
    'chrony.conf:4: ntsservercert: expected one certificate file, got ""',
    'chrony.conf:5: nosystemcert: expected no arguments, got "yes"',
    'chrony.conf:6: ntstrustedcerts: expected [SET-ID] FILE|DIRECTORY, got "x y"',
    'chrony.conf:7: maxntsconnections: expected a number of connections from 1 to 2147483647, got "0"',
    'chrony.conf:8: ntsrefresh: expected a number of seconds from 0 to 2147483647, got "1h"',
  ]);
  assert.equal(r.config, null);
  const w = chrony('ntstrustedcerts 5 /etc/other.pem\n');
  assert.deepEqual(messages(w.warnings), ['chrony.conf:1: ntstrustedcerts: certificate set 5 is not supported by ntpkit (no certset option), ignored']);
  assert.deepEqual(w.config?.server.nts.trustedCerts, []);
});

test('ntpkit server takes the NTS server directives; certificates and keys must pair up', () => {
  const ok = parseServerConfig(lexChronyConf('ntsservercert a.crt\nntsserverkey a.key\nntsport 4461\n', 'server.conf'));
  assert.deepEqual(ok.errors, []);
  assert.equal(ok.config?.nts.port, 4461);
  const bad = parseServerConfig(lexChronyConf('ntsservercert a.crt\nntsservercert b.crt\nntsserverkey a.key\n', 'server.conf'));
  assert.equal(bad.config, null);
  assert.match(messages(bad.errors)[0] ?? '', /ntsservercert and ntsserverkey must be given the same number of times \(2 certificates, 1 keys\)/);
});

test('the ntsport source option sets the NTS-KE port of an nts source (default 4460) and is written back', async () => {
  const { formatSourceOptions } = await import('./format.js');
  const r = chrony('server a.example.org nts ntsport 14460\nserver b.example.org nts\nserver c.example.org nts ntsport 0\n');
  assert.deepEqual(messages(r.errors), ['chrony.conf:3: server: ntsport must be an integer from 1 to 65535, got "0"']);
  const ok = chrony('server a.example.org nts ntsport 14460\nserver b.example.org nts\n');
  assert.deepEqual(ok.config?.sources.map((s) => s.options.ntsport), [14460, 4460]);
  assert.equal(formatSourceOptions(ok.config!.sources[0]!.options), 'server a.example.org minpoll 6 maxpoll 10 nts ntsport 14460');
});
