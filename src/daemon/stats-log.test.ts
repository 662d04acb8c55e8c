import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ClockUpdateEvent, MeasurementEvent } from '../core/engine/engine-api.js';
import {
  formatMeasurement, formatStatistics, formatTracking, logBanner, MEASUREMENTS_HEADER, STATISTICS_HEADER, TRACKING_HEADER,
} from '../core/engine/stats-log-format.js';
import { instantFromUnixNanos } from '../time/instant.js';
import { mountTinyTmpfs, tmpfsSkip } from '../testing/tmpfs.js';
import { StatsLog } from './stats-log.js';

const CHRONYD = fileURLToPath(new URL('../../src/daemon/fixtures/chronyd-logs/', import.meta.url));
const AT = instantFromUnixNanos(1_795_443_972_250_000_000n); // 2026-11-23 14:26:12.25 UTC

const MEASUREMENT: MeasurementEvent = {
  type: 'measurement', sourceId: 1, address: '127.0.0.1', at: AT, leap: 0, stratum: 1, mode: 4, remotePoll: 0, referenceId: 0x7f7f0101,
  rootDelay: 0, rootDispersion: 0, localPoll: -2, score: 1, offset: -4.15e-6, delay: 1.242e-5, dispersion: 2.969e-7, interleaved: false,
  txStamp: 'kernel', rxStamp: 'kernel', tests: [true, true, true, true],
  stats: { stdDev: 1.494e-7, offset: 3.116e-6, offsetSd: 1.068e-7, freq: 2.448e-6, skew: 1.762e-3, stress: 1.2e-3, samples: 3, runs: 3, asymmetry: 0 },
};

const UPDATE: ClockUpdateEvent = {
  type: 'clock-update', at: AT, address: '127.0.0.1', stratum: 2, frequencyPpm: 2.078, skewPpm: 60.302, offset: 1.688e-7, leap: 'none',
  combined: 1, offsetSd: 1.278e-7, remainingCorrection: -3.117e-6, rootDelay: 1.033e-5, rootDispersion: 4.081e-6, maxError: 9.45e-1,
};

/** The first banner and the first data line of one of chronyd 4.3's files. */
async function chronyd(name: string): Promise<{ banner: string; line: string }> {
  const lines = (await readFile(join(CHRONYD, `${name}.log`), 'utf8')).split('\n');
  return { banner: `${lines.slice(0, 3).join('\n')}\n`, line: lines[3] as string };
}

/** Column layout of a line: where each field starts and ends (chronyd's right-aligned printf widths). */
function layout(line: string): string {
  return line.replace(/\S/g, 'x');
}

test('banners are chronyd 4.3\'s, byte for byte', async () => {
  assert.equal(logBanner(MEASUREMENTS_HEADER), (await chronyd('measurements')).banner);
  assert.equal(logBanner(STATISTICS_HEADER), (await chronyd('statistics')).banner);
  assert.equal(logBanner(TRACKING_HEADER), (await chronyd('tracking')).banner);
});

test('measurements.log line: fixed inputs give chronyd\'s line (taken from its log) exactly', async () => {
  const ref = await chronyd('measurements');
  assert.equal(formatMeasurement(MEASUREMENT), ref.line);
  assert.equal(formatMeasurement({ ...MEASUREMENT, leap: 3, stratum: 16, tests: [false, true, false, true], interleaved: true, offset: 2.5, localPoll: 10, remotePoll: 6, txStamp: 'daemon' }),
    '2026-11-23 14:26:12 127.0.0.1       ? 16 111 111 0101  10  6 1.00  2.500e+00  1.242e-05  2.969e-07  0.000e+00  0.000e+00 7F7F0101 4I D K');
});

test('statistics.log and tracking.log lines match chronyd\'s', async () => {
  assert.equal(formatStatistics(MEASUREMENT), (await chronyd('statistics')).line);
  assert.equal(formatStatistics({ ...MEASUREMENT, stats: null }), null, 'no line when the statistics refused the sample');
  const trackingLines = (await readFile(join(CHRONYD, 'tracking.log'), 'utf8')).split('\n');
  assert.equal(formatTracking(UPDATE), trackingLines[5]);
  const wide = formatTracking({ ...UPDATE, frequencyPpm: -512.5, skewPpm: 1e6, leap: 'insert', combined: 3, offset: -0, maxError: Number.NaN });
  assert.equal(wide, '2026-11-23 14:26:12 127.0.0.1        2   -512.500 1000000.000 -0.000e+00 +  3  1.278e-07 -3.117e-06  1.033e-05  4.081e-06        nan');
  assert.equal(layout(formatTracking({ ...UPDATE, frequencyPpm: 0.718, skewPpm: 6.535, offset: -4.168e-7 })), layout(trackingLines[6] as string));
});

async function withDir(f: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'ntpkit-stats-log-'));
  try { await f(dir); } finally { await rm(dir, { recursive: true, force: true }); }
}

test('the banner comes before every `logbanner` entries; logdir is created; only the logs asked for are written', () => withDir(async (dir) => {
  const logdir = join(dir, 'sub', 'logs');
  const messages: string[] = [];
  const log = new StatsLog({ dir: logdir, log: ['measurements', 'tracking'], banner: 3, report: (m) => messages.push(m) });
  for (let i = 0; i < 7; i++) log.record(MEASUREMENT);
  log.record(UPDATE);
  await log.flush();
  const text = await readFile(join(logdir, 'measurements.log'), 'utf8');
  const banner = logBanner(MEASUREMENTS_HEADER);
  const line = `${formatMeasurement(MEASUREMENT)}\n`;
  assert.equal(text, `${banner}${line.repeat(3)}${banner}${line.repeat(3)}${banner}${line}`);
  assert.equal(await readFile(join(logdir, 'tracking.log'), 'utf8'), `${logBanner(TRACKING_HEADER)}${formatTracking(UPDATE)}\n`);
  await assert.rejects(stat(join(logdir, 'statistics.log')), { code: 'ENOENT' });
  assert.equal((await stat(logdir)).mode & 0o777, 0o755 & ~process.umask());
  assert.deepEqual(messages, []);
  await log.close();
}));

test('rotation: after the file is renamed and reopen() runs, new lines go to a new file that starts with a banner', () => withDir(async (dir) => {
  const log = new StatsLog({ dir, log: ['statistics'], banner: 32, report: () => {} });
  log.record(MEASUREMENT);
  log.record(MEASUREMENT);
  await log.flush();
  await rename(join(dir, 'statistics.log'), join(dir, 'statistics.log.1'));
  log.record({ ...MEASUREMENT, address: '127.0.0.2' }); // queued before the reload: belongs to the old file
  const reopened = log.reopen();
  log.record({ ...MEASUREMENT, address: '127.0.0.3' });
  await reopened;
  await log.flush();
  const old = (await readFile(join(dir, 'statistics.log.1'), 'utf8')).trimEnd().split('\n');
  const fresh = (await readFile(join(dir, 'statistics.log'), 'utf8')).trimEnd().split('\n');
  assert.deepEqual(old.slice(3).map((l) => l.split(/\s+/)[2]), ['127.0.0.1', '127.0.0.1', '127.0.0.2']);
  assert.equal(fresh.length, 4);
  assert.equal(`${fresh.slice(0, 3).join('\n')}\n`, logBanner(STATISTICS_HEADER));
  assert.equal(fresh[3]?.split(/\s+/)[2], '127.0.0.3');
  await log.close();
}));

test('every log that cannot be written is reported, once per episode, and again when it can be written', () => withDir(async (dir) => {
  // A regular file in the way: even root cannot create a directory under it.
  await writeFile(join(dir, 'blocker'), '');
  const messages: string[] = [];
  const logdir = join(dir, 'blocker', 'logs');
  const log = new StatsLog({ dir: logdir, log: ['measurements', 'statistics', 'tracking'], banner: 32, report: (m) => messages.push(m) });
  for (let i = 0; i < 5; i++) { log.record(MEASUREMENT); log.record(UPDATE); await log.flush(); }
  // One line per file that fails, not per line written.
  assert.equal(messages.length, 3, messages.join('\n'));
  for (const name of ['measurements', 'statistics', 'tracking']) {
    assert.ok(messages.some((m) => m.startsWith(`Cannot write ${join(logdir, `${name}.log`)}: ENOTDIR`) && m.endsWith('its lines are dropped until it can be written again')), `${name}:\n${messages.join('\n')}`);
  }
  assert.equal(log.dropped, 15);
  // The way is cleared: the next lines land, and each file says so once.
  await rm(join(dir, 'blocker'));
  log.record(MEASUREMENT);
  log.record(UPDATE);
  await log.flush();
  assert.equal(messages.length, 6, messages.join('\n'));
  assert.ok(messages.slice(3).every((m) => /^Writing .*\/(measurements|statistics|tracking)\.log again \(5 lines dropped while it could not be written\)$/.test(m)), messages.join('\n'));
  assert.match(await readFile(join(logdir, 'tracking.log'), 'utf8'), /^=+\n.*\n=+\n.*\n$/);
  await log.close();
}));

test('a full queue drops lines (counted, reported once) instead of growing', () => withDir(async (dir) => {
  const messages: string[] = [];
  const line = formatMeasurement(MEASUREMENT);
  const log = new StatsLog({ dir, log: ['measurements'], banner: 0, report: (m) => messages.push(m), maxQueuedBytes: (line.length + 1) * 10 });
  for (let i = 0; i < 25; i++) log.record(MEASUREMENT);
  await log.flush();
  assert.equal(log.dropped, 15);
  assert.equal(messages.length, 1);
  assert.equal((await readFile(join(dir, 'measurements.log'), 'utf8')).split('\n').length - 1, 10);
  await log.close();
}));

test('on a full disk (a real tmpfs) each log is reported once, never holds a torn line, and resumes when space is back', async (t) => {
  const why = tmpfsSkip();
  if (why !== null) { t.skip(why); return; }
  const fs = await mountTinyTmpfs('ntpkit-stats-full', 16 * 1024);
  t.after(() => fs.unmount());
  const messages: string[] = [];
  const log = new StatsLog({ dir: fs.dir, log: ['measurements', 'statistics'], banner: 0, report: (m) => messages.push(m) });
  const m = join(fs.dir, 'measurements.log');
  const s = join(fs.dir, 'statistics.log');
  log.record(MEASUREMENT);
  await log.flush();
  await fs.fill();
  // Lines keep coming, a batch at a time: the first one fills what is left of each file's last page.
  for (let i = 0; i < 200; i++) { log.record(MEASUREMENT); if (i % 10 === 9) await log.flush(); }
  await log.flush();
  assert.equal(messages.length, 2, messages.join('\n'));
  for (const p of [m, s]) {
    assert.ok(messages.some((x) => x.startsWith(`Cannot write ${p}: ENOSPC`)), `${p}:\n${messages.join('\n')}`);
    const text = await readFile(p, 'utf8');
    assert.ok(text.endsWith('\n'), `${p} ends in a torn line: ${JSON.stringify(text.slice(-40))}`);
    const whole = p === m ? `${formatMeasurement(MEASUREMENT)}\n` : `${formatStatistics(MEASUREMENT)}\n`;
    assert.equal(text.length % whole.length, 0);
    assert.equal(text, whole.repeat(text.length / whole.length));
  }
  assert.ok(log.dropped > 0);
  await fs.free();
  log.record(MEASUREMENT);
  await log.flush();
  assert.equal(messages.length, 4, messages.join('\n'));
  assert.ok(messages.slice(2).every((x) => /^Writing .* again \(\d+ lines dropped while it could not be written\)$/.test(x)), messages.join('\n'));
  await log.close();
});
