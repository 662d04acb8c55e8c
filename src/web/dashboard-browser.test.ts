/**
 * The dashboard end to end, in headless Chromium: a real `ntpkit daemon` on a
 * virtual clock started 0.2 s off polls three chronyd servers and one under
 * faketime +2.5 s on loopback, serves NTP (queried here for load) and its
 * dashboard on 127.0.0.1:0. The page must show the clock synchronized, every
 * source with chronyc's symbol (`x` for the liar), plots with their series
 * drawn, and the server's load; a full-page screenshot is kept.
 *
 * Chromium is started here (not by playwright) so that this test owns its PID,
 * its fresh profile dir and every flag that keeps it off the network;
 * playwright-core drives it over the DevTools protocol.
 */
import { after, before, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import {
  type ChronydServer, type LoopbackBlock, type ManagedProcess, pollFor, requireTool, reserveLoopbackBlock, runNtpdig, spawnManaged, spawnNtpkit, startChronydServer,
} from '../testing/index.js';

/**
 * The few DOM members the in-page functions below use: tsconfig has no DOM
 * lib, the rest of the tree being Node code, and these functions run in the page.
 */
interface DomEl {
  readonly id: string;
  readonly textContent: string | null;
  readonly hidden: boolean;
  readonly dataset: Record<string, string | undefined>;
  readonly width: number;
  readonly height: number;
  querySelector(selector: string): DomEl | null;
  querySelectorAll(selector: string): Iterable<DomEl>;
  getContext(kind: '2d'): { getImageData(x: number, y: number, w: number, h: number): { readonly data: ArrayLike<number> } } | null;
}
declare const document: DomEl & { readonly body: DomEl };

const CHROMIUM = '/usr/bin/chromium';
/** Flags that keep Chromium from reaching the internet (updates, sync, field trials, QUIC probes). */
const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--remote-debugging-address=127.0.0.1', '--remote-debugging-port=0', 'about:blank',
];
const DEADLINE_MS = 90_000;

/** True to run; false after skipping. Fails when the browser is required (CI) and missing. */
function requireBrowser(t: TestContext): boolean {
  if (existsSync(CHROMIUM)) return true;
  if (process.env.NTPKIT_REQUIRE_BROWSER === '1') assert.fail(`${CHROMIUM} is missing and NTPKIT_REQUIRE_BROWSER=1 (Debian package chromium)`);
  t.skip(`${CHROMIUM} is missing (Debian package chromium); set NTPKIT_REQUIRE_BROWSER=1 to make this a failure`);
  return false;
}

/** Every descendant of `pid`, from /proc (Chromium's zygote, GPU, renderer processes). */
function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      // The command name in parentheses may hold spaces: the parent PID is the 2nd field after it.
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(name)]);
    } catch {
      // exited while we looked
    }
  }
  const out: number[] = [];
  const walk = (p: number): void => { for (const c of children.get(p) ?? []) { out.push(c); walk(c); } };
  walk(pid);
  return out;
}



/** PNG width and height from the IHDR chunk; throws if `buf` is not a PNG. */
function pngSize(buf: Buffer): { width: number; height: number } {
  assert.deepEqual([...buf.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'PNG signature');
  assert.equal(buf.toString('latin1', 12, 16), 'IHDR');
  return { width: buf.readUInt32BE(16), height: buf.readUInt32BE(20) };
}

/**
 * Each plot's canvas size and its coloured pixels: axes, grid and background
 * are grey, so saturated pixels are drawn series.
 */
function countSeriesPixels(page: Page): Promise<Record<string, { width: number; height: number; pixels: number }>> {
  return page.evaluate(() => {
    const out: Record<string, { width: number; height: number; pixels: number }> = {};
    for (const el of document.querySelectorAll('.plot')) {
      const canvas = el.querySelector('canvas');
      const ctx = canvas?.getContext('2d');
      if (canvas === null || ctx === null || ctx === undefined) continue;
      const data = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
      let pixels = 0;
      for (let i = 0; i < data.length; i += 4) {
        const [r, g, b, a] = [data[i] as number, data[i + 1] as number, data[i + 2] as number, data[i + 3] as number];
        if (a > 128 && Math.max(r, g, b) - Math.min(r, g, b) > 80) pixels++;
      }
      out[el.id] = { width: canvas.width, height: canvas.height, pixels };
    }
    return out;
  });
}

let block: LoopbackBlock | undefined;
before(async () => { block = await reserveLoopbackBlock('dashboard-browser.test', 5); });
after(() => block?.release());

test('the dashboard in Chromium: synchronized, the falseticker marked x, plots drawn, server load shown', { timeout: 180_000 }, async (t) => {
  if (!requireBrowser(t)) return;
  if (!requireTool(t, 'chronyd', 'libfaketime', 'ntpdig')) return;
  const [a, b, c, liar, self] = (block as LoopbackBlock).addresses as [string, string, string, string, string];
  const dir = await mkdtemp(join(tmpdir(), 'ntpkit-dashboard-'));
  const servers: ChronydServer[] = [];
  let daemon: ManagedProcess | undefined;
  let browserProc: ManagedProcess | undefined;
  let browser: Browser | undefined;
  let chromiumPids: number[] = [];
  const pageErrors: string[] = [];
  try {
    for (const address of [a, b, c]) servers.push(await startChronydServer({ address }));
    servers.push(await startChronydServer({ address: liar, fakeOffsetSeconds: 2.5 }));
    const conf = join(dir, 'chrony.conf');
    await writeFile(conf, [
      ...[a, b, c, liar].map((s) => `server ${s} minpoll 0 maxpoll 2 iburst`),
      'allow 127.0.0.0/8',
      `bindaddress ${self}`,
      'controlsocket /\nbindcmdaddress /\ncmdport 0',
      '',
    ].join('\n'));
    daemon = await spawnNtpkit(['daemon', '-f', conf, '--clock', 'virtual', '--virtual-offset', '0.2', '--http', '127.0.0.1:0']);
    const d = daemon;
    const url = await pollFor('the daemon\'s dashboard URL', () => {
      if (d.exitStatus() !== undefined) assert.fail(`the daemon exited: ${JSON.stringify(d.exitStatus())}\n${d.logs()}`);
      return /Dashboard and metrics at (http:\/\/127\.0\.0\.1:\d+\/)/.exec(d.logs())?.[1];
    }, 15_000, () => d.logs());

    const profile = join(dir, 'chromium-profile');
    await mkdir(profile);
    browserProc = await spawnManaged(CHROMIUM, [`--user-data-dir=${profile}`, ...CHROMIUM_ARGS]);
    const bp = browserProc;
    const endpoint = await pollFor('Chromium\'s DevTools port', async () => {
      if (bp.exitStatus() !== undefined) assert.fail(`chromium exited: ${JSON.stringify(bp.exitStatus())}\n${bp.logs()}`);
      const text = await readFile(join(profile, 'DevToolsActivePort'), 'utf8').catch(() => '');
      const [port, path] = text.split('\n');
      return port && path ? `ws://127.0.0.1:${port}${path}` : undefined;
    }, 20_000, () => bp.logs());
    browser = await chromium.connectOverCDP(endpoint);
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    page.on('pageerror', (e) => pageErrors.push(`pageerror: ${e.message}`));
    page.on('console', (m) => { if (m.type() === 'error') pageErrors.push(`console: ${m.text()}`); });
    await page.goto(url);
    chromiumPids = descendants(bp.pid);

    // Wait until the page shows convergence, and query the daemon's NTP server meanwhile so it has load to show.
    const state = async () => page.evaluate(() => ({
      refreshes: Number(document.body.dataset.refreshes ?? 0),
      badge: document.querySelector('#sync-state')?.textContent ?? '',
      rows: [...document.querySelectorAll('#sources tbody tr')].map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '')),
      received: document.querySelector('#server-load [data-field="received"]')?.textContent ?? '',
      error: document.querySelector('#error')?.hidden === false ? document.querySelector('#error')?.textContent : null,
    }));
    let last: Awaited<ReturnType<typeof state>> | undefined;
    await pollFor('the page to show the clock synchronized and the liar marked x', async () => {
      await runNtpdig({ server: self, timeoutSeconds: 1 });
      last = await state();
      const symbols = new Map(last.rows.map((r) => [r[1] ?? '', r[0] ?? '']));
      const good = [a, b, c].every((s) => /^\^[*+]$/.test(symbols.get(s) ?? ''));
      const ok = last.badge === 'synchronized' && good && symbols.get(liar) === '^x' && last.refreshes >= 5 && Number(last.received) > 0;
      return ok ? true : undefined;
    }, DEADLINE_MS, () => `${JSON.stringify(last, null, 1)}\ndaemon log:\n${d.logs()}`);
    const shown = last as Awaited<ReturnType<typeof state>>;
    assert.equal(shown.error, null);
    assert.equal(shown.rows.length, 4);
    const liarRow = shown.rows.find((r) => r[1] === liar) as string[];
    assert.equal(liarRow[10], 'falseticker');
    assert.notEqual(liarRow[11], '', 'the verdict has its reason');
    assert.match(liarRow[6] ?? '', /^-2\.\d{3} s$/, 'the liar is 2.5 s ahead, so local minus source is about -2.5 s');

    // Tracking values as chronyc words them.
    const tracking = await page.$$eval('#tracking tr', (trs) => Object.fromEntries(trs.map((tr) => [tr.querySelector('th')?.textContent ?? '', tr.querySelector('td')?.textContent ?? ''])));
    assert.equal(tracking.Synchronized, 'yes');
    assert.equal(tracking['Leap status'], 'Normal');
    assert.match(tracking.Stratum ?? '', /^2$/);
    assert.match(tracking['Reference ID'] ?? '', /^[0-9A-F]{8} \(127\.0\.0\.\d+\)$/);
    assert.match(tracking['System time'] ?? '', /^\d+(\.\d+)? (s|ms|us|ns) (fast|slow) of NTP time$/);
    assert.match(tracking.Frequency ?? '', /^\d+\.\d{3} ppm (fast|slow)$/);

    // Plots: one canvas each, a real size, and their first series drawn.
    const plots = await countSeriesPixels(page);
    assert.deepEqual(Object.keys(plots).sort(), ['plot-delay', 'plot-frequency', 'plot-jitter', 'plot-load', 'plot-offset']);
    for (const [id, p] of Object.entries(plots)) {
      assert.ok(p.width >= 300 && p.height >= 150, `${id}: canvas ${p.width}x${p.height}`);
      assert.ok(p.pixels > 200, `${id}: only ${p.pixels} coloured pixels: no series drawn`);
    }
    const legends = await page.$$eval('#plot-offset .u-legend .u-series .u-label', (els) => els.map((e) => e.textContent));
    assert.ok(legends.includes('System time') && legends.some((l) => l?.startsWith(liar)), JSON.stringify(legends));
    const figcaptions = await page.$$eval('figcaption', (els) => els.map((e) => e.textContent ?? ''));
    for (const caption of figcaptions) assert.match(caption, /\((seconds|ppm|packets per second)|\(ppm\)/, caption);

    const shot = join(dir, 'dashboard.png');
    await page.screenshot({ path: shot, fullPage: true });
    const artifacts = process.env.NTPKIT_ARTIFACTS_DIR;
    if (artifacts) {
      await mkdir(artifacts, { recursive: true });
      await copyFile(shot, join(artifacts, 'dashboard.png'));
    }
    const png = await readFile(shot);
    const size = pngSize(png);
    // The viewport is 1280 wide, less a vertical scrollbar; a page of all its panels is taller than 900.
    assert.ok(size.width >= 1200 && size.height > 900 && png.length > 30_000, `screenshot ${size.width}x${size.height}, ${png.length} bytes`);
    assert.deepEqual(pageErrors, []);
  } finally {
    await browser?.close().catch(() => {});
    chromiumPids = [...new Set([...chromiumPids, ...(browserProc ? descendants(browserProc.pid) : [])])];
    await browserProc?.stop(3000);
    for (const pid of chromiumPids) {
      // Only if that PID is still a Chromium process: it may have exited with its parent and been reused.
      const cmd = (() => { try { return readFileSync(`/proc/${pid}/cmdline`, 'latin1'); } catch { return ''; } })();
      if (cmd.includes('chromium')) process.kill(pid, 'SIGKILL');
    }
    await daemon?.stop(5000);
    for (const s of servers) await s.stop();
    await rm(dir, { recursive: true, force: true });
  }
});
