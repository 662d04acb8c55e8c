/**
 * Our chrony.conf verdicts beside chronyd's own parser: `chronyd -x -p -f
 * FILE` (4.3) parses a config, prints it and exits, touching nothing. No
 * line chronyd refuses may load here; every line it accepts loads here too,
 * except the few values chronyd silently clamps, which ntpkit reports as
 * errors (STRICTER below, listed in docs/config.md).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireTool, runToCompletion, toolPath } from '../testing/index.js';
import { parseConfigText } from './parse-config.js';
import { chronyDirective } from './registry.js';

const LINES = [
  // accepted by both
  'server a.example.org minpoll 4 maxpoll 10 iburst', 'pool pool.example.org iburst maxsources 3', 'peer 192.0.2.1 minpoll 6',
  'server 192.0.2.1 prefer trust require noselect xleave burst key 5 port 11123 version 3 maxdelay 0.3 polltarget 12 minsamples 4 maxsamples 16',
  'server a.example.org offline auto_offline maxdelayratio 2 presend 9 minstratum 3 filter 4 copy',
  'server a.example.org mindelay 0.001 asymmetry 0.1 offset -0.25 maxdelaydevratio 5 certset 0', 'server a.example.org asymmetry 1',
  'combinelimit 5', 'stratumweight 0.01', 'reselectdist 0.001', 'maxjitter 0.5', 'authselectmode require', 'authselectmode ignore',
  'driftfile /var/lib/chrony/drift', 'makestep 1.0 3', 'makestep 0.1 -1', 'makestep -1 3', 'maxslewrate 1000', 'maxchange 1000 1 2',
  'maxdistance 16', 'minsources 2', 'minsources 0', 'maxdrift 500', 'leapsecmode slew', 'leapsectz right/UTC', 'local stratum 10 orphan',
  'local', 'allow', 'allow 10/8', 'deny all 192.168.0.0/16', 'ratelimit interval 1 burst 16', 'port 0', 'bindaddress 127.0.0.1',
  'bindcmdaddress /run/x.sock', 'bindcmdaddress 127.0.0.1', 'cmdport 0', 'logdir /var/log/chrony', 'log measurements statistics tracking',
  'rtcsync', 'hwclockfile /etc/adjtime', 'keyfile /etc/chrony/chrony.keys', 'dumpdir /var/lib/chrony', 'maxupdateskew 100.0', 'fallbackdrift 16 19', 'fallbackdrift 0 4',
  'minsamples 6', 'maxsamples 100', 'sourcedir /nonexistent-dir', 'confdir /nonexistent-dir',
  'dumponexit', 'commandkey 1', 'linux_hz 100', 'ntscachedir /var/lib/chrony', 'sched_priority 1',
  // refused by both
  'frobnicate 1', 'server', 'server a.example.org bogus', 'server a.example.org maxdelayratio', 'makestep 1', 'makestep 1 x',
  'makestep 1 3 4', 'maxchange 1000 1', 'leapsecmode smear', 'log everything', 'driftfile', 'driftfile a b', 'port x',
  'bindcmdaddress run/sock', 'allow 300.1.1.1', 'local stratum 16', 'rtcsync yes', 'server a.example.org minpoll x',
  'server a.example.org extfield F324', 'authselectmode sometimes',
  // chronyd accepts; ntpkit does not implement them and refuses to start rather than ignore them
  'server a.example.org extfield F323', 'server a.example.org maxdelayquant 0.5', 'server a.example.org certset 1',
  // chronyd accepts and clamps or fails later; ntpkit refuses
  'server a.example.org version 5', 'pool p.example.org maxsources 17', 'server a.example.org maxdelay 0', 'server a.example.org minpoll 25',
  'server a.example.org polltarget 0', 'maxslewrate 0', 'fallbackdrift 16 31', 'cmdport 70000', 'ratelimit burst 0', 'server bad/host',
  // chronyd accepts; ntpkit refuses to start without what it would do (the registry's refused directives)
  'tempcomp /sys/x 30 26000 0.0 0.000183 0.0', 'mailonchange root@localhost 0.5', 'cmdratelimit interval 2', 'broadcast 30 192.0.2.255',
];

/** The registry refuses the line's directive: ntpkit does not implement it and will not run without it. */
const notImplemented = (line: string): boolean => chronyDirective(line.split(/\s+/)[0] ?? '')?.form.status.kind === 'refused';

/** Lines chronyd accepts that ntpkit refuses on purpose: options it does not implement, and nonsense values chronyd clamps or fails on later (refused directives are judged apart). */
const STRICTER = new Set(LINES.slice(LINES.indexOf('server a.example.org extfield F323')).filter((l) => !notImplemented(l)));

/** Options of later chrony releases (4.4's ipv4/ipv6) that ntpkit takes and chronyd 4.3 does not know yet. */
const NEWER = ['server a.example.org ipv4', 'pool p.example.org ipv6 iburst'];

let dir: string;
before(() => { dir = mkdtempSync(join(tmpdir(), 'ntpkit-parity-')); });
after(() => rmSync(dir, { recursive: true, force: true }));

test('chrony.conf lines: the same verdict as chronyd -p, except the documented stricter ones', async (t) => {
  if (!requireTool(t, 'chronyd')) return;
  const disagreements: string[] = [];
  for (const [i, line] of LINES.entries()) {
    const path = join(dir, `${i}.conf`);
    writeFileSync(path, `${line}\n`);
    const r = await runToCompletion(toolPath('chronyd'), ['-x', '-p', '-f', path], { timeoutMs: 10_000 });
    assert.equal(r.timedOut, false, line);
    const chronyd = r.status.code === 0;
    const ours = parseConfigText(`${line}\n`, path, { format: 'chrony', readFile: () => { throw Object.assign(new Error('x'), { code: 'ENOENT' }); }, listDir: () => { throw Object.assign(new Error('x'), { code: 'ENOENT' }); } }).config !== null;
    assert.ok(chronyd || !ours, `ntpkit accepts a line chronyd refuses: ${line}\n${r.stderr}`);
    // A directive ntpkit refuses for want of an implementation: refused whatever chronyd makes of it.
    if (notImplemented(line)) { assert.ok(!ours, `ntpkit loads a directive its registry refuses: ${line}`); continue; }
    if (chronyd !== ours && !STRICTER.has(line)) disagreements.push(`${line}: chronyd ${chronyd ? 'accepts' : 'refuses'}, ntpkit ${ours ? 'accepts' : 'refuses'}`);
    if (STRICTER.has(line)) assert.ok(chronyd && !ours, `no longer stricter than chronyd: ${line}`);
  }
  assert.deepEqual(disagreements, []);
});

test('options of later chrony releases load here, and chronyd 4.3 does not know them', async (t) => {
  if (!requireTool(t, 'chronyd')) return;
  for (const [i, line] of NEWER.entries()) {
    const path = join(dir, `newer-${i}.conf`);
    writeFileSync(path, `${line}\n`);
    const r = await runToCompletion(toolPath('chronyd'), ['-x', '-p', '-f', path], { timeoutMs: 10_000 });
    assert.notEqual(r.status.code, 0, `chronyd now knows ${line}: move it to LINES`);
    assert.ok(parseConfigText(`${line}\n`, path, { format: 'chrony', readFile: () => { throw new Error('x'); }, listDir: () => { throw new Error('x'); } }).config !== null, line);
  }
});
