/**
 * The guest side of src/cli/rtcsync-uml.test.ts: inside a User-mode Linux
 * guest (never on the host: it checks first), runs `ntpkit daemon --clock
 * system` against the chronyd on the host side of the tap, once with
 * `rtcsync` and once without, and reports the guest kernel's adjtimex status
 * once the daemon has updated the clock: `RESULT {json}` lines on stdout.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { requireNative } from '../clock/native.js';
import { STATUS_FLAGS } from '../clock/kernel-status.js';
import { assertUmlGuest } from './uml.js';

export interface RtcsyncResult {
  readonly rtcsync: boolean;
  /** The daemon logged that it selected the source. */
  readonly selected: boolean;
  readonly unsync: boolean;
  readonly maxerror: number;
  readonly esterror: number;
  readonly log: string;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function run(server: string, dir: string, rtcsync: boolean): Promise<RtcsyncResult> {
  const conf = join(dir, `rtcsync-${rtcsync}.conf`);
  writeFileSync(conf, `server ${server} iburst minpoll 0 maxpoll 0\nmakestep 0.1 3\ncontrolsocket /\nbindcmdaddress /\ncmdport 0\n${rtcsync ? 'rtcsync\n' : ''}`);
  const main = new URL('../cli/main.js', import.meta.url).href;
  const code = `import { run } from ${JSON.stringify(main)}; process.exitCode = await run(process.argv.slice(1));`;
  const d = spawn(process.execPath, ['--input-type=module', '-e', code, 'daemon', '-f', conf, '--clock', 'system', '--force'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  d.stdout.on('data', (c: Buffer) => { log += c.toString(); });
  d.stderr.on('data', (c: Buffer) => { log += c.toString(); });
  const a = requireNative();
  const end = performance.now() + 60_000;
  // Two more updates after the selection, so the status written is the synchronized one.
  while (performance.now() < end && !/Selected source/.test(log)) await sleep(200);
  await sleep(3000);
  const tx = a.adjtimexStatus();
  d.kill('SIGTERM');
  await new Promise((r) => d.once('exit', r));
  return { rtcsync, selected: /Selected source/.test(log), unsync: (tx.status & STATUS_FLAGS.STA_UNSYNC) !== 0, maxerror: tx.maxerror, esterror: tx.esterror, log };
}

async function main(): Promise<void> {
  assertUmlGuest();
  const server = process.argv[2] ?? '192.168.77.1';
  const dir = process.env.NTPKIT_UML_DIR ?? '/tmp';
  for (const rtcsync of [true, false]) console.log(`RESULT ${JSON.stringify(await run(server, dir, rtcsync))}`);
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((e: unknown) => {
    console.error(`uml-guest-rtcsync: ${(e as Error).stack ?? String(e)}`);
    process.exitCode = 1;
  });
}
