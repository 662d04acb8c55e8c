import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfigText } from '../config/parse-config.js';
import type { Config } from '../config/config.js';
import { sameRefclocks } from './refclocks.js';

function config(text: string): Config {
  const r = parseConfigText(text, 'chrony.conf', { format: 'chrony' });
  assert.ok(r.config !== null, JSON.stringify(r.errors));
  return r.config;
}

test('a reload keeps the refclocks when their lines are the same, and for a tai clock when the leap table\'s directive is too', () => {
  const sock = 'refclock SOCK /run/a.sock\n';
  assert.ok(sameRefclocks(config(sock), config(`${sock}leapsectz right/UTC\n`)), 'without tai the table does not matter');
  const tai = 'refclock SOCK /run/a.sock tai\n';
  assert.ok(sameRefclocks(config(`${tai}leapsectz right/UTC\n`), config(`${tai}leapsectz right/UTC\n`)));
  assert.equal(sameRefclocks(config(`${tai}leapsectz right/UTC\n`), config(`${tai}leapseclist /usr/share/zoneinfo/leap-seconds.list\n`)), false);
  assert.equal(sameRefclocks(config(sock), config('refclock SOCK /run/a.sock pps\n')), false);
});
