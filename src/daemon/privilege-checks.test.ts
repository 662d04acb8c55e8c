import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfigText } from '../config/parse-config.js';
import { loadConfigResources } from './config-resources.js';

async function errorsOf(text: string): Promise<string[]> {
  const parsed = parseConfigText(text, 'chrony.conf', { format: 'chrony' });
  assert.ok(parsed.config !== null, JSON.stringify(parsed.errors));
  const r = await loadConfigResources(parsed.config, { control: false, http: false });
  return r.errors.map((e) => `${e.file}:${e.line}: ${e.message}`);
}

test('binddevice with an NTS-KE server, bindacqdevice with NTS sources or initstepslew: refused at the device\'s line, since those sockets would not be bound', async () => {
  const ke = await errorsOf('allow\nbinddevice lo\nntsservercert /nonexistent/c.pem\nntsserverkey /nonexistent/k.pem\n');
  assert.ok(ke.some((e) => /^chrony\.conf:2: binddevice lo: the NTS-KE server's TCP socket cannot be bound/.test(e)), ke.join('\n'));
  const nts = await errorsOf('server 127.0.31.9 nts\nbindacqdevice lo\n');
  assert.ok(nts.some((e) => /^chrony\.conf:2: bindacqdevice lo: the NTS-KE connection of 127\.0\.31\.9 \(line 1\)/.test(e)), nts.join('\n'));
  const isl = await errorsOf('server 127.0.31.9\ninitstepslew 1 127.0.31.9\nbindacqdevice lo\n');
  assert.ok(isl.some((e) => /^chrony\.conf:3: bindacqdevice lo: initstepslew's queries/.test(e)), isl.join('\n'));
  // An interface that exists, and nothing it cannot bind: no error.
  assert.deepEqual(await errorsOf('server 127.0.31.9\nallow\nbinddevice lo\nbindacqdevice lo\n'), []);
});
