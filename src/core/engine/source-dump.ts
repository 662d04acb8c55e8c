/**
 * chronyd's dump file of one source (sources.c save_source/load_source and
 * sourcestats.c SST_SaveToFile/SST_LoadFromFile, chrony 4.3), so chronyd's
 * dumps load here and ours in chronyd:
 *
 * ```
 * SRC0
 * <configured name>
 * <authenticated 0|1> <reach, octal> <reach size> <stratum> <leap>
 * <samples> <asymmetry run>
 * <time> <offset> <orig offset> <delay> <dispersion> <root delay> <root dispersion>   (one per sample, oldest first)
 * ```
 *
 * Times are Unix seconds with nine decimals on the dumping clock; offsets are
 * chronyd's sense, local clock − source, with `offset` re-based onto the
 * clock as it was at the dump and `orig offset` as measured. The file is
 * named after the source's address (`<address>.dat`), a reference clock's
 * after its refid (`refid:<8 hex digits>.dat`, its name line `.`).
 */
import { instantFromUnixNanos, instantToUnixNanos, type Instant } from '../../time/instant.js';

const IDENTIFIER = 'SRC0';
/** chronyd's MAX_SAMPLES: a dump with more is refused. */
export const DUMP_MAX_SAMPLES = 64;
/** chronyd clamps the asymmetry run to this (sourcestats.c MAX_ASYMMETRY_RUN). */
const MAX_ASYMMETRY_RUN = 1000;
/** chronyd refuses delays and dispersions this large (SST_LoadFromFile). */
const MAX_DELAY = 1e6;

export interface DumpSample {
  /** On the clock the dump was made with. */
  readonly time: Instant;
  /** Local clock − source at `time`, on that clock, seconds. */
  readonly offset: number;
  /** Local clock − source as measured, seconds. */
  readonly origOffset: number;
  readonly peerDelay: number;
  readonly peerDispersion: number;
  readonly rootDelay: number;
  readonly rootDispersion: number;
}

export interface SourceDump {
  /** The source's configured name (a pool's name for its members). */
  readonly name: string;
  readonly authenticated: boolean;
  /** The reach register, 8 bits. */
  readonly reach: number;
  /** How many polls the register has seen, 0 to 8. */
  readonly reachSize: number;
  readonly stratum: number;
  /** 0 normal, 1 insert, 2 delete. */
  readonly leap: number;
  /** chronyd's asymmetry run (in its sense of the offsets). */
  readonly asymmetryRun: number;
  readonly samples: readonly DumpSample[];
}

/** The file an NTP source's dump goes in, or null for an address chronyd would not name a file after. */
export function dumpFileName(address: string): string | null {
  return /^[0-9a-fA-F.:]+$/.test(address) && address.length < 60 ? `${address}.dat` : null;
}

/** A reference clock's: chronyd names it after the refid, in hex. */
export function refclockDumpFileName(refid: number): string {
  return `refid:${(refid >>> 0).toString(16).padStart(8, '0')}.dat`;
}

/** What a reference clock's dump gives as its name (chronyd has none to check). */
export const REFCLOCK_DUMP_NAME = '.';

/** Whether a file name in a dump directory is a source dump (chronyd removes these at start). */
export function isDumpFileName(name: string): boolean {
  return /^([0-9a-fA-F.:]+|refid:[0-9a-f]{8})\.dat$/.test(name);
}

/** `%.6e`, as C prints it (two exponent digits at least). */
function exp6(x: number): string {
  const [m, e] = x.toExponential(6).split('e') as [string, string];
  const sign = e.startsWith('-') ? '-' : '+';
  const digits = e.replace(/^[-+]/, '');
  return `${m}e${sign}${digits.padStart(2, '0')}`;
}

/** `%ld.%09lu` of the Unix time, as chronyd's UTI_TimespecToString. */
function timeText(t: Instant): string {
  const ns = instantToUnixNanos(t);
  const sec = ns >= 0n ? ns / 1_000_000_000n : -((-ns + 999_999_999n) / 1_000_000_000n);
  const frac = ns - sec * 1_000_000_000n;
  return `${sec}.${frac.toString().padStart(9, '0')}`;
}

export function formatSourceDump(d: SourceDump): string {
  const samples = d.samples.slice(-DUMP_MAX_SAMPLES);
  const lines = [
    IDENTIFIER,
    d.name,
    `${d.authenticated ? 1 : 0} ${(d.reach & 0xff).toString(8)} ${d.reachSize} ${d.stratum} ${d.leap}`,
    `${samples.length} ${d.asymmetryRun}`,
    ...samples.map((s) => [timeText(s.time), ...[s.offset, s.origOffset, s.peerDelay, s.peerDispersion, s.rootDelay, s.rootDispersion].map(exp6)].join(' ')),
  ];
  return `${lines.join('\n')}\n`;
}

/** A number as C's `%lf` reads it (no trailing junk). */
function cNumber(w: string | undefined): number | null {
  if (w === undefined || !/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(w)) return null;
  const n = Number(w);
  return Number.isFinite(n) ? n : null;
}

/** A Unix time exactly when it is written `%ld.%09lu`, else as the double chronyd reads. */
function parseTime(w: string | undefined): Instant | null {
  if (w === undefined) return null;
  const m = /^(-?\d{1,12})\.(\d{1,9})$/.exec(w);
  if (m !== null) {
    const sec = BigInt(m[1] as string);
    const frac = BigInt((m[2] as string).padEnd(9, '0'));
    return instantFromUnixNanos(sec * 1_000_000_000n + (sec < 0n || (m[1] as string).startsWith('-') ? -frac : frac));
  }
  const n = cNumber(w);
  return n === null ? null : instantFromUnixNanos(BigInt(Math.round(n * 1e6)) * 1000n);
}

function int(w: string | undefined, radix = 10): number | null {
  if (w === undefined || !(radix === 8 ? /^[0-7]+$/ : /^[-+]?\d+$/).test(w)) return null;
  const n = parseInt(w, radix);
  return Number.isSafeInteger(n) ? n : null;
}

/**
 * Reads a dump as chronyd's load_source does, refusing what it refuses: another
 * identifier, an unreadable line, a stratum or leap out of range, no samples or
 * more than 64, a sample later than `now`, out of order, or with a delay or
 * dispersion of 10^6 s or more. Returns why, when it refuses.
 */
export function parseSourceDump(text: string, now: Instant): { ok: true; dump: SourceDump } | { ok: false; reason: string } {
  const lines = text.split('\n');
  const bad = (reason: string): { ok: false; reason: string } => ({ ok: false, reason });
  if (lines[0] !== IDENTIFIER) return bad(`not a chronyd 4.x source dump (first line ${JSON.stringify((lines[0] ?? '').slice(0, 20))}, expected "${IDENTIFIER}")`);
  const name = (lines[1] ?? '').trim().split(/\s+/);
  if (name.length !== 1 || name[0] === '') return bad('line 2: expected the source\'s name');
  const head = (lines[2] ?? '').trim().split(/\s+/);
  const auth = int(head[0]);
  const reach = int(head[1], 8);
  const reachSize = int(head[2]);
  const stratum = int(head[3]);
  const leap = int(head[4]);
  if (head.length < 5 || auth === null || reach === null || reachSize === null || stratum === null || leap === null) return bad('line 3: expected "auth reach reach-size stratum leap"');
  if (stratum < 0 || stratum >= 16) return bad(`line 3: stratum ${stratum} out of range`);
  if (leap < 0 || leap >= 3) return bad(`line 3: leap ${leap} out of range`);
  const counts = (lines[3] ?? '').trim().split(/\s+/);
  const n = int(counts[0]);
  const arun = int(counts[1]);
  if (n === null || arun === null) return bad('line 4: expected "samples asymmetry-run"');
  if (n < 1 || n > DUMP_MAX_SAMPLES) return bad(`line 4: ${n} samples (1 to ${DUMP_MAX_SAMPLES} expected)`);
  const samples: DumpSample[] = [];
  for (let i = 0; i < n; i++) {
    const at = `line ${5 + i}`;
    const w = (lines[4 + i] ?? '').trim().split(/\s+/);
    const time = parseTime(w[0]);
    const v = w.slice(1, 7).map(cNumber);
    if (time === null || v.length < 6 || v.some((x) => x === null)) return bad(`${at}: expected a time and six numbers`);
    const [offset, origOffset, peerDelay, peerDispersion, rootDelay, rootDispersion] = v as number[] as [number, number, number, number, number, number];
    if (time > now) return bad(`${at}: sample from the future`);
    if (samples.length > 0 && time <= (samples[samples.length - 1] as DumpSample).time) return bad(`${at}: samples out of order`);
    if (![peerDelay, peerDispersion, rootDelay, rootDispersion].every((x) => Math.abs(x) < MAX_DELAY)) return bad(`${at}: delay or dispersion out of range`);
    samples.push({ time, offset, origOffset, peerDelay, peerDispersion, rootDelay, rootDispersion });
  }
  return {
    ok: true,
    dump: {
      name: name[0] as string, authenticated: auth !== 0, reach: reach & 0xff, reachSize: Math.min(8, Math.max(0, reachSize)), stratum, leap,
      asymmetryRun: Math.min(MAX_ASYMMETRY_RUN, Math.max(-MAX_ASYMMETRY_RUN, arun)), samples,
    },
  };
}
