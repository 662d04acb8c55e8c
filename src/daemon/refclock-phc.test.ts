/**
 * refclock PHC through an injected opener: a fake PhcDevice stands where the
 * addon's PTP_SYS_OFFSET reader goes (these machines have no PTP clock), and
 * the real daemon, on a virtual clock, follows it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VirtualClock } from '../clock/virtual-clock.js';
import { realtime } from '../clock/realtime.js';
import type { Config } from '../config/config.js';
import { parseConfigText } from '../config/parse-config.js';
import { diffSeconds, instantToUnixNanos } from '../time/instant.js';
import { until } from '../testing/until.js';
import type { PhcDevice, PhcReading } from '../clock/phc.js';
import { PHC_READINGS } from './refclock-phc.js';
import { startSyncDaemon, type SyncDaemon } from './sync-daemon.js';

/** The PHC runs this far ahead of CLOCK_REALTIME (a TAI PHC would be 37 s; the `offset` option takes that out). */
const PHC_AHEAD = 0.0375;

function config(lines: string): Config {
  const r = parseConfigText(`${lines}\ncontrolsocket /\n`, 'phc.conf', { format: 'chrony' });
  assert.deepEqual(r.errors, []);
  return r.config as Config;
}

class FakePhc implements PhcDevice {
  reads = 0;
  closed = false;
  readOffset(samples: number): PhcReading {
    assert.equal(samples, PHC_READINGS);
    this.reads++;
    return { offsetS: PHC_AHEAD, delayS: 2e-6, systemTimeNs: instantToUnixNanos(realtime()), method: 'extended' };
  }
  close(): void {
    this.closed = true;
  }
}

test('refclock PHC: the daemon opens the configured device, its readings make a source "#" selected by refid, and the clock is brought onto the PHC', async () => {
  const dev = new FakePhc();
  const opened: string[] = [];
  const clock = new VirtualClock({ offsetSeconds: 0 });
  let daemon: SyncDaemon | undefined;
  try {
    daemon = await startSyncDaemon({
      config: config('refclock PHC /dev/ptp7 poll 0 dpoll -3 refid PTP\nmakestep 0.001 -1'),
      clock, log: () => {}, serve: false,
      openPhc: (path) => { opened.push(path); return dev; },
    });
    assert.deepEqual(opened, ['/dev/ptp7']);
    const d = daemon;
    const src = await until('the PHC source is selected', 20_000, async () => {
      const s = d.snapshot().sources.find((x) => x.name === 'PTP');
      return s?.verdict === 'selected' ? s : null;
    }, () => JSON.stringify(d.snapshot().sources));
    assert.equal(src.kind, 'refclock');
    assert.equal(d.snapshot().tracking.referenceId, 0x50545000);
    // The virtual clock now reads the PHC's time: it was stepped forwards by the PHC's lead.
    await until('the clock follows the PHC', 20_000, async () => (Math.abs(diffSeconds(clock.now(), realtime()) - PHC_AHEAD) < 0.002 ? true : null),
      () => `clock − realtime ${diffSeconds(clock.now(), realtime())}`);
    assert.ok(dev.reads >= 4);
  } finally {
    await daemon?.stop();
  }
  assert.equal(dev.closed, true);
});

test('refclock PHC without a PHC reader refuses to start, naming the line', async () => {
  await assert.rejects(startSyncDaemon({ config: config('\nrefclock PHC /dev/ptp0'), clock: new VirtualClock({ offsetSeconds: 0 }), log: () => {}, serve: false }),
    /^Error: phc\.conf:2: refclock PHC \/dev\/ptp0: this build has no PHC reader/);
});

test('a PHC whose opener fails (no such device) refuses the start at the line', async () => {
  await assert.rejects(startSyncDaemon({
    config: config('refclock PHC /dev/ptp9'), clock: new VirtualClock({ offsetSeconds: 0 }), log: () => {}, serve: false,
    openPhc: () => { throw new Error('open /dev/ptp9: ENOENT'); },
  }), /^Error: phc\.conf:1: refclock PHC \/dev\/ptp9: open \/dev\/ptp9: ENOENT/);
});
