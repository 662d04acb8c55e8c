import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseAccessWords } from './access-command.js';

const resolve = async (name: string): Promise<string | null> => (name === 'ntp.example' ? '192.0.2.7' : null);

test('allow/deny words read as chronyc reads them: [all] [SUBNET], a name resolved, a too-long prefix left for the daemon', async () => {
  assert.deepEqual(await parseAccessWords([], resolve), { all: false, subnet: null });
  assert.deepEqual(await parseAccessWords(['all'], resolve), { all: true, subnet: null });
  assert.deepEqual(await parseAccessWords(['192.0.2.0/24'], resolve), { all: false, subnet: '192.0.2.0/24' });
  assert.deepEqual(await parseAccessWords(['all', '2001:db8::/32'], resolve), { all: true, subnet: '2001:db8::/32' });
  assert.deepEqual(await parseAccessWords(['10'], resolve), { all: false, subnet: '10' });
  assert.deepEqual(await parseAccessWords(['192.168.1'], resolve), { all: false, subnet: '192.168.1' });
  assert.deepEqual(await parseAccessWords(['ntp.example'], resolve), { all: false, subnet: '192.0.2.7' });
  // chronyc sends it; chronyd answers 507 Bad subnet, and so does ntpkit's daemon.
  assert.deepEqual(await parseAccessWords(['1.2.3.4/40'], resolve), { all: false, subnet: '1.2.3.4/40' });
  // "Could not read address".
  for (const words of [['a', 'b'], ['all', '10', '11'], ['nothing.example'], ['ntp.example/24'], ['10/x'], ['256']]) {
    assert.equal(await parseAccessWords(words, resolve), null, words.join(' '));
  }
});
