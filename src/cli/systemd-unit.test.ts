/**
 * contrib/systemd/ntpkit.service: the security-relevant settings are there,
 * ExecStart is a command line our CLI accepts, and where systemd-analyze
 * exists, `systemd-analyze verify` finds nothing to complain about.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Command } from 'commander';
import { parseConfigText } from '../config/parse-config.js';
import { buildProgram } from './main.js';

const CONTRIB = fileURLToPath(new URL('../../contrib/', import.meta.url));

type Unit = Map<string, Map<string, string[]>>;

/** systemd.syntax(7), as far as this unit needs: sections, `Key=value` (repeatable), comments, no continuation lines. */
function parseUnit(text: string): Unit {
  const unit: Unit = new Map();
  let section: Map<string, string[]> | undefined;
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) return;
    assert.ok(!line.endsWith('\\'), `line ${i + 1}: no continuation lines expected`);
    const head = /^\[(.+)\]$/.exec(line);
    if (head) {
      section = new Map();
      unit.set(head[1] as string, section);
      return;
    }
    const eq = line.indexOf('=');
    assert.ok(section !== undefined && eq > 0, `line ${i + 1}: expected Key=value in a section: ${line}`);
    const key = line.slice(0, eq).trim();
    section.set(key, [...(section.get(key) ?? []), line.slice(eq + 1).trim()]);
  });
  return unit;
}

function one(unit: Unit, section: string, key: string): string {
  const v = unit.get(section)?.get(key);
  assert.ok(v !== undefined && v.length === 1, `[${section}] ${key}= should appear once, got ${JSON.stringify(v)}`);
  return v[0] as string;
}

const words = (s: string): string[] => s.split(/\s+/).filter((w) => w !== '');

test('ntpkit.service: unprivileged user, only CAP_SYS_TIME and CAP_NET_BIND_SERVICE, sandboxed', async () => {
  const unit = parseUnit(await readFile(join(CONTRIB, 'systemd/ntpkit.service'), 'utf8'));
  assert.equal(one(unit, 'Service', 'User'), 'ntpkit');
  assert.equal(one(unit, 'Service', 'Group'), 'ntpkit');
  for (const key of ['AmbientCapabilities', 'CapabilityBoundingSet']) {
    assert.deepEqual(words(one(unit, 'Service', key)).sort(), ['CAP_NET_BIND_SERVICE', 'CAP_SYS_TIME'], key);
  }
  for (const key of ['NoNewPrivileges', 'ProtectHome', 'PrivateTmp', 'PrivateDevices', 'ProtectKernelModules', 'ProtectKernelTunables',
    'ProtectKernelLogs', 'ProtectControlGroups', 'RestrictNamespaces', 'LockPersonality', 'RestrictSUIDSGID', 'RestrictRealtime']) {
    assert.equal(one(unit, 'Service', key), 'yes', key);
  }
  assert.equal(one(unit, 'Service', 'ProtectSystem'), 'strict');
  assert.deepEqual(words(one(unit, 'Service', 'RestrictAddressFamilies')).sort(), ['AF_INET', 'AF_INET6', 'AF_NETLINK', 'AF_UNIX']);
  assert.equal(one(unit, 'Service', 'SystemCallArchitectures'), 'native');
  // The filter must leave clock_adjtime (@clock) allowed, and nothing may deny it later.
  const filters = unit.get('Service')?.get('SystemCallFilter') ?? [];
  assert.ok(filters.some((f) => !f.startsWith('~') && words(f).includes('@clock')), filters.join(' | '));
  assert.ok(!filters.some((f) => f.startsWith('~') && words(f.slice(1)).some((g) => g === '@clock' || g === '@privileged' || g === 'clock_adjtime')), filters.join(' | '));
  assert.equal(one(unit, 'Service', 'SystemCallErrorNumber'), 'EPERM');
  // A cap on memory, below MemoryMax a soft limit, both in megabytes (systemd.resource-control(5) suffixes).
  const mib = (key: string): number => {
    const m = /^(\d+)([KMG])$/.exec(one(unit, 'Service', key));
    assert.ok(m !== null, `${key}= should be a size with K, M or G`);
    return Number(m[1]) * { K: 1 / 1024, M: 1, G: 1024 }[m[2] as 'K' | 'M' | 'G'];
  };
  assert.ok(mib('MemoryHigh') < mib('MemoryMax') && mib('MemoryMax') <= 1024, `MemoryHigh ${mib('MemoryHigh')} MiB, MemoryMax ${mib('MemoryMax')} MiB`);
  // Settings that would stop the daemon from doing its job must stay off.
  for (const key of ['ProtectClock', 'MemoryDenyWriteExecute', 'PrivateUsers']) assert.equal(unit.get('Service')?.get(key), undefined, key);
  for (const key of ['RuntimeDirectory', 'StateDirectory', 'LogsDirectory']) assert.equal(one(unit, 'Service', key), 'ntpkit', key);
  assert.equal(one(unit, 'Service', 'ExecReload'), '/bin/kill -HUP $MAINPID');
  assert.equal(one(unit, 'Service', 'Restart'), 'on-failure');
  assert.deepEqual(words(one(unit, 'Unit', 'Conflicts')).sort(),
    ['chrony.service', 'chronyd.service', 'ntp.service', 'ntpsec.service', 'openntpd.service', 'systemd-timesyncd.service']);
  assert.ok(words(one(unit, 'Unit', 'After')).includes('network-online.target'));
  assert.ok(words(one(unit, 'Unit', 'Wants')).includes('network-online.target'));
  assert.equal(one(unit, 'Install', 'WantedBy'), 'multi-user.target');
});

test('ntpkit.service: ExecStart is a daemon command line our CLI accepts, and its config file is the packaged one', async () => {
  const unit = parseUnit(await readFile(join(CONTRIB, 'systemd/ntpkit.service'), 'utf8'));
  const [bin, name, ...args] = words(one(unit, 'Service', 'ExecStart'));
  assert.match(bin ?? '', /^\/.*\/ntpkit$/, 'an absolute path to the ntpkit command');
  const io = { out: () => {}, err: (t: string) => assert.fail(t), setExitCode: () => {} };
  const cmd = (await buildProgram(io)).commands.find((c) => c.name() === name) as Command | undefined;
  assert.ok(cmd, `ntpkit has no command ${name}`);
  cmd.exitOverride();
  // Parses the options as a run would, without running the daemon.
  const parsed = cmd.parseOptions(args);
  assert.deepEqual(parsed, { operands: [], unknown: [] });
  assert.deepEqual({ ...cmd.opts() }, { config: '/etc/ntpkit/ntpkit.conf', clock: 'system' });
  // And the config it names is the one in contrib/, whose paths the unit's directories provide.
  const conf = parseConfigText(await readFile(join(CONTRIB, 'ntpkit.conf'), 'utf8'), '/etc/ntpkit/ntpkit.conf');
  assert.deepEqual(conf.errors, []);
  assert.match(conf.config?.controlsocket ?? '', /^\/run\/ntpkit\//, 'RuntimeDirectory=ntpkit');
  assert.match(conf.config?.driftfile ?? '', /^\/var\/lib\/ntpkit\//, 'StateDirectory=ntpkit');
  assert.equal(conf.config?.logdir, '/var/log/ntpkit', 'LogsDirectory=ntpkit');
});

test('sysusers and tmpfiles entries create the ntpkit user and its directories', async () => {
  const sysusers = (await readFile(join(CONTRIB, 'systemd/ntpkit.sysusers.conf'), 'utf8')).split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#'));
  assert.equal(sysusers.length, 1);
  assert.match(sysusers[0] as string, /^u\s+ntpkit\s+-\s+"[^"]+"\s+\/var\/lib\/ntpkit\s+\/usr\/sbin\/nologin$/);
  const tmpfiles = (await readFile(join(CONTRIB, 'systemd/ntpkit.tmpfiles.conf'), 'utf8')).split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#')).map(words);
  for (const dir of ['/var/lib/ntpkit', '/var/log/ntpkit', '/run/ntpkit']) {
    assert.deepEqual(tmpfiles.find((w) => w[1] === dir), ['d', dir, '0750', 'ntpkit', 'ntpkit', '-'], dir);
  }
});

test('systemd-analyze verify accepts ntpkit.service', async (t) => {
  const analyze = ['/usr/bin/systemd-analyze', '/bin/systemd-analyze'].find((p) => existsSync(p));
  if (analyze === undefined) {
    t.skip('systemd-analyze is not installed');
    return;
  }
  // verify insists that ExecStart's program exists: point it at this tree's bin/ntpkit.js, change nothing else.
  const bin = fileURLToPath(new URL('../../bin/ntpkit.js', import.meta.url));
  const text = (await readFile(join(CONTRIB, 'systemd/ntpkit.service'), 'utf8')).replace(/^ExecStart=\S+ /m, `ExecStart=${bin} `);
  const dir = await mkdtemp(join(tmpdir(), 'ntpkit-unit-'));
  try {
    await writeFile(join(dir, 'ntpkit.service'), text);
    const r = await promisify(execFile)(analyze, ['verify', join(dir, 'ntpkit.service')], { cwd: dir }).then(
      (ok) => ({ code: 0, out: ok.stdout + ok.stderr }),
      (e: { code?: number; stdout?: string; stderr?: string }) => ({ code: e.code ?? -1, out: `${e.stdout ?? ''}${e.stderr ?? ''}` }),
    );
    assert.deepEqual(r, { code: 0, out: '' });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
