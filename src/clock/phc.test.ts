import { test } from 'node:test';
import assert from 'node:assert/strict';
import { constants } from 'node:os';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadNative, PHC_METHOD, type PhcMethodId, type PhcSysFailure } from './native.js';
import { openPhc, openPhcOn, PhcError, type PhcBackend } from './phc.js';

const { EOPNOTSUPP, ENOTTY, EINVAL, EIO, ENOENT, EACCES } = constants.errno;
const T = 1_796_000_000_000_000_000n;
const NAME: Record<PhcMethodId, string> = { 1: 'PTP_SYS_OFFSET', 2: 'PTP_SYS_OFFSET_PRECISE', 3: 'PTP_SYS_OFFSET_EXTENDED' };

/** A backend whose ioctls fail as scripted per method, and which records the calls. */
function scripted(fail: Partial<Record<'precise' | 'extended' | 'basic', number>>, open?: PhcSysFailure) {
  const calls: string[] = [];
  let closed = 0;
  const backend: PhcBackend = {
    phcMaxSamples: 25,
    phcOpen: () => open ?? { fd: 7 },
    phcRead: (fd, method, n) => {
      assert.equal(fd, 7);
      const name = (Object.keys(PHC_METHOD) as (keyof typeof PHC_METHOD)[]).find((k) => PHC_METHOD[k] === method)!;
      calls.push(name);
      const errno = fail[name];
      if (errno !== undefined) return { errno, message: 'scripted', call: NAME[method] };
      const count = method === PHC_METHOD.precise ? 1 : n;
      const ts = new BigInt64Array(count * 3);
      for (let i = 0; i < count; i++) ts.set([T, T + 250n, method === PHC_METHOD.precise ? T : T + 1000n], i * 3);
      return { errno: 0, ts };
    },
    phcClose: () => {
      closed++;
      return 0;
    },
  };
  return { backend, calls, closes: () => closed };
}

test('methods are tried in chronyd order: precise, extended, basic, passing over what the kernel lacks', () => {
  for (const [fail, used, tried] of [
    [{}, 'precise', ['precise']],
    [{ precise: EOPNOTSUPP }, 'extended', ['precise', 'extended']],
    [{ precise: ENOTTY, extended: EOPNOTSUPP }, 'basic', ['precise', 'extended', 'basic']],
    [{ precise: EINVAL, extended: ENOTTY }, 'basic', ['precise', 'extended', 'basic']],
    [{ precise: EOPNOTSUPP, extended: EINVAL }, 'basic', ['precise', 'extended', 'basic']],
  ] as const) {
    const s = scripted(fail);
    const r = openPhcOn(s.backend, '/dev/ptp0').readOffset(5);
    assert.equal(r.method, used, JSON.stringify(fail));
    assert.deepEqual(s.calls, tried);
    assert.equal(r.delayS, used === 'precise' ? 0 : 1e-6);
  }
});

test('nocrossts never asks for a cross-timestamp', () => {
  const s = scripted({});
  assert.equal(openPhcOn(s.backend, '/dev/ptp0', { nocrossts: true }).readOffset(5).method, 'extended');
  assert.deepEqual(s.calls, ['extended']);
});

test('the first method that works is kept: later readings never try a better one, nor fall back', () => {
  const s = scripted({ precise: EOPNOTSUPP });
  const dev = openPhcOn(s.backend, '/dev/ptp0');
  dev.readOffset(3);
  dev.readOffset(3);
  assert.deepEqual(s.calls, ['precise', 'extended', 'extended']);
  // Now extended fails as if unsupported: chronyd does not fall back from a mode that once worked; neither does this.
  const failing = scripted({ precise: EOPNOTSUPP });
  const d2 = openPhcOn({ ...failing.backend, phcRead: (fd, m, n) => (failing.calls.length >= 2 ? { errno: EOPNOTSUPP, message: 'gone', call: NAME[m] } : failing.backend.phcRead(fd, m, n)) }, '/dev/ptp1');
  d2.readOffset(3);
  assert.throws(() => d2.readOffset(3), (e: PhcError) => e.code === 'EOPNOTSUPP' && /\/dev\/ptp1: PTP_SYS_OFFSET_EXTENDED failed/.test(e.message));
});

test('a device error is reported naming the path, not taken for a missing method', () => {
  const s = scripted({ precise: EOPNOTSUPP, extended: EIO });
  assert.throws(() => openPhcOn(s.backend, '/dev/ptp3').readOffset(5), (e: PhcError) =>
    e instanceof PhcError && e.code === 'EIO' && e.path === '/dev/ptp3' && e.message === 'Cannot read PTP clock /dev/ptp3: PTP_SYS_OFFSET_EXTENDED failed: scripted (EIO)');
  assert.deepEqual(s.calls, ['precise', 'extended']);
});

test('when no method works, the error lists why each was passed over', () => {
  const s = scripted({ precise: EOPNOTSUPP, extended: ENOTTY, basic: EINVAL });
  assert.throws(() => openPhcOn(s.backend, '/dev/ptp0').readOffset(5), (e: PhcError) =>
    e.code === 'EOPNOTSUPP' && /no reading method works \(PTP_SYS_OFFSET_PRECISE failed: scripted \(EOPNOTSUPP\); PTP_SYS_OFFSET_EXTENDED failed: scripted \(ENOTTY\); PTP_SYS_OFFSET failed: scripted \(EINVAL\)\)/.test(e.message));
});

test('open failures name the path and the errno', () => {
  const cases: [PhcSysFailure, string, RegExp][] = [
    [{ errno: ENOENT, message: 'No such file or directory', call: 'open' }, 'ENOENT', /^Cannot open PTP clock \/dev\/ptp9: No such file or directory \(ENOENT\)$/],
    [{ errno: EACCES, message: 'Permission denied', call: 'open' }, 'EACCES', /^Cannot open PTP clock \/dev\/ptp9: Permission denied \(EACCES\): the daemon needs read access to it$/],
    [{ errno: ENOTTY, message: 'Inappropriate ioctl for device', call: 'PTP_CLOCK_GETCAPS' }, 'ENOTTY', /^\/dev\/ptp9 is not a PTP hardware clock: PTP_CLOCK_GETCAPS failed/],
  ];
  for (const [failure, code, message] of cases) {
    assert.throws(() => openPhcOn(scripted({}, failure).backend, '/dev/ptp9'), (e: PhcError) => e.code === code && e.path === '/dev/ptp9' && message.test(e.message));
  }
});

test('samples outside 1..25 are refused before any ioctl; a closed device refuses to read', () => {
  const s = scripted({});
  const dev = openPhcOn(s.backend, '/dev/ptp0');
  for (const n of [0, 26, 2.5, Number.NaN]) assert.throws(() => dev.readOffset(n), RangeError);
  assert.deepEqual(s.calls, []);
  dev.close();
  dev.close();
  assert.equal(s.closes(), 1);
  assert.throws(() => dev.readOffset(1), { code: 'NTPKIT_PHC_CLOSED' });
});

const native = loadNative();
const skip = native.ok ? false : native.reason;

test('through the addon: /dev/null is not a PTP clock, a clear error and no crash', { skip }, () => {
  assert.throws(() => openPhc('/dev/null'), (e: PhcError) =>
    e.code === 'ENOTTY' && e.message === '/dev/null is not a PTP hardware clock: PTP_CLOCK_GETCAPS failed: Inappropriate ioctl for device (ENOTTY)');
});

test('through the addon: a missing device and a directory are clear errors naming the path', { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'ntpkit-phc-'));
  try {
    assert.throws(() => openPhc(join(dir, 'ptp0')), (e: PhcError) => e.code === 'ENOENT' && e.message === `Cannot open PTP clock ${join(dir, 'ptp0')}: No such file or directory (ENOENT)`);
    assert.throws(() => openPhc(dir), (e: PhcError) => e.path === dir && /is not a PTP hardware clock/.test(e.message));
    assert.throws(() => openPhc(''), TypeError);
  } finally {
    rmSync(dir, { recursive: true });
  }
});

test('through the addon: bad arguments are refused before any system call, never a crash', { skip }, () => {
  assert.ok(native.ok);
  const a = native.addon;
  assert.ok(a.phcOpen && a.phcRead && a.phcClose);
  const { phcOpen, phcRead } = a as Required<typeof a>;
  assert.throws(() => phcOpen('/dev/null\0/dev/ptp0'), TypeError);
  assert.throws(() => phcOpen('/'.repeat(5000)), TypeError);
  assert.throws(() => phcOpen(42 as unknown as string), TypeError);
  assert.throws(() => phcRead(-1, PHC_METHOD.basic, 1), RangeError);
  assert.throws(() => phcRead(0, 9 as PhcMethodId, 1), RangeError);
  for (const n of [0, 26]) assert.throws(() => phcRead(0, PHC_METHOD.extended, n), RangeError);
  // A closed descriptor is the kernel's EBADF, returned as a value.
  assert.deepEqual(phcRead(2 ** 30, PHC_METHOD.basic, 1), { errno: constants.errno.EBADF, message: 'Bad file descriptor', call: 'PTP_SYS_OFFSET' });
});
