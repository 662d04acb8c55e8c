/**
 * ntpkit's server with real clients on loopback (issue 3's acceptance):
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

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Measurement { ip: string; offset: number; mode: string }

/** chronyd's measurements.log: offset is the 12th column, the mode ("4B" basic, "4I" interleaved) the third from last. */
function readMeasurements(dir: string): Measurement[] {
  let text = '';
  try { text = readFileSync(join(dir, 'measurements.log'), 'utf8'); } catch { return []; }
  return text.split('\n').filter((l) => /^\d{4}-\d\d-\d\d /.test(l)).map((l) => {
    const f = l.trim().split(/\s+/);
    return { ip: f[2] as string, offset: Number(f[11]), mode: f[f.length - 3] as string };
  });
}

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

  test('ntpdig gets a stratum 1 answer with |offset| < 100 us', async () => {
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
    const best = runs.reduce((a, b) => (b.delay < a.delay ? b : a));
    assert.ok(Math.abs(best.offset) < 100e-6,
      `ntpdig's least-delay exchange has offset ${(best.offset * 1e6).toFixed(1)} us (all: ${runs.map((r) => `${(r.offset * 1e6).toFixed(1)}/${(r.delay * 1e6).toFixed(0)}`).join(', ')} us offset/delay)`);
  });

  for (const xleave of [false, true]) {
    test(`chronyd -x as a client${xleave ? ' in interleaved mode (xleave)' : ''} selects the server, offset < 100 us`, async () => {
      const before = server.stats().interleavedNtpPackets;
      const client = await startChronydClient({
        servers: [{ address, options: `iburst minpoll -4 maxpoll -4${xleave ? ' xleave' : ''}` }],
        extraConfig: ['logdir {dir}', 'log measurements tracking'],
      });
      try {
        // 1/16 s polling: a few seconds give dozens of samples.
        let m: Measurement[] = [];
        for (let i = 0; i < 40 && m.length < 24; i++) { await sleep(250); m = readMeasurements(client.dir); }
        assert.ok(m.length >= 24, `only ${m.length} measurements:\n${client.logs()}`);
        assert.ok(m.every((x) => x.ip === address));
        assert.ok(readTrackingReferences(client.dir).includes(address), 'chronyd never selected the server');
        // The first exchanges of a new association are basic-mode warm-ups; judge the rest.
        const settled = m.slice(8);
        const worst = Math.max(...settled.map((x) => Math.abs(x.offset)));
        assert.ok(worst < 100e-6, `chronyd measured offsets up to ${(worst * 1e6).toFixed(1)} us`);
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
