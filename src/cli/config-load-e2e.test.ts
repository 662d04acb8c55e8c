/**
 * How the daemon loads a config, through the real processes (`ntpkit
 * validate`, `ntpkit daemon`, `ntpkit reload`), run as an unprivileged user
 * (nobody, when the tests run as root) so that a mode-000 file is
 * unreadable to them. Servers bind only 127.0.16.10 and 127.0.16.11, ports
 * picked free.
 *
 * - validate and the daemon agree: for each config of the table, validate
 *   passes exactly when the daemon starts; when the daemon refuses, it
 *   prints the same errors validate prints (each once, `file:line:
 *   message`), and the warnings validate prints are the daemon's too.
 * - A reload that cannot load part of the new config changes nothing: with
 *   the NTS server key unreadable, then with a bad certificate, the reload
 *   fails with the reason (a non-zero exit), NTS-KE still completes key
 *   exchanges with the old certificate, and the snapshot still shows the
 *   old sources. A good reload then serves a new certificate without
 *   closing the port.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ConfigDiagnostic, formatDiagnostic } from '../config/diagnostics.js';
import { fetchSnapshot } from '../control/commands.js';
import { ntsKeyExchange } from '../net/nts-ke-client.js';
import { freeTcpPort, makeTestPki, type TestPki } from '../testing/nts-pki.js';
import { runToCompletion, spawnManaged, unprivileged, writeUnprivileged as put } from '../testing/process.js';
import { interopSkip } from '../testing/tools.js';

const BIN = fileURLToPath(new URL('../../bin/ntpkit.js', import.meta.url));
/** Where the agreement table's NTS-KE servers listen, and the reload test's. */
const SERVE_AT = '127.0.16.10';
const RELOAD_AT = '127.0.16.11';
const THREE = 'server 127.0.16.1 port 12301\nserver 127.0.16.2 port 12301\nserver 127.0.16.3 port 12301\n';
const SHA1 = '1 SHA1 HEX:0123456789ABCDEF0123456789ABCDEF01234567\n';

let root: string;
/** Two unrelated CAs, each with a server certificate for both addresses. */
let a: TestPki;
let b: TestPki;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'ntpkit-config-load-'));
  await chmod(root, 0o755);
  const san = `IP:${SERVE_AT},IP:${RELOAD_AT}`;
  [a, b] = await Promise.all([makeTestPki({ san }), makeTestPki({ san })]);
});
after(async () => {
  await a?.remove();
  await b?.remove();
  if (root !== undefined) await rm(root, { recursive: true, force: true });
});

/** A directory under the test's own that the programs' user may write to. */
async function userDir(name: string): Promise<string> {
  const d = join(root, name);
  await mkdir(d);
  await chmod(d, 0o777);
  return d;
}

interface Row {
  readonly name: string;
  /** The config's lines, given the row's own directory (writable by the daemon's user). */
  readonly config: (dir: string) => Promise<string>;
  readonly starts: boolean;
  /** A part of the reason (or warning) that must be among validate's and the daemon's. */
  readonly says: RegExp;
}

/** NTS-KE on SERVE_AT with this certificate and key (copied so the daemon's user may read them). */
async function nts(dir: string, cert: string, key: string, keyMode = 0o644): Promise<string> {
  const port = await freeTcpPort(SERVE_AT);
  return `bindaddress ${SERVE_AT}\nntsport ${port}\nntsservercert ${await put(join(dir, 'server.crt'), cert)}\nntsserverkey ${await put(join(dir, 'server.key'), key, keyMode)}\n`;
}

const ROWS: readonly Row[] = [
  { name: 'missing keyfile', starts: false, says: /: Cannot read the key file: ENOENT \(no such file or directory\)$/, config: async (d) => `${THREE}keyfile ${d}/missing.keys\n` },
  { name: 'keyfile readable by everyone', starts: false, says: /readable by everyone \(mode 0644\)/, config: async (d) => `${THREE}keyfile ${await put(join(d, 'keys'), SHA1, 0o644)}\n` },
  { name: 'unreadable keyfile', starts: false, says: /: Cannot read the key file: EACCES \(permission denied\)$/, config: async (d) => `${THREE}keyfile ${await put(join(d, 'keys'), SHA1, 0o000)}\n` },
  { name: 'good keyfile', starts: true, says: /^$/, config: async (d) => `${THREE}keyfile ${await put(join(d, 'keys'), SHA1, 0o600)}\n` },
  { name: 'bad certificate', starts: false, says: /ntsservercert \S+: not a PEM certificate/, config: async (d) => `${THREE}${await nts(d, 'garbage\n', a.key)}` },
  { name: 'unreadable NTS key', starts: false, says: /ntsserverkey \S+: cannot read: EACCES \(permission denied\)$/, config: async (d) => `${THREE}${await nts(d, a.cert, a.key, 0o000)}` },
  { name: 'certificate and key of different pairs', starts: false, says: /ntsserverkey \S+: not the key of the certificate in /, config: async (d) => `${THREE}${await nts(d, a.cert, b.key)}` },
  { name: 'missing ntsdumpdir (the daemon creates it)', starts: true, says: /^$/, config: async (d) => `${THREE}${await nts(d, a.cert, a.key)}ntsdumpdir ${d}/nts/keys\n` },
  {
    name: 'ntsdumpdir that cannot be created', starts: true, says: /ntsdumpdir \S+: \S+ is not a directory: the NTS cookie keys will not be saved/,
    config: async (d) => `${THREE}${await nts(d, a.cert, a.key)}ntsdumpdir ${await put(join(d, 'a-file'), '')}/nts\n`,
  },
  { name: 'missing ntstrustedcerts', starts: false, says: /ntstrustedcerts \S+: cannot read: ENOENT/, config: async (d) => `${THREE}ntstrustedcerts ${d}/ca.pem\n` },
  { name: 'bindaddress not on this machine', starts: false, says: /bindaddress 198\.51\.100\.7: not an address of this machine/, config: async () => `${THREE}allow 127.0.0.0/8\nport 12302\nbindaddress 198.51.100.7\n` },
  { name: 'include of a directory', starts: false, says: /include: cannot read \S+: a directory, not a regular file/, config: async (d) => `${THREE}include ${d}\n` },
  { name: 'no sources', starts: true, says: /: no time sources \(server, pool or peer\)/, config: async () => '' },
  { name: 'a single source', starts: true, says: /server 127\.0\.16\.1 is the only time source: no fault tolerance/, config: async () => 'server 127.0.16.1 port 12301\n' },
  { name: 'driftfile in a missing directory', starts: true, says: /driftfile \S+: directory \S+: ENOENT \(no such file or directory\): the frequency will not be saved/, config: async (d) => `${THREE}driftfile ${d}/none/drift\n` },
];

interface Verdict { valid: boolean; errors: string[]; warnings: string[] }

async function validate(conf: string): Promise<Verdict> {
  const [file, args] = unprivileged(process.execPath, [BIN, 'validate', '--json', '-f', conf]);
  const r = await runToCompletion(file, args, { timeoutMs: 60_000 });
  const doc = JSON.parse(r.stdout) as { valid: boolean; errors: ConfigDiagnostic[]; warnings: ConfigDiagnostic[] };
  assert.equal(r.status.code, doc.valid ? 0 : 1, r.stderr);
  return { valid: doc.valid, errors: doc.errors.map(formatDiagnostic), warnings: doc.warnings.map(formatDiagnostic) };
}

/** Runs the daemon until it refuses (exits) or has started (then stops it). */
async function daemon(conf: string): Promise<{ started: boolean; code: number | null; errors: string[]; warnings: string[]; logs: string }> {
  const [file, args] = unprivileged(process.execPath, [BIN, 'daemon', '-f', conf, '--clock', 'virtual']);
  const p = await spawnManaged(file, args);
  try {
    const end = Date.now() + 30_000;
    while (p.exitStatus() === undefined && !/Started with \d+ source/.test(p.logs())) {
      if (Date.now() > end) assert.fail(`the daemon neither started nor exited within 30 s\n${p.logs()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const started = p.exitStatus() === undefined;
    const status = started ? await p.stop() : await p.exited;
    const lines = p.logs().split('\n');
    const ours = (prefix: string): string[] => lines.filter((l) => l.startsWith(prefix)).map((l) => l.slice(prefix.length));
    return {
      started,
      code: status.code,
      errors: ours('ntpkit daemon: ').filter((l) => !l.startsWith('warning: ') && !/^not started: /.test(l)),
      warnings: ours('ntpkit daemon: warning: '),
      logs: p.logs(),
    };
  } finally {
    await p.stop();
  }
}

test('validate passes exactly the configs the daemon starts with, and both give the same reasons', { skip: interopSkip('openssl', 'setpriv'), timeout: 300_000 }, async () => {
  const sockets = await userDir('sockets');
  for (const [i, row] of ROWS.entries()) {
    const dir = await userDir(`row${i}`);
    const conf = await put(join(dir, 'test.conf'), `controlsocket ${sockets}/row${i}.sock\nbindcmdaddress /\ncmdport 0\n${await row.config(dir)}`);
    const [v, d] = await Promise.all([validate(conf), daemon(conf)]);
    const context = `${row.name}\nvalidate: ${JSON.stringify(v, null, 1)}\ndaemon:\n${d.logs}`;
    assert.equal(v.valid, row.starts, context);
    assert.equal(d.started, row.starts, context);
    if (!row.starts) {
      assert.equal(d.code, 2, `refused as a config with errors (exit 2)\n${context}`);
      assert.deepEqual(d.errors, v.errors, context);
      assert.ok(v.errors.some((e) => row.says.test(e)), context);
      for (const e of d.errors) {
        const code = /\b(E[A-Z]+)\b/.exec(e)?.[1];
        if (code !== undefined) assert.equal(e.split(code).length - 1, 1, `the code ${code} is said once: ${e}`);
      }
    } else {
      assert.deepEqual(v.errors, [], context);
      if (row.says.source !== '^$') assert.ok(v.warnings.some((w) => row.says.test(w)), context);
    }
    assert.deepEqual(d.warnings, v.warnings, context);
  }
});

async function until(what: string, ms: number, ok: () => boolean, diag: () => string): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) assert.fail(`${what} within ${ms / 1000} s\n${diag()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('reload with an unreadable NTS key or a bad certificate fails with the reason and keeps NTS-KE and the old config; a good one swaps the certificate', { skip: interopSkip('openssl', 'setpriv'), timeout: 120_000 }, async (t) => {
  const port = await freeTcpPort(RELOAD_AT);
  const dir = await userDir('reload');
  const socket = join(dir, 'ntpkit.sock');
  const conf = join(dir, 'ntpkit.conf');
  const cert = join(dir, 'server.crt');
  const key = join(dir, 'server.key');
  await put(cert, a.cert);
  await put(key, a.key);
  const sources = (n: number): string => Array.from({ length: n }, (_, i) => `server 127.0.16.${i + 1} port 12301\n`).join('');
  const base = `bindaddress ${RELOAD_AT}\nntsport ${port}\nntsservercert ${cert}\nntsserverkey ${key}\ncontrolsocket ${socket}\nbindcmdaddress /\ncmdport 0\n`;
  await put(conf, base + sources(3));
  const [file, args] = unprivileged(process.execPath, [BIN, 'daemon', '-f', conf, '--clock', 'virtual']);
  const daemon = await spawnManaged(file, args);
  t.after(() => daemon.stop());
  await until('the daemon serving NTS-KE', 30_000, () => /Serving NTS-KE on/.test(daemon.logs()) && /Control socket at/.test(daemon.logs()), () => daemon.logs());

  const exchange = (ca: string): Promise<unknown> => ntsKeyExchange({ host: RELOAD_AT, port, trustedCerts: [ca], noSystemCerts: true, timeoutMs: 10_000 });
  const reload = async (): Promise<{ code: number | null; err: string }> => {
    const r = await runToCompletion(process.execPath, [BIN, 'reload', '--socket', socket, '--timeout', '30'], { timeoutMs: 60_000 });
    return { code: r.status.code, err: r.stderr };
  };
  const sourceCount = async (): Promise<number> => (await fetchSnapshot(socket, { timeoutMs: 5000 })).sources.length;
  await exchange(a.caCertPath);
  assert.equal(await sourceCount(), 3);

  // The key becomes unreadable, and the config gains a source.
  await put(conf, base + sources(4));
  await chmod(key, 0o000);
  let r = await reload();
  assert.equal(r.code, 1, r.err);
  assert.match(r.err, new RegExp(`ntsserverkey ${key}: cannot read: EACCES \\(permission denied\\); the running configuration stays in force`));
  await exchange(a.caCertPath);
  assert.equal(await sourceCount(), 3, 'the old config stays whole');

  // Readable again, but the certificate is not one.
  await chmod(key, 0o644);
  await put(cert, '-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n');
  r = await reload();
  assert.equal(r.code, 1, r.err);
  assert.match(r.err, new RegExp(`ntsservercert ${cert}: not a PEM certificate`));
  await exchange(a.caCertPath);
  assert.equal(await sourceCount(), 3, 'the old config stays whole');
  assert.match(daemon.logs(), /the running configuration stays in force/);

  // A renewed certificate (another CA's, to tell them apart): served from now on, the port never closed.
  await put(cert, b.cert);
  await put(key, b.key);
  r = await reload();
  assert.equal(r.code, 0, r.err);
  await exchange(b.caCertPath);
  await assert.rejects(exchange(a.caCertPath), /certificate/i);
  assert.equal(await sourceCount(), 4);
  assert.doesNotMatch(daemon.logs(), /Serving NTS-KE on[^\n]*\n[\s\S]*Serving NTS-KE on/, 'NTS-KE was not restarted');
});
