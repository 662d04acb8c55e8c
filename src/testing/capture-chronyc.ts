/**
 * Captures the report output of real chronyc 4.3 (tracking, sources,
 * sourcestats, with and without -v, and their -c CSV twins) from a chronyd -x
 * client of chronyd servers on loopback, into src/cli/fixtures/. The
 * formatter tests feed our formatters a snapshot parsed from the CSV capture
 * and compare with the text capture byte for byte.
 *
 *     npx tsc -p tsconfig.json --outDir dist-harness
 *     node dist-harness/testing/capture-chronyc.js [--out DIR] [--wait SECONDS]
 *
 * Setup: three `local stratum 1|1|2` servers, one more under libfaketime
 * (+2.5 s: a falseticker), one polled with `noselect`, and one address where
 * nothing listens (an unreachable source), all polled with `iburst minpoll 0
 * maxpoll 2`. Once the client has selected a source and run a while, each
 * report is read three times in quick succession: CSV, text, CSV. A round is
 * kept only when both CSV reads agree, so the text shows the CSV's state;
 * see stableCsv() for the two tracking fields that always move.
 *
 * Every chronyd runs with -x (never touches the clock) and is stopped by PID.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ChronydProcess, startChronydClient, startChronydServer } from './chronyd.js';
import { reserveLoopbackBlock } from './loopback.js';
import { runIfMain } from './process.js';
import { missingTools, toolPath } from './tools.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The reports captured, as chronyc arguments after `-h SOCK -n`. */
export const REPORTS: Readonly<Record<string, readonly string[]>> = {
  tracking: ['tracking'],
  sources: ['sources'],
  'sources-v': ['sources', '-v'],
  sourcestats: ['sourcestats'],
  'sourcestats-v': ['sourcestats', '-v'],
};

function chronyc(sock: string, args: readonly string[], csv = false): string {
  return execFileSync(toolPath('chronyc'), ['-h', sock, '-n', ...(csv ? ['-c'] : []), ...args], { encoding: 'utf8', timeout: 5000 });
}

/** Tracking CSV fields that move with the wall clock: System time (current correction) and Root dispersion. */
const MOVING_TRACKING_FIELDS = [4, 11] as const;

/**
 * The CSV to keep when `before` and `after` describe the state the text `t`
 * shows, else null. For tracking, System time and Root dispersion grow
 * between any two calls; the text prints them at the CSV's precision (9
 * decimals), so they are taken from the text (the sign of System time from
 * the CSV, as the text says it in words), after checking they lie between
 * the two CSV reads.
 */
function stableCsv(report: string, before: string, after: string, t: string, moving?: string[]): string | null {
  if (report === 'sourcestats' && moving) return stableSourcestats(before, after, moving);
  if (report !== 'tracking') return before === after ? before : null;
  const b = before.trim().split(',');
  const a = after.trim().split(',');
  if (b.length !== a.length || b.some((f, i) => f !== a[i] && !(MOVING_TRACKING_FIELDS as readonly number[]).includes(i))) return null;
  const sys = /^System time\s*: (\d+\.\d{9}) seconds (fast|slow) of NTP time$/m.exec(t);
  const disp = /^Root dispersion : (\d+\.\d{9}) seconds$/m.exec(t);
  if (!sys?.[1] || !disp?.[1]) throw new Error(`unexpected tracking text:\n${t}`);
  const between = (x: number, p: number, q: number): boolean => x >= Math.min(p, q) - 1e-9 && x <= Math.max(p, q) + 1e-9;
  const [b4, a4, b11, a11] = [Number(b[4]), Number(a[4]), Number(b[11]), Number(a[11])];
  if (Math.sign(b4) !== Math.sign(a4)) return null;
  const sysText = (b4 < 0 ? '-' : '') + sys[1];
  if (!between(Number(sysText), b4, a4) || !between(Number(disp[1]), b11, a11)) return null;
  b[4] = sysText;
  b[11] = disp[1];
  return `${b.join(',')}\n`;
}

export interface ChronycCapture {
  /** Report name ("tracking", "sources-v"...) -> chronyc's text. */
  readonly text: Readonly<Record<string, string>>;
  /** Report name -> the CSV holding the values the text shows (see stableCsv). */
  readonly csv: Readonly<Record<string, string>>;
  /** How many rounds each report took. */
  readonly notes: readonly string[];
  /** The client's chrony.conf, its temp dir shown as {dir}. */
  readonly clientConfig: string;
  /** Lenient mode: report name -> sources whose sourcestats Offset moved between the two CSV reads. */
  readonly moving: Readonly<Record<string, readonly string[]>>;
}

export interface CaptureOptions {
  /** Seconds to let the client run after it first selects a source (default 20). */
  readonly waitSeconds?: number;
  /** Add the libfaketime falseticker (default true). */
  readonly falseticker?: boolean;
  /** Keep sourcestats rounds whose Offset column moved between the reads (see stableSourcestats). Default false. */
  readonly lenient?: boolean;
}

/** Runs the setup described above and reads every report in REPORTS. Stops every chronyd it started. */
export async function captureChronyc(opts: CaptureOptions = {}): Promise<ChronycCapture> {
  const falseticker = opts.falseticker ?? true;
  const block = await reserveLoopbackBlock('capture-chronyc', 6);
  const procs: ChronydProcess[] = [];
  try {
    const [a, b, c, liar, dead, aside] = block.addresses as [string, string, string, string, string, string];
    procs.push(await startChronydServer({ address: a, stratum: 1 }));
    procs.push(await startChronydServer({ address: b, stratum: 1 }));
    procs.push(await startChronydServer({ address: c, stratum: 2 }));
    if (falseticker) procs.push(await startChronydServer({ address: liar, stratum: 1, fakeOffsetSeconds: 2.5 }));
    procs.push(await startChronydServer({ address: aside, stratum: 1 }));
    const opt = 'iburst minpoll 0 maxpoll 2';
    const client = await startChronydClient({
      servers: [
        ...[a, b, c, ...(falseticker ? [liar] : []), dead].map((address) => ({ address, options: opt })),
        { address: aside, options: `${opt} noselect` },
      ],
      extraConfig: ['bindcmdaddress {dir}/chronyd.sock'],
    });
    procs.push(client);
    const sock = join(client.dir, 'chronyd.sock');

    const deadline = Date.now() + 30_000;
    for (;;) {
      await sleep(250);
      let out = '';
      try {
        out = chronyc(sock, ['sources'], true);
      } catch {
        /* not up yet */
      }
      if (out.split('\n').some((l) => l.startsWith('^,*'))) break;
      if (Date.now() > deadline) throw new Error(`client never selected a source:\n${out}\n${client.logs()}`);
    }
    await sleep((opts.waitSeconds ?? 20) * 1000);
    const csv: Record<string, string> = {};
    const text: Record<string, string> = {};
    const notes: string[] = [];
    const moving: Record<string, string[]> = {};
    for (const [name, args] of Object.entries(REPORTS)) {
      const csvName = name.replace(/-v$/, '');
      let kept = false;
      for (let round = 1; round <= 200 && !kept; round++) {
        // Three reads in quick succession: CSV, text, CSV. The text shows the
        // CSV's state when both CSV reads agree.
        const before = chronyc(sock, args, true);
        const t = chronyc(sock, args);
        const after = chronyc(sock, args, true);
        const moved: string[] = [];
        const fixed = stableCsv(csvName, before, after, t, opts.lenient ? moved : undefined);
        if (fixed === null) {
          await sleep(37);
          continue;
        }
        kept = true;
        text[name] = t;
        csv[name] = fixed;
        moving[name] = moved;
        notes.push(`${name}: kept round ${round}`);
      }
      if (!kept) throw new Error(`${name}: the state never held still across 200 rounds`);
    }
    return { text, csv, notes, moving, clientConfig: client.configText.replaceAll(client.dir, '{dir}') };
  } finally {
    for (const p of procs.reverse()) await p.stop();
    block.release();
  }
}

/**
 * sourcestats' Offset is extrapolated to the time of the call, so early in a
 * run (frequency estimates of a few ppm) it moves by nanoseconds between any
 * two calls. Lenient mode keeps a round whose reads differ only there, and
 * names the rows whose Offset moved (`moving`), for the caller to compare
 * without that column.
 */
function stableSourcestats(before: string, after: string, moving: string[]): string | null {
  const b = before.trim().split('\n').map((l) => l.split(','));
  const a = after.trim().split('\n').map((l) => l.split(','));
  if (a.length !== b.length) return null;
  const moved: string[] = [];
  for (let i = 0; i < b.length; i++) {
    const [rb, ra] = [b[i] as string[], a[i] as string[]];
    if (rb.length !== ra.length || rb.some((f, j) => j !== 6 && f !== ra[j])) return null;
    if (rb[6] !== ra[6]) moved.push(rb[0] as string);
  }
  moving.push(...moved);
  return before;
}

async function main(argv: readonly string[]): Promise<number> {
  const outIdx = argv.indexOf('--out');
  const outDir = outIdx >= 0 ? (argv[outIdx + 1] as string) : join(fileURLToPath(new URL('.', import.meta.url)), '../../src/cli/fixtures');
  const waitIdx = argv.indexOf('--wait');
  const waitSeconds = waitIdx >= 0 ? Number(argv[waitIdx + 1]) : 20;
  const missing = missingTools('chronyd', 'chronyc', 'libfaketime');
  if (missing.length) {
    process.stderr.write(`missing tools: ${missing.join(', ')}\n`);
    return 1;
  }
  const cap = await captureChronyc({ waitSeconds });
  mkdirSync(outDir, { recursive: true });
  for (const [name, t] of Object.entries(cap.text)) writeFileSync(join(outDir, `chronyc-${name}.txt`), t);
  for (const [name, t] of Object.entries(cap.csv)) writeFileSync(join(outDir, `chronyc-${name}.csv`), t);
  const setup = [
    `Captured ${new Date().toISOString()} by src/testing/capture-chronyc.ts (--wait ${waitSeconds}).`,
    `chronyc: ${execFileSync(toolPath('chronyc'), ['-v'], { encoding: 'utf8' }).trim()}`,
    'Each chronyc-X.txt was read between two chronyc -c reads that agreed; chronyc-X.csv is that CSV',
    '(for X-v, the CSV of the same report without -v: the values the -v text shows).',
    'Tracking fields 5 (System time) and 12 (Root dispersion) move with the wall clock between two',
    'calls, so the CSV holds the values of the text capture there (printed at the same 9 decimals).',
    ...cap.notes,
    '',
    'Servers: chronyd -x, local stratum 1, 1, 2; one more under libfaketime +2.5 s; one address with',
    'nothing listening; one noselect. Client config:',
    cap.clientConfig,
  ].join('\n');
  writeFileSync(join(outDir, 'chronyc-capture-setup.txt'), `${setup}\n`);
  process.stdout.write(`wrote ${relative(process.cwd(), outDir)}/chronyc-*.{txt,csv}\n`);
  for (const t of Object.values(cap.text)) process.stdout.write(t);
  return 0;
}

runIfMain(import.meta.url, main);
