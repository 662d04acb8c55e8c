/**
 * Runs ntpdig (Debian's ntpsec-ntpdate, NTPsec 1.2.2) once against a server
 * and parses what it measured.
 *
 * ntpdig always queries port 123. It is run with `-d -j`:
 * - `-d` prints the chosen reply's four timestamps as hex NTP timestamps
 *   ("org t1: eeae8fd3.33f91800 rec t2: ..."), from which the delay is
 *   computed exactly (ntpdig itself never prints the delay);
 * - `-j` prints one JSON object. Its "precision" key is really the
 *   synchronization distance (ntpdig's synchd(): |delta/2 + epsilon|), and is
 *   reported here as `synchDistance`.
 * On failure ntpdig exits 1 and explains on stderr ("Response dropped: ...",
 * "no eligible servers").
 */
import { runToCompletion } from './process.js';
import { toolPath } from './tools.js';

export interface NtpdigOptions {
  /** Host name or address; ntpdig uses port 123. */
  readonly server: string;
  /** ntpdig's own per-request timeout, whole seconds (-t, default 2). */
  readonly timeoutSeconds?: number;
  /** Samples to take (-p); ntpdig reports the best one. */
  readonly samples?: number;
  /** Gap between samples in ms (-g). */
  readonly gapMs?: number;
  /** Authenticate with this key id (-a) from `keyfile` (-k, NTPsec format: "1 SHA1 <hex>"). */
  readonly keyId?: number;
  readonly keyfile?: string;
  readonly family?: 4 | 6;
  readonly extraArgs?: readonly string[];
  /** Hard limit: ntpdig is SIGKILLed after this (default: its own timeouts + 5 s). */
  readonly killAfterMs?: number;
}

/** The four timestamps of the reply ntpdig used, raw 64-bit NTP values. */
export interface NtpdigTimestamps {
  readonly t1: bigint;
  readonly t2: bigint;
  readonly t3: bigint;
  readonly t4: bigint;
}

export interface NtpdigResult {
  /** Exit status 0 and a parsed report. */
  readonly ok: boolean;
  readonly exitCode: number | null;
  readonly timedOut: boolean;
  readonly command: string;
  readonly stdout: string;
  readonly stderr: string;
  /** Seconds, as ntpdig reports it (theta). */
  readonly offset?: number;
  /** Round-trip delay in seconds, (T4 - T1) - (T3 - T2), exact from the hex timestamps. */
  readonly delay?: number;
  /** ntpdig's synchronization distance (its JSON calls it "precision"). */
  readonly synchDistance?: number;
  readonly stratum?: number;
  /** "no-leap", "add-leap", "del-leap" or "unsync". */
  readonly leap?: string;
  /** The server's transmit time as ntpdig prints it. */
  readonly time?: string;
  readonly ip?: string;
  readonly timestamps?: NtpdigTimestamps;
  /** Reasons ntpdig gave for discarding replies ("stratum 0, probable KOD packet", ...). */
  readonly dropped: readonly string[];
}

const HEX_TS = /^org t1: ([0-9a-f]{8})\.([0-9a-f]{8}) rec t2: ([0-9a-f]{8})\.([0-9a-f]{8})\s*\nxmt t3: ([0-9a-f]{8})\.([0-9a-f]{8}) dst t4: ([0-9a-f]{8})\.([0-9a-f]{8})/m;

/** Parses ntpdig's `-d -j` stdout and stderr; exported for tests. */
export function parseNtpdigOutput(stdout: string, stderr: string): Omit<NtpdigResult, 'ok' | 'exitCode' | 'timedOut' | 'command' | 'stdout' | 'stderr'> {
  const dropped = [...stderr.matchAll(/Response dropped: (.*)$/gm)].map((m) => (m[1] as string).trim());
  const out: { -readonly [K in keyof NtpdigResult]?: NtpdigResult[K] } = { dropped };
  const m = HEX_TS.exec(stdout);
  if (m) {
    const ts = (i: number): bigint => (BigInt(`0x${m[i] as string}`) << 32n) | BigInt(`0x${m[i + 1] as string}`);
    const t = { t1: ts(1), t2: ts(3), t3: ts(5), t4: ts(7) };
    out.timestamps = t;
    // Differences of 64-bit timestamps as signed 64-bit (RFC 5905 §6: valid across an era boundary).
    const d = (a: bigint, b: bigint): bigint => BigInt.asIntN(64, a - b);
    out.delay = Number(d(t.t4, t.t1) - d(t.t3, t.t2)) / 2 ** 32;
  }
  const jsonLine = stdout.split('\n').find((l) => l.startsWith('{'));
  if (jsonLine) {
    try {
      const j = JSON.parse(jsonLine) as Record<string, unknown>;
      if (typeof j.offset === 'number') out.offset = j.offset;
      if (typeof j.precision === 'number') out.synchDistance = j.precision;
      if (typeof j.stratum === 'number') out.stratum = j.stratum;
      if (typeof j.leap === 'string') out.leap = j.leap;
      if (typeof j.time === 'string') out.time = j.time;
      if (typeof j.ip === 'string') out.ip = j.ip;
    } catch {
      // not JSON after all: leave the fields unset, ok will be false
    }
  }
  return out as ReturnType<typeof parseNtpdigOutput>;
}

/** Runs ntpdig once; never rejects for ntpdig's own failures (see `ok`), only when it cannot be started. */
export async function runNtpdig(opts: NtpdigOptions): Promise<NtpdigResult> {
  const ntpdig = toolPath('ntpdig');
  const timeout = opts.timeoutSeconds ?? 2;
  const samples = opts.samples ?? 1;
  const args = [
    '-d', '-j', '-t', String(timeout),
    ...(samples > 1 ? ['-p', String(samples)] : []),
    ...(opts.gapMs !== undefined ? ['-g', String(opts.gapMs)] : []),
    ...(opts.keyfile !== undefined ? ['-k', opts.keyfile] : []),
    ...(opts.keyId !== undefined ? ['-a', String(opts.keyId)] : []),
    ...(opts.family === 4 ? ['-4'] : opts.family === 6 ? ['-6'] : []),
    ...(opts.extraArgs ?? []),
    opts.server,
  ];
  const killAfterMs = opts.killAfterMs ?? (timeout * samples + 5) * 1000;
  const r = await runToCompletion(ntpdig, args, { timeoutMs: killAfterMs, env: { LC_ALL: 'C' } });
  const parsed = parseNtpdigOutput(r.stdout, r.stderr);
  return {
    ...parsed,
    ok: r.status.code === 0 && parsed.offset !== undefined,
    exitCode: r.status.code,
    timedOut: r.timedOut,
    command: ['ntpdig', ...args].join(' '),
    stdout: r.stdout,
    stderr: r.stderr,
  };
}
