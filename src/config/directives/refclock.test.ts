import { test } from 'node:test';
import assert from 'node:assert/strict';
import { REFCLOCK_DEFAULTS } from '../../core/engine/refclock-options.js';
import { formatDiagnostic } from '../diagnostics.js';
import { parseConfigText } from '../parse-config.js';

const chrony = (text: string) => parseConfigText(text, 'chrony.conf', { format: 'chrony' });
const errors = (text: string): string[] => chrony(text).errors.map(formatDiagnostic);

test('refclock lines become the Config\'s refclocks with chrony\'s defaults, their options and driver options', () => {
  const r = chrony([
    'refclock SHM 0 refid GPS offset 0.5 delay 0.2 poll 3 dpoll -2 filter 16 precision 1e-3 stratum 2 maxdispersion 0.01 minsamples 4 maxsamples 32 prefer trust require',
    'refclock SOCK /run/chrony.ttyS0.sock noselect',
    'refclock PHC /dev/ptp0:nocrossts poll 2',
    'refclock SHM 2:perm=0644',
    '',
  ].join('\n'));
  assert.deepEqual(r.errors, []);
  assert.deepEqual(r.warnings, []);
  const [shm, sock, phc, shm2] = r.config?.refclocks ?? [];
  assert.deepEqual(shm?.options, {
    ...REFCLOCK_DEFAULTS, driver: 'SHM', parameter: '0', driverOptions: {}, refid: 'GPS', offset: 0.5, delay: 0.2, poll: 3, dpoll: -2, filter: 16,
    precision: 1e-3, stratum: 2, maxdispersion: 0.01, minsamples: 4, maxsamples: 32, prefer: true, trust: true, require: true,
  });
  assert.deepEqual([shm?.file, shm?.line], ['chrony.conf', 1]);
  // chronyd's default refids: the driver's first three letters and the line's index among refclocks.
  assert.deepEqual([sock?.options.refid, sock?.options.noselect, sock?.options.parameter], ['SOC1', true, '/run/chrony.ttyS0.sock']);
  assert.deepEqual([phc?.options.refid, phc?.options.driverOptions, phc?.options.poll], ['PHC2', { nocrossts: true }, 2]);
  assert.deepEqual([shm2?.options.refid, shm2?.options.driverOptions], ['SHM3', { perm: '0644' }]);
});

test('what ntpkit does not implement is an error at file:line naming it, and the config does not load', () => {
  const cases: [string, string][] = [
    ['refclock PPS /dev/pps0', 'chrony.conf:1: refclock PPS: the PPS driver is not implemented (ntpkit has no kernel PPS support)'],
    ['refclock GPSD /x', 'chrony.conf:1: refclock: unknown driver "GPSD" (expected SHM, SOCK or PHC)'],
    ['refclock SHM 0 tai', 'chrony.conf:1: refclock SHM 0: option "tai" needs a leap second table: add leapsectz (such as right/UTC) or leapseclist'],
    ['refclock SHM 0 lock PPS', 'chrony.conf:1: refclock SHM 0: lock PPS: no other refclock has refid PPS'],
    ['refclock SHM 0 refid PPS lock PPS', 'chrony.conf:1: refclock SHM 0: lock PPS: no other refclock has refid PPS'],
    ['refclock SHM 0 width -0.1', 'chrony.conf:1: refclock SHM 0: width -0.1: expected a number of seconds of at least 0'],
    ['refclock SHM 0 rate x', 'chrony.conf:1: refclock SHM 0: rate x: expected an integer number of pulses per second'],
    ['refclock SHM 0 maxlockage -1', 'chrony.conf:1: refclock SHM 0: maxlockage -1: expected a number of pulses from 0'],
    ['refclock SHM 0 lock TOOLONG', 'chrony.conf:1: refclock SHM 0: lock TOOLONG: expected 1 to 4 printable characters'],
    ['refclock SHM 0 local', 'chrony.conf:1: refclock SHM 0: option "local": a local reference (free-running PPS) is not implemented'],
    ['refclock PHC /dev/ptp0:extpps:pin=1', 'chrony.conf:1: refclock PHC: PHC external PPS (extpps) is not implemented'],
    ['refclock PHC /dev/ptp0:channel=1', 'chrony.conf:1: refclock PHC: PHC channels (channel, for extpps) are not implemented'],
    ['refclock PHC /dev/ptp0:clear', 'chrony.conf:1: refclock PHC: PHC clear-edge timestamps (clear, for extpps) are not implemented'],
    ['refclock SHM 0:bogus', 'chrony.conf:1: refclock SHM: unknown driver option "bogus" (expected perm)'],
    ['refclock SHM 0 bogus', 'chrony.conf:1: refclock SHM 0: unknown option "bogus"'],
    ['refclock SHM 0 poll x', 'chrony.conf:1: refclock SHM 0: poll x: expected an integer from -6 to 24'],
    ['refclock SHM 0 delay -1', 'chrony.conf:1: refclock SHM 0: delay -1: expected a number of seconds of at least 0'],
    ['refclock SHM 0 refid TOOLONG', 'chrony.conf:1: refclock SHM 0: refid TOOLONG: expected 1 to 4 printable characters'],
    ['refclock SHM 0 stratum 16', 'chrony.conf:1: refclock SHM 0: stratum 16: expected an integer from 0 to 15'],
    ['refclock SHM x', 'chrony.conf:1: refclock SHM: the segment must be a unit number (0, 1, ...), not "x"'],
    ['refclock SHM 0:perm=999', 'chrony.conf:1: refclock SHM: perm must be octal permissions such as 0600, not "999"'],
    ['refclock SOCK relative.sock', 'chrony.conf:1: refclock SOCK: expected an absolute path, not "relative.sock"'],
    ['refclock SHM', 'chrony.conf:1: refclock: expected a driver (SHM, SOCK, PHC) and its parameter'],
    ['refclock SHM 0 offset', 'chrony.conf:1: refclock SHM 0: offset: missing value'],
  ];
  for (const [line, message] of cases) {
    const r = chrony(`${line}\n`);
    assert.equal(r.config, null, line);
    assert.deepEqual(r.errors.map(formatDiagnostic), [message], line);
  }
  assert.deepEqual(errors('server 127.0.20.1\nrefclock SHM 0 local\n'), ['chrony.conf:2: refclock SHM 0: option "local": a local reference (free-running PPS) is not implemented']);
});

test('tai with a leap table written before or after it; pulses with rate, lock (a refid of another line, before or after), width, maxlockage', () => {
  const r = chrony([
    'refclock SOCK /run/pps.sock refid PPS pps lock NMEA rate 2 width 0.1 maxlockage 3',
    'refclock SHM 0 refid NMEA tai offset 0.2',
    'refclock SHM 1 pps rate 0',
    'leapsectz right/UTC',
    '',
  ].join('\n'));
  assert.deepEqual(r.errors, []);
  const [pps, nmea, shm1] = r.config?.refclocks ?? [];
  assert.deepEqual([pps?.options.pps, pps?.options.lock, pps?.options.rate, pps?.options.width, pps?.options.maxlockage], [true, 'NMEA', 2, 0.1, 3]);
  assert.deepEqual([nmea?.options.tai, nmea?.options.pps, nmea?.options.lock, nmea?.options.rate, nmea?.options.maxlockage], [true, false, null, 1, 2]);
  assert.equal(shm1?.options.rate, 1, 'chronyd takes a rate below 1 as 1');
  assert.deepEqual(chrony('leapseclist /usr/share/zoneinfo/leap-seconds.list\nrefclock SHM 0 tai\n').errors, []);
});
