/**
 * selectdata against chronyc 4.3 live: chronyd -x polling two chronyd
 * servers, a noselect one and an address where nothing listens. chronyc -c
 * selectdata's values, fed to our formatter, must print chronyc's text
 * (plain and -v) byte for byte, and our CSV must print chronyc's CSV; then
 * ntpkit's daemon in the same situation gives the same letters and the same
 * shape of CSV.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fetchSnapshot } from '../control/commands.js';
import type { SelectDataReport, SelectOptions } from '../core/engine/engine-api.js';
import { type ChronydProcess, pollFor, requireTool, spawnNtpkit, startChronydClient, startChronydServer, toolPath } from '../testing/index.js';
import { runCaptured } from './run-captured.test-helper.js';
import { formatSelectdata, formatSelectdataCsv } from './selectdata-format.js';

const [A, B, ASIDE, SILENT] = ['127.0.34.12', '127.0.34.13', '127.0.34.14', '127.0.34.19'];
const OPT = 'iburst minpoll 4 maxpoll 4';

function chronyc(sock: string, ...args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(toolPath('chronyc'), ['-h', sock, '-n', ...args], { timeout: 10_000 }, (e, out) => (e ? reject(e) : resolve(out)));
  });
}

const LEAP: Readonly<Record<string, SelectDataReport['leap']>> = { Normal: 'normal', 'Insert second': 'insert', 'Delete second': 'delete', 'Not synchronised': 'unsynchronized' };

function options(f: readonly string[]): SelectOptions {
  return { noselect: f[0] === 'N', prefer: f[1] === 'P', trust: f[2] === 'T', require: f[3] === 'R' };
}

/** A CSV number, keeping the sign of a negative value printed as zero. */
const num = (s: string | undefined): number => (s?.startsWith('-') && Number(s) === 0 ? -Number.MIN_VALUE : Number(s));

function selectdataFromCsv(csv: string): SelectDataReport[] {
  return csv.split('\n').filter(Boolean).map((line, i) => {
    const f = line.split(',');
    return {
      sourceId: i + 1, name: f[1] as string, address: f[1] as string, referenceId: null, state: f[0] as string, authenticated: f[2] === 'Y',
      configuredOptions: options(f.slice(3, 8)), effectiveOptions: options(f.slice(8, 13)),
      lastSampleAgo: num(f[13]), score: num(f[14]), loLimit: num(f[15]), hiLimit: num(f[16]), leap: LEAP[f[17] as string] ?? assert.fail(line),
    };
  });
}

test('selectdata [-v] and selectdata -c: byte for byte chronyc on a live chronyd; ntpkit\'s daemon gives the same letters', { timeout: 120_000 }, async (t) => {
  if (!requireTool(t, 'chronyd', 'chronyc')) return;
  const procs: ChronydProcess[] = [];
  const dir = await mkdtemp(join(tmpdir(), 'ntpkit-selectdata-'));
  try {
    for (const address of [A, B, ASIDE]) procs.push(await startChronydServer({ address, stratum: 1 }));
    const servers = [{ address: A, options: OPT }, { address: B, options: OPT }, { address: ASIDE, options: `${OPT} noselect` }, { address: SILENT, options: OPT }];
    const client = await startChronydClient({ servers, extraConfig: ['bindcmdaddress {dir}/chronyd.sock'] });
    procs.push(client);
    const sock = join(client.dir, 'chronyd.sock');
    await pollFor('a selected source', async () => ((await chronyc(sock, '-c', 'selectdata').catch(() => '')).split('\n').some((l) => l.startsWith('*,')) ? true : undefined), 30_000, () => client.logs());
    for (const verbose of [false, true]) {
      const v = verbose ? ['-v'] : [];
      // Read between two CSV reads that agree, so the text shows the CSV's state.
      const [csv, text] = await pollFor('a stable selectdata', async () => {
        const before = await chronyc(sock, '-c', 'selectdata');
        const tx = await chronyc(sock, 'selectdata', ...v);
        return before === (await chronyc(sock, '-c', 'selectdata')) ? [before, tx] as const : undefined;
      }, 30_000);
      const rows = selectdataFromCsv(csv);
      assert.equal(formatSelectdata(rows, { numeric: true, verbose }), text);
      assert.equal(formatSelectdataCsv(rows), csv);
    }

    const socket = join(dir, 'ntpkit.sock');
    const conf = join(dir, 'chrony.conf');
    await writeFile(conf, `${servers.map((s) => `server ${s.address} ${s.options}`).join('\n')}\ncontrolsocket ${socket}\nbindcmdaddress /\ncmdport 0\n`);
    const d = await spawnNtpkit(['daemon', '-f', conf, '--clock', 'virtual']);
    try {
      await pollFor('ntpkit\'s selection', async () => ((await fetchSnapshot(socket).catch(() => null))?.sources.some((s) => s.verdict === 'selected') ? true : undefined), 60_000, () => d.logs());
      // A good source is '*', '+', '-', or, in chronyd with its tighter intervals, at times 'D' or 'T': one class; a falseticker's 'x' and the rest must match.
      const letters = (rows: SelectDataReport[]): string[] => rows.map((x) => `${x.name} ${'*+-DT'.includes(x.state) ? 'ok' : x.state} ${x.configuredOptions.noselect}`);
      // Both daemons judge the same servers; on a loaded machine one may be a poll behind the other (a source briefly 'D' in one), so they must come to the same letters, read side by side.
      let last = '';
      const r = await pollFor('the same selectdata letters in ntpkit and chronyd', async () => {
        const run = await runCaptured(['selectdata', '-c', '--socket', socket]);
        assert.equal(run.code, 0, run.err);
        const now = selectdataFromCsv(await chronyc(sock, '-c', 'selectdata'));
        const [a, b] = [letters(selectdataFromCsv(run.out)), letters(now)];
        last = `ntpkit ${JSON.stringify(a)} chronyd ${JSON.stringify(b)}`;
        return JSON.stringify(a) === JSON.stringify(b) ? { run, now } : undefined;
      }, 60_000, () => last);
      const theirsNow = r.now;
      // The same fields, each with chronyc's precision.
      const shape = (csv: string): string[] => csv.split('\n').map((l) => l.split(',').map((f) => (/^-?\d+\.(\d+)$/.exec(f)?.[1]?.length ?? (/^\d+$/.test(f) ? 'int' : 'text'))).join(','));
      assert.deepEqual(shape(r.run.out), shape(formatSelectdataCsv(theirsNow)));
    } finally {
      await d.stop();
    }
  } finally {
    for (const p of procs.reverse()) await p.stop();
    await rm(dir, { recursive: true, force: true });
  }
});
