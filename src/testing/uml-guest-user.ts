/**
 * The guest side of src/cli/user-uml.test.ts: inside a User-mode Linux
 * guest (never on the host: it checks first), runs `ntpkit daemon --clock
 * system` with `user nobody` against the chronyd on the host side of the
 * tap. Once the daemon has dropped root and synchronized, the guest's clock
 * is stepped 0.5 s ahead from outside; the daemon, now nobody with only the
 * capabilities it kept, must bring it back. Reports one `RESULT {json}` line.
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SystemClock } from '../clock/system-clock.js';
import { queryServer } from '../net/query.js';
import { assertUmlGuest } from './uml.js';

export interface UserResult {
  /** /proc/PID/status of the daemon after the drop: Uid and Gid lines' words, CapEff and CapPrm in hex. */
  readonly uid: readonly string[];
  readonly gid: readonly string[];
  readonly capEff: string;
  readonly capPrm: string;
  /** The guest clock's offset from the server (server minus guest, s) once synchronized the first time. */
  readonly synced: number | null;
  /** Measured right after the outside step of +0.5 s (the daemon, polling every second, may already have stepped back). */
  readonly afterStep: number | null;
  /** What the daemon logged from the outside step on: its own step back shows there whatever the measurement above caught. */
  readonly logAfterStep: string;
  /** Once the daemon has corrected that step, or the last one measured when it did not. */
  readonly corrected: number | null;
  readonly exitCode: number | null;
  readonly log: string;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function offset(server: string): Promise<number | null> {
  const r = await queryServer(server, { samples: 4, timeoutMs: 3000 }).catch(() => null);
  return r?.estimate?.best.offset ?? null;
}

/** Polls the offset until |offset| < bound, for up to `ms`; the last one measured. */
async function settle(server: string, bound: number, ms: number): Promise<number | null> {
  const end = performance.now() + ms;
  let last: number | null = null;
  while (performance.now() < end) {
    last = await offset(server);
    if (last !== null && Math.abs(last) < bound) return last;
    await sleep(1000);
  }
  return last;
}

function statusField(pid: number, name: string): string[] {
  const m = new RegExp(`^${name}:[ \\t]*(.*)$`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m === null ? [] : (m[1] as string).trim().split(/\s+/);
}

async function main(): Promise<void> {
  assertUmlGuest();
  const server = process.argv[2] ?? '192.168.77.1';
  const dir = process.env.NTPKIT_UML_DIR ?? '/tmp';
  const conf = join(dir, 'user.conf');
  // The control socket on the guest's own /run (tmpfs): the daemon makes its directory for nobody.
  writeFileSync(conf, `server ${server} iburst minpoll 0 maxpoll 0\nmakestep 0.1 -1\ncontrolsocket /run/ntpkit-user/ntpkit.sock\nbindcmdaddress /\ncmdport 0\nuser nobody\n`);
  const main = new URL('../cli/main.js', import.meta.url).href;
  const code = `import { run } from ${JSON.stringify(main)}; process.exitCode = await run(process.argv.slice(1));`;
  const d = spawn(process.execPath, ['--input-type=module', '-e', code, 'daemon', '-f', conf, '--clock', 'system', '--force', '--http', 'off'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  d.stdout.on('data', (c: Buffer) => { log += c.toString(); });
  d.stderr.on('data', (c: Buffer) => { log += c.toString(); });
  const exited = new Promise<number | null>((r) => d.once('exit', (c) => r(c)));
  const pid = d.pid as number;
  const end = performance.now() + 120_000;
  while (performance.now() < end && d.exitCode === null && !/Dropped root privileges/.test(log)) await sleep(200);
  const ids = { uid: statusField(pid, 'Uid'), gid: statusField(pid, 'Gid'), capEff: statusField(pid, 'CapEff')[0] ?? '', capPrm: statusField(pid, 'CapPrm')[0] ?? '' };
  const synced = await settle(server, 0.05, 90_000);
  let afterStep: number | null = null;
  let corrected: number | null = null;
  let stepAt = log.length;
  if (synced !== null && Math.abs(synced) < 0.05) {
    stepAt = log.length;
    const clock = new SystemClock();
    clock.step(0.5);
    clock.close();
    afterStep = await offset(server);
    corrected = await settle(server, 0.05, 90_000);
  }
  d.kill('SIGTERM');
  const exitCode = await exited;
  console.log(`RESULT ${JSON.stringify({ ...ids, synced, afterStep, logAfterStep: log.slice(stepAt), corrected, exitCode, log } satisfies UserResult)}`);
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((e: unknown) => {
    console.error(`uml-guest-user: ${(e as Error).stack ?? String(e)}`);
    process.exitCode = 1;
  });
}
