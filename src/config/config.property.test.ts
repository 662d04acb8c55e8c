/**
 * Property tests: whatever the text, parsing never throws, and the result
 * is either a frozen config with no errors or errors with no config. Lines
 * are built from real directive and option words as well as random text, so
 * the generator reaches the parsers' branches, not only "unknown directive".
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseConfigText } from './parse-config.js';
import { memoryFiles } from '../testing/memory-files.js';

const WORDS = [
  'server', 'pool', 'peer', 'driftfile', 'makestep', 'maxslewrate', 'maxchange', 'maxdistance', 'minsources', 'maxdrift',
  'local', 'allow', 'deny', 'ratelimit', 'port', 'bindaddress', 'bindcmdaddress', 'cmdport', 'leapsecmode', 'leapsectz',
  'logdir', 'log', 'include', 'confdir', 'sourcedir', 'rtcsync', 'minsamples', 'maxsamples', 'restrict', 'tinker', 'tos',
  'includefile', 'logfile', 'statsdir', 'statistics', 'filegen', 'leapfile', 'keys', 'enable', 'disable', 'interface',
  'discard', 'fudge', 'unrestrict',
  'minpoll', 'maxpoll', 'iburst', 'burst', 'prefer', 'noselect', 'trust', 'require', 'maxdelay', 'polltarget', 'version',
  'xleave', 'maxsources', 'key', 'nts', 'true', 'offline', 'presend', 'stratum', 'orphan', 'distance', 'interval', 'leak',
  'default', 'source', 'mask', 'ignore', 'noserve', 'limited', 'kod', 'panic', 'step', 'minsane', 'maxdist', '-4', '-6',
  'all', 'listen', 'slew', 'system', 'tracking', 'loopstats', 'monitor', 'average',
  '0', '1', '-1', '3', '10', '16', '17', '25', '65536', '0.1', '1e3', 'nan', '-0', '1.2.3.4', '10/8', '::1', '::/0',
  '255.255.0.0', '127.127.1.0', 'a.example.org', '/etc/x.conf', '/etc/*.conf', '/dir', '"quoted name"', '#', '%', '!',
];

const word = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...WORDS) },
  { weight: 1, arbitrary: fc.string({ maxLength: 12 }) },
);
const line = fc.oneof(
  { weight: 5, arbitrary: fc.array(word, { minLength: 1, maxLength: 8 }).map((ws) => ws.join(' ')) },
  { weight: 1, arbitrary: fc.string({ maxLength: 40 }) },
);
const text = fc.array(line, { maxLength: 12 }).map((ls) => ls.join('\n'));

// Included files exist for some of the paths the generator uses, including one that includes itself.
const files = memoryFiles({
  '/etc/x.conf': 'server included.example.org iburst\ninclude /etc/x.conf\n',
  '/etc/y.conf': 'makestep 1 3\n',
  '/dir/a.conf': 'allow\n',
  '/dir/b.sources': 'server 192.0.2.1\n',
});

function check(r: ReturnType<typeof parseConfigText>): void {
  if (r.config) {
    assert.equal(r.errors.length, 0);
    assert.ok(Object.isFrozen(r.config) && Object.isFrozen(r.config.sources) && Object.isFrozen(r.config.discipline) && Object.isFrozen(r.config.server));
    for (const s of r.config.sources) assert.ok(s.options.minpoll <= s.options.maxpoll);
  } else {
    assert.ok(r.errors.length > 0);
  }
  for (const d of [...r.errors, ...r.warnings]) {
    assert.equal(typeof d.message, 'string');
    assert.ok(d.message.length > 0);
    assert.ok(Number.isInteger(d.line) && d.line >= 0);
  }
}

test('random chrony.conf and ntp.conf text never throws and gives a config xor errors', () => {
  fc.assert(
    fc.property(text, fc.constantFrom('chrony' as const, 'ntp' as const, undefined), (t, format) => {
      check(parseConfigText(t, 'fuzz.conf', { format, ...files }));
      check(parseConfigText(t, 'fuzz.conf', { format }));
    }),
    { numRuns: 2000 },
  );
});

test('an error anywhere means no config at all', () => {
  fc.assert(
    fc.property(fc.array(fc.constantFrom('server a.example.org iburst', 'makestep 1 3', 'allow 10/8', 'driftfile /d'), { maxLength: 6 }), fc.nat(6), (good, at) => {
      const lines: string[] = [...good];
      lines.splice(Math.min(at, lines.length), 0, 'frobnicate 1');
      const r = parseConfigText(lines.join('\n'), 'f.conf', { format: 'chrony' });
      assert.equal(r.config, null);
      assert.deepEqual(r.errors.map((e) => e.line), [Math.min(at, good.length) + 1]);
    }),
  );
});
