#!/usr/bin/env node
// `npm run demo`: a self-contained offline demonstration, entirely on loopback.
//
// Starts three chronyd servers (`chronyd -x`: they never touch the clock) and a
// fourth under `faketime +2.5s` (a falseticker), each on its own 127.0.0.x:123.
// Then:
// 1. `ntpkit query` asks all four once (the job of ntpdate -q);
// 2. `ntpkit daemon` synchronizes a virtual clock started 0.3 s and 40 ppm
//    off from all four (the job of chronyd; the machine's clock is never
//    touched), serves NTP from it on its own 127.0.0.x:123, and serves its
//    dashboard and Prometheus metrics over HTTP; the dashboard's plots show the
//    offset slewing away and the liar marked `x`;
// 3. once it has rejected the faked server and settled, `ntpkit sources` and
//    `ntpkit tracking` show its state, and `ntpkit query` measures the time it
//    serves. Every process shares this machine's clock, so that offset is the
//    daemon's true error.
// It then keeps running, dashboard up, until Ctrl-C (or `--duration SECONDS`);
// `--screenshot FILE` saves a PNG of the dashboard (headless chromium) first.
// Every process it started is stopped by PID at the end.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { run } from '../dist/cli/main.js';
import { fetchSnapshot } from '../dist/control/commands.js';
import { missingTools, reserveLoopbackBlock, spawnManaged, startChronydServer } from '../dist/testing/index.js';

const DEADLINE_MS = 60_000;
/** Let the frequency estimate settle too before showing the reports (polls are 1 to 4 s here). */
const SETTLE_MS = 20_000;

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string' },
    screenshot: { type: 'string' },
  },
});
const duration = args.duration === undefined ? null : Number(args.duration);
if (duration !== null && !(duration >= 0)) {
  console.error(`ntpkit demo: --duration takes a number of seconds, got ${args.duration}`);
  process.exit(2);
}

const missing = missingTools('chronyd', 'libfaketime');
if (missing.length > 0) {
  console.error(`ntpkit demo: needs ${missing.join(', ')} (Debian packages chrony and faketime); run \`bash .ci/run\` first.`);
  process.exit(1);
}
if (process.getuid?.() !== 0) {
  console.error('ntpkit demo: needs root to bind port 123 on 127.0.0.x.');
  process.exit(1);
}

const block = await reserveLoopbackBlock('npm-start-demo', 5);
const [a, b, c, liar, self] = block.addresses;
const dir = await mkdtemp(join(tmpdir(), 'ntpkit-demo-'));
const servers = [];
let daemon;
let code = 1;
try {
  console.log('Starting 3 chronyd servers and 1 under faketime +2.5s on loopback...');
  for (const address of [a, b, c]) servers.push(await startChronydServer({ address }));
  servers.push(await startChronydServer({ address: liar, fakeOffsetSeconds: 2.5 }));
  console.log(`Servers: ${a}, ${b}, ${c}, ${liar} (${liar} runs 2.5 s fast)\n`);

  console.log(`$ ntpkit query ${a} ${b} ${c} ${liar}`);
  await run(['query', a, b, c, liar]);

  const socket = join(dir, 'ntpkit.sock');
  const conf = join(dir, 'chrony.conf');
  const confText = [
    ...[a, b, c, liar].map((s) => `server ${s} minpoll 0 maxpoll 2 iburst`),
    // No makestep: the 0.3 s error is slewed out, which the dashboard's offset plot shows.
    'allow 127.0.0.0/8',
    `bindaddress ${self}`,
    `controlsocket ${socket}\nbindcmdaddress /\ncmdport 0`,
    `driftfile ${join(dir, 'drift')}`,
    'httpaddress 127.0.0.1 0',
  ].join('\n');
  await writeFile(conf, `${confText}\n`);
  console.log(`\n$ cat chrony.conf\n${confText}`);
  console.log('\n$ ntpkit daemon -f chrony.conf --clock virtual --virtual-offset 0.3 --virtual-freq 40');
  const bin = fileURLToPath(new URL('../bin/ntpkit.js', import.meta.url));
  daemon = await spawnManaged(process.execPath, [bin, 'daemon', '-f', conf, '--clock', 'virtual', '--virtual-offset', '0.3', '--virtual-freq', '40']);

  const started = Date.now();
  let ready = false;
  while (!ready && Date.now() - started < DEADLINE_MS) {
    await new Promise((r) => setTimeout(r, 1000));
    if (daemon.exitStatus() !== undefined) throw new Error(`the daemon exited:\n${daemon.logs()}`);
    try {
      const snap = await fetchSnapshot(socket, { timeoutMs: 2000 });
      const fake = snap.sources.find((s) => s.address === liar);
      ready = Date.now() - started >= SETTLE_MS && snap.tracking.synchronized && fake?.verdict === 'falseticker'
        && Math.abs(snap.tracking.systemTime) < 100e-6;
    } catch {
      // not listening yet
    }
  }
  console.log(daemon.logs().trimEnd());
  console.log(`\n(${((Date.now() - started) / 1000).toFixed(0)} s later)\n$ ntpkit sources`);
  await run(['sources', '--socket', socket]);
  console.log('\n$ ntpkit tracking');
  await run(['tracking', '--socket', socket]);
  console.log(`\n$ ntpkit query -n 4 ${self}     # the time the daemon serves, against this machine's clock`);
  code = await run(['query', '-n', '4', self]);
  if (!ready) {
    console.error('\nntpkit demo: the daemon did not reject the faked server and settle within 60 s');
    code = 1;
  }
  const url = /Dashboard and metrics at (http:\S+)/.exec(daemon.logs())?.[1];
  if (url === undefined) {
    console.error('\nntpkit demo: the daemon did not report its dashboard address');
    code = 1;
  } else {
    if (args.screenshot !== undefined) await screenshot(url, args.screenshot);
    console.log(`\nDashboard: ${url}   Prometheus metrics: ${url}metrics`);
    await keepRunning(duration);
  }
} finally {
  if (daemon !== undefined) await daemon.stop();
  await Promise.all(servers.map((s) => s.stop()));
  block.release();
  await rm(dir, { recursive: true, force: true });
}
process.exitCode = code;

/** Waits for Ctrl-C, or `seconds` when given. */
async function keepRunning(seconds) {
  console.log(seconds === null ? 'The demo keeps running; press Ctrl-C to stop it.' : `The demo stops in ${seconds} s.`);
  await new Promise((resolve) => {
    const timer = seconds === null ? null : setTimeout(resolve, seconds * 1000);
    const stop = () => {
      if (timer !== null) clearTimeout(timer);
      resolve();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}

/** A PNG of the dashboard, from Debian's chromium driven by playwright-core. */
async function screenshot(url, file) {
  const { chromium } = await import('playwright-core');
  // playwright gives the browser a fresh temporary profile of its own.
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    await page.goto(url);
    // Two refreshes of the page's data, so every plot has its history drawn.
    await page.waitForTimeout(5000);
    await page.screenshot({ path: file, fullPage: true });
    console.log(`Saved a screenshot of the dashboard to ${file}`);
  } finally {
    await browser.close();
  }
}
