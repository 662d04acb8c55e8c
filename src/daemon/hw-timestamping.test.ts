import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Config } from '../config/config.js';
import { parseConfigText } from '../config/parse-config.js';
import { checkHwTimestamping, type HwProbe, kernelHwProbe } from './hw-timestamping.js';

function config(text: string): Config {
  const r = parseConfigText(text, 'test.conf', { format: 'chrony' });
  assert.deepEqual(r.errors, []);
  return r.config as Config;
}

const probe = (capable: readonly string[]): HwProbe => ({
  ask: (i) => (capable.includes(i) ? { hardware: true } : { hardware: false, reason: 'no' }),
  interfaces: () => ['lo', 'eth0', 'eth1'],
});

test('the kernel answers for lo: no hardware timestamping (ETHTOOL_GET_TS_INFO through the addon)', () => {
  assert.equal(kernelHwProbe.ask('lo').hardware, false);
  const none = kernelHwProbe.ask('nosuch0');
  assert.equal(none.hardware, false);
  assert.match(none.hardware ? '' : none.reason, /SIOCETHTOOL: No such device/);
});

test('hwtimestamp *: an interface that could is named, since ntpkit reads only software stamps; the daemon starts', () => {
  const logs: string[] = [];
  checkHwTimestamping(config('hwtimestamp *\n'), (l) => logs.push(l), probe(['eth1']));
  assert.deepEqual(logs, [
    'HW timestamping is available on eth1, but ntpkit reads only kernel software timestamps',
    'No HW timestamping on lo, eth0, eth1: using kernel software timestamps',
  ]);
});

test('a named interface stops the daemon whether or not it could (never a silent downgrade)', () => {
  assert.throws(() => checkHwTimestamping(config('hwtimestamp eth0\n'), () => {}, probe([])), /^Error: Could not enable HW timestamping on eth0 \(no\)$/);
  assert.throws(() => checkHwTimestamping(config('hwtimestamp eth1\n'), () => {}, probe(['eth1'])), /Could not enable HW timestamping on eth1 \(ntpkit reads only kernel software timestamps/);
});

test('hwtimestamp options: rxfilter taken, the others refused at file:line naming the option', () => {
  assert.deepEqual(config('hwtimestamp eth0 rxfilter ntp\n').process.hwtimestamp, [{ iface: 'eth0', rxfilter: 'ntp' }]);
  const bad = (line: string): string[] => parseConfigText(line, 'c.conf', { format: 'chrony' }).errors.map((e) => `${e.file}:${e.line}: ${e.message}`);
  assert.deepEqual(bad('hwtimestamp eth0 txcomp 1e-6\n'), ['c.conf:1: hwtimestamp: option txcomp is not implemented by ntpkit']);
  assert.deepEqual(bad('hwtimestamp eth0 nocrossts\n'), ['c.conf:1: hwtimestamp: option nocrossts is not implemented by ntpkit']);
  assert.deepEqual(bad('hwtimestamp eth0 rxfilter some\n'), ['c.conf:1: hwtimestamp: rxfilter must be all, ntp, ptp or none, got "some"']);
  assert.deepEqual(bad('hwtimestamp\n'), ['c.conf:1: hwtimestamp: expected an interface name or *, then options']);
});
