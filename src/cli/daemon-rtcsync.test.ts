import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { STATUS_FLAGS } from '../clock/kernel-status.js';
import { VirtualClock } from '../clock/virtual-clock.js';
import { type EngineAction } from '../core/engine/engine-api.js';
import type { SyncDaemon } from '../daemon/sync-daemon.js';
import { StubEngine } from './stub-engine.test-helper.js';
import { daemonCommand } from './daemon-command.js';

/** An engine that is synchronized from its first instant, with 2 ms / 5 ms error bounds: the clock status is what is under test. */
class SyncedEngine extends StubEngine {
  override start(): EngineAction[] { return [{ kind: 'set-status', synchronized: true, leap: 'none', estError: 0.002, maxError: 0.005 }]; }
}

/** The daemon's clock's status word once synchronized, with or without `rtcsync`. */
async function statusWith(rtcsync: boolean): Promise<ReturnType<VirtualClock['statusWord']>> {
  const dir = await mkdtemp(join(tmpdir(), 'ntpkit-rtcsync-'));
  const signals = new EventEmitter();
  try {
    const conf = join(dir, 'chrony.conf');
    await writeFile(conf, `server 127.0.24.1\ncontrolsocket /\nbindcmdaddress /\ncmdport 0\n${rtcsync ? 'rtcsync\n' : ''}`);
    let started: (d: SyncDaemon) => void = () => {};
    const running = new Promise<SyncDaemon>((r) => { started = r; });
    const err: string[] = [];
    const done = daemonCommand({ out: () => {}, err: (t) => err.push(t), setExitCode: () => {} }, {
      signals: signals as unknown as Pick<NodeJS.Process, 'on' | 'off'>,
      createEngine: (o) => new SyncedEngine(o),
      resolve: async (h) => { throw new Error(`no DNS in tests (${h})`); },
      chooseClock: () => ({ ok: true, kind: 'virtual', reason: 'test', warnings: [] }),
      timestamps: false,
      onStarted: (d) => started(d),
    }).exitOverride().parseAsync(['-f', conf], { from: 'user' });
    const d = await Promise.race([running, done.then(() => { throw new Error(`daemon ended: ${err.join('\n')}`); })]);
    assert.ok(d.clock instanceof VirtualClock);
    const word = d.clock.statusWord();
    signals.emit('SIGTERM');
    await done;
    return word;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('rtcsync: the synchronized clock\'s status word has STA_UNSYNC clear, so the kernel\'s 11-minute mode would keep the RTC', async () => {
  const w = await statusWith(true);
  assert.equal(w.status & STATUS_FLAGS.STA_UNSYNC, 0);
  // The error bounds follow the update, in microseconds, as chronyd writes them with ADJ_MAXERROR/ADJ_ESTERROR.
  assert.equal(w.maxerror, 5000);
  assert.equal(w.esterror, 2000);
});

test('without rtcsync STA_UNSYNC stays set while synchronized, as chronyd leaves it', async () => {
  const w = await statusWith(false);
  assert.notEqual(w.status & STATUS_FLAGS.STA_UNSYNC, 0);
  assert.equal(w.maxerror, 5000);
});
