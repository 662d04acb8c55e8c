/**
 * refclock `tai` and pulses (`pps`, a SOCK pulse datagram, `lock`, `rate`,
 * `width`, `maxlockage`) beside chronyd 4.3: one writer sends the same
 * struct sock_sample datagrams to chronyd's sockets and to ntpkit's, and
 * both daemons poll the same local chronyd server, so the two must take or
 * drop each datagram alike. The offsets are written, so each daemon's
 * estimate is held to them too:
 *   NMEA  full samples 1.0015 s ahead, ±20 ms of serial jitter;
 *   PPS   pulses 2.1 ms ahead, locked to NMEA: 1.0021 s (NMEA's second, the pulse's fraction);
 *   HALF  the same pulse read half a second off at rate 2, locked: 1.0021 s;
 *   PPSU  unlocked pulses: 2.1 ms once the clock is synchronized to the server;
 *   WIDE  unlocked, width 0.002: a 2.1 ms pulse is the wrong edge, dropped;
 *   OLD   locked with maxlockage 0: every NMEA reading is too old, dropped;
 *   TAI   full samples 37 s + 12.3 ms ahead, `tai` with right/UTC: 12.3 ms.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { realtime } from '../clock/realtime.js';
import { fetchSnapshot } from '../control/commands.js';
import { instantToUnixNanos } from '../time/instant.js';
import { type ChronydProcess, type ChronydServer, type ManagedProcess, requireTool, spawnNtpkit, startChronyd, startChronydServer, toolPath } from '../testing/index.js';
import { until } from '../testing/until.js';
import { openSender, sockSample } from './refclock-sock.test-helper.js';

const run = promisify(execFile);
const SERVER = '127.0.32.3';
const NMEA = 1.0015;
const NMEA_JITTER = 0.02;
/** Reference − system at the pulse; a pulse datagram carries how far past the pulse the clock read, 1 − 0.0021 here. */
const PULSE = 0.0021;
const TAI_UTC = 37;
const TAI_REST = 0.0123;
/** The writer's values are exact; a few microseconds of float and filter rounding. */
const EXACT = 20e-6;

interface Clock {
  readonly refid: string;
  readonly options: string;
  /** The datagram to send at system time `ns` (tick `k`). */
  readonly datagram: (ns: bigint, k: number) => Buffer;
}

const CLOCKS: readonly Clock[] = [
  { refid: 'NMEA', options: '', datagram: (ns, k) => sockSample(ns, NMEA + NMEA_JITTER * Math.sin(k)) },
  { refid: 'PPS', options: 'lock NMEA', datagram: (ns) => sockSample(ns, 1 - PULSE, { pulse: 1 }) },
  { refid: 'HALF', options: 'lock NMEA rate 2', datagram: (ns) => sockSample(ns, 0.5 - PULSE, { pulse: 1 }) },
  // `pps` on full samples: only their fraction counts.
  { refid: 'PPSU', options: 'pps', datagram: (ns) => sockSample(ns, 5 + PULSE) },
  { refid: 'WIDE', options: 'width 0.002', datagram: (ns) => sockSample(ns, 1 - PULSE, { pulse: 1 }) },
  { refid: 'OLD', options: 'lock NMEA maxlockage 0', datagram: (ns) => sockSample(ns, 1 - PULSE, { pulse: 1 }) },
  { refid: 'TAI', options: 'tai', datagram: (ns) => sockSample(ns, TAI_UTC + TAI_REST) },
];

const refclockLine = (dir: string, c: Clock): string => `refclock SOCK ${join(dir, `${c.refid}.sock`)} refid ${c.refid} poll 2 noselect ${c.options}`.trimEnd();

interface Stats { readonly samples: number; readonly offset: number; readonly stdDev: number }

async function chronydStats(socket: string): Promise<Map<string, Stats>> {
  const { stdout } = await run(toolPath('chronyc'), ['-h', socket, '-n', '-c', 'sourcestats']);
  // chronyc -c sourcestats: name, samples, runs, span, frequency, skew, offset (system − source), std dev.
  return new Map(stdout.trim().split('\n').map((l) => l.split(',')).map((f) => [f[0] ?? '', { samples: Number(f[1]), offset: -Number(f[6]), stdDev: Number(f[7]) }]));
}

async function ntpkitStats(socket: string): Promise<Map<string, Stats>> {
  const snap = await fetchSnapshot(socket, { timeoutMs: 2000 });
  return new Map(snap.sources.map((s) => [s.name, { samples: s.stats.samples, offset: s.stats.offset, stdDev: s.stats.stdDev }]));
}

test('tai and pulses: chronyd and ntpkit, fed the same datagrams, take and drop the same ones, at the offsets written', { timeout: 150_000 }, async (t) => {
  if (!requireTool(t, 'chronyd', 'chronyc')) return;
  if (!existsSync('/usr/share/zoneinfo/right/UTC')) { t.skip('no right/UTC zone (tzdata)'); return; }
  const dir = await mkdtemp(join(tmpdir(), 'ntpkit-pps-'));
  const sender = openSender(dir);
  let server: ChronydServer | undefined;
  let chronyd: ChronydProcess | undefined;
  let ntpkit: ManagedProcess | undefined;
  let timer: NodeJS.Timeout | undefined;
  try {
    server = await startChronydServer({ address: SERVER });
    const common = [`server ${SERVER} iburst minpoll 0 maxpoll 0`, 'leapsectz right/UTC'];
    chronyd = await startChronyd({ name: 'pps-chronyd', config: ['port 0', ...common, 'bindcmdaddress {dir}/chronyd.sock', ...CLOCKS.map((c) => refclockLine('{dir}', c))] });
    const theirDir = chronyd.dir;
    const chronySock = join(theirDir, 'chronyd.sock');
    const socket = join(dir, 'ntpkit.sock');
    const conf = join(dir, 'chrony.conf');
    await writeFile(conf, [...common, 'port 0', `controlsocket ${socket}`, 'bindcmdaddress /', 'cmdport 0', ...CLOCKS.map((c) => refclockLine(dir, c))].join('\n') + '\n');
    ntpkit = await spawnNtpkit(['daemon', '-f', conf, '--clock', 'virtual']);
    const nk = ntpkit;
    const diag = (): string => `chronyd:\n${chronyd?.logs() ?? ''}\nntpkit:\n${nk.logs()}`;
    await until('every socket is bound', 20_000, async () => {
      const paths = CLOCKS.flatMap((c) => [join(theirDir, `${c.refid}.sock`), join(dir, `${c.refid}.sock`)]);
      const ok = await Promise.all(paths.map((p) => run('test', ['-S', p]).then(() => true, () => false)));
      return ok.every(Boolean) ? true : null;
    }, diag);
    let k = 0;
    timer = setInterval(() => {
      const ns = instantToUnixNanos(realtime());
      k++;
      for (const c of CLOCKS) {
        const b = c.datagram(ns, k);
        for (const d of [theirDir, dir]) sender.send(b, join(d, `${c.refid}.sock`));
      }
    }, 250);

    const taken = ['NMEA', 'PPS', 'HALF', 'PPSU', 'TAI'];
    const [ours, theirs] = await until('both daemons have 3 samples of every clock that takes them', 90_000, async () => {
      const o = await ntpkitStats(socket);
      const c = await chronydStats(chronySock);
      return taken.every((r) => (o.get(r)?.samples ?? 0) >= 3 && (c.get(r)?.samples ?? 0) >= 3) ? [o, c] as const : null;
    }, diag, 1000);
    // chronyd -x reads the samples against the real clock, which it never steers: it is held to the written offsets.
    // ntpkit reads them against its virtual clock, which follows the server: that clock's error, as far as its
    // estimate of the server can tell it, is in every refclock offset alike, and cancels between two of them.
    const srv = ours.get(SERVER);
    assert.ok(srv !== undefined);
    const clockError = Math.abs(srv.offset) + 3 * srv.stdDev;
    const pps = ours.get('PPS')?.offset ?? NaN;
    const expect: Readonly<Record<string, number>> = { NMEA: NMEA, PPS: 1 + PULSE, HALF: 1 + PULSE, PPSU: PULSE, TAI: TAI_REST };
    for (const [refid, value] of Object.entries(expect)) {
      const o = ours.get(refid)?.offset ?? NaN;
      const c = theirs.get(refid)?.offset ?? NaN;
      t.diagnostic(`${refid}: ntpkit ${(o * 1e3).toFixed(4)} ms, chronyd ${(c * 1e3).toFixed(4)} ms, written ${(value * 1e3).toFixed(4)} ms; ntpkit's clock within ${(clockError * 1e6).toFixed(1)} us`);
      const bound = refid === 'NMEA' ? NMEA_JITTER : EXACT;
      assert.ok(Math.abs(c - value) <= bound, `chronyd ${refid}: ${c}`);
      assert.ok(Math.abs(o - value) <= bound + clockError, `ntpkit ${refid}: ${o}`);
      // Those fed from the start share every sample time with PPS, and so its clock error.
      if (refid === 'HALF' || refid === 'TAI') assert.ok(Math.abs((o - pps) - (value - (1 + PULSE))) <= EXACT, `ntpkit ${refid} − PPS: ${o - pps}`);
    }
    // Both ran as long on the same datagrams: what one dropped the other dropped too.
    for (const refid of ['WIDE', 'OLD']) {
      assert.equal(ours.get(refid)?.samples, 0, `ntpkit ${refid}`);
      assert.equal(theirs.get(refid)?.samples, 0, `chronyd ${refid}`);
    }
  } finally {
    if (timer !== undefined) clearInterval(timer);
    sender.close();
    await ntpkit?.stop(3000);
    await chronyd?.stop();
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  }
});

test('tai without a leap second table: chronyd refuses to start, and so does ntpkit, at the refclock\'s line; a zone without leap seconds is refused at its line', { timeout: 60_000 }, async (t) => {
  if (!requireTool(t, 'chronyd')) return;
  const dir = await mkdtemp(join(tmpdir(), 'ntpkit-tai-'));
  try {
    const chronyd = await startChronyd({ name: 'tai-chronyd', config: ['port 0', 'refclock SOCK {dir}/tai.sock tai'] });
    const exit = await chronyd.exited;
    await chronyd.stop();
    assert.notEqual(exit.code, 0);
    assert.match(chronyd.logs(), /refclock tai option requires leapsectz/);

    const conf = join(dir, 'chrony.conf');
    await writeFile(conf, `port 0\nrefclock SOCK ${join(dir, 'tai.sock')} tai\ncontrolsocket ${join(dir, 'n.sock')}\nbindcmdaddress /\ncmdport 0\n`);
    const daemon = await spawnNtpkit(['daemon', '-f', conf, '--clock', 'virtual']);
    const status = await daemon.exited;
    assert.notEqual(status.code, 0, daemon.logs());
    assert.match(daemon.logs(), new RegExp(`${conf.replaceAll('.', '\\.')}:2: refclock SOCK \\S+: option "tai" needs a leap second table`));

    // Etc/UTC has no leap records: chronyd would warn and drop every TAI sample; ntpkit refuses.
    await writeFile(conf, `port 0\nrefclock SOCK ${join(dir, 'tai.sock')} tai\nleapsectz Etc/UTC\ncontrolsocket ${join(dir, 'n.sock')}\nbindcmdaddress /\ncmdport 0\n`);
    const noLeaps = await spawnNtpkit(['daemon', '-f', conf, '--clock', 'virtual']);
    assert.notEqual((await noLeaps.exited).code, 0, noLeaps.logs());
    assert.match(noLeaps.logs(), new RegExp(`${conf.replaceAll('.', '\\.')}:3: leapsectz Etc/UTC \\(/usr/share/zoneinfo/Etc/UTC\\): no leap seconds in it`));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
