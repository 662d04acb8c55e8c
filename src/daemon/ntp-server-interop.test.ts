/**
 * ntpkit's server with real clients on loopback, the clients a fleet runs:
 * Debian's ntpdig, and chronyd 4.3 as a client (`-x`: it measures but never
 * touches the clock), in basic and in interleaved mode. Every process shares
 * one clock, so every offset measured is error.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadServerConfig } from '../config/load.js';
import {
  interopSkip, type LoopbackBlock, reserveLoopbackBlock, runNtpdig, startChronydClient,
} from '../testing/index.js';
import { type RunningNtpServer, startNtpServer } from './ntp-server.js';
import { assertOffsetNear, TX_COMPENSATION_MAX } from '../testing/bounds.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Measurement { ip: string; offset: number; delay: number; mode: string }

/** chronyd's measurements.log: offset and delay are the 12th and 13th columns, the mode ("4B" basic, "4I" interleaved) the third from last. */
function readMeasurements(dir: string): Measurement[] {
  let text = '';
  try { text = readFileSync(join(dir, 'measurements.log'), 'utf8'); } catch { return []; }
  return text.split('\n').filter((l) => /^\d{4}-\d\d-\d\d /.test(l)).map((l) => {
    const f = l.trim().split(/\s+/);
    return { ip: f[2] as string, offset: Number(f[11]), delay: Number(f[12]), mode: f[f.length - 3] as string };
  });
}

/*
 * Every process here reads one clock, so a client's offset is error, within
 * half the exchange's round trip (plus what the native server's transmit
 * compensation may add to T3). How small it is (the goal is within 100
 * us) is bench/server's figure, measured next to chronyd as a server.
 */

/** chronyd's tracking.log: the reference it selected, per update. */
function readTrackingReferences(dir: string): string[] {
  let text = '';
  try { text = readFileSync(join(dir, 'tracking.log'), 'utf8'); } catch { return []; }
  return text.split('\n').filter((l) => /^\d{4}-\d\d-\d\d /.test(l)).map((l) => l.trim().split(/\s+/)[2] as string);
}

describe('ntpkit server with ntpdig and chronyd as clients', { skip: interopSkip('chronyd', 'ntpdig') }, () => {
  let block: LoopbackBlock;
  let server: RunningNtpServer;
  let address: string;

  before(async () => {
    block = await reserveLoopbackBlock('ntpkit-server-interop', 1);
    address = block.addresses[0] as string;
    const { config } = loadServerConfig(undefined, [`bindaddress ${address}`, 'port 123', 'allow 127.0.0.0/8', 'local stratum 1']);
    server = await startNtpServer({ config });
  });
  after(async () => {
    await server?.close();
    block?.release();
  });

  test('ntpdig gets a stratum 1 answer with its offset within half the round trip', async () => {
    // ntpdig (Python) adds its own scheduling noise, which grows with load
    // (docs/benchmarks.md). As a clock filter does, judge the exchange with the
    // least delay among several: the one ntpdig's noise touched least.
    const runs: { offset: number; delay: number }[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await runNtpdig({ server: address, samples: 2 });
      assert.ok(r.ok, `ntpdig failed: ${r.stderr}`);
      assert.equal(r.stratum, 1);
      runs.push({ offset: r.offset as number, delay: r.delay as number });
    }
    // ntpdig prints its figures to the microsecond.
    for (const r of runs) assertOffsetNear(r.offset, 0, r.delay + 2e-6, 'ntpdig', { late: TX_COMPENSATION_MAX, extra: 1e-6 });
  });

  for (const xleave of [false, true]) {
    test(`chronyd -x as a client${xleave ? ' in interleaved mode (xleave)' : ''} selects the server, offsets within half the round trip`, async () => {
      const before = server.stats().interleavedNtpPackets;
      const client = await startChronydClient({
        servers: [{ address, options: `iburst minpoll -4 maxpoll -4${xleave ? ' xleave' : ''}` }],
        extraConfig: ['logdir {dir}', 'log measurements tracking'],
      });
      try {
        // 1/16 s polling: a few seconds give dozens of samples.
        let m: Measurement[] = [];
        for (const end = Date.now() + 60_000; m.length < 24 && Date.now() < end;) { await sleep(250); m = readMeasurements(client.dir); }
        assert.ok(m.length >= 24, `only ${m.length} measurements:\n${client.logs()}`);
        assert.ok(m.every((x) => x.ip === address));
        assert.ok(readTrackingReferences(client.dir).includes(address), 'chronyd never selected the server');
        // The first exchanges of a new association are basic-mode warm-ups; judge the rest.
        const settled = m.slice(8);
        // measurements.log prints offset and delay with 3 significant digits (e-XX): 0.5% of each.
        for (const x of settled) assertOffsetNear(x.offset, 0, x.delay * 1.005, 'chronyd', { late: TX_COMPENSATION_MAX, extra: Math.abs(x.offset) * 0.005 });
        if (xleave) {
          assert.ok(settled.filter((x) => x.mode === '4I').length >= settled.length / 2, `modes: ${settled.map((x) => x.mode).join(' ')}`);
          assert.ok(server.stats().interleavedNtpPackets > before);
        } else {
          assert.ok(settled.every((x) => x.mode === '4B'), `modes: ${settled.map((x) => x.mode).join(' ')}`);
        }
      } finally {
        await client.stop();
      }
    });
  }
});
