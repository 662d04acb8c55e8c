import { test } from 'node:test';
import assert from 'node:assert/strict';
import { directiveStatus, formatDirectiveStatus } from './directive-status.js';
import { CHRONY_HARMLESS, CHRONY_REFUSED } from './directives/ignored.js';
import { chronyDirective } from './registry.js';

/**
 * Every directive chronyd 4.3's parser knows (conf.c's parse_line, which the
 * chrony.conf(5) manual of 4.3 documents, plus the obsolete names it still
 * accepts).
 */
const CHRONY_4_3 = `acquisitionport allow authselectmode bindacqaddress bindacqdevice bindaddress bindcmdaddress bindcmddevice
binddevice broadcast clientloglimit clockprecision cmdallow cmddeny cmdport cmdratelimit combinelimit commandkey confdir
corrtimeratio deny driftfile dscp dumpdir dumponexit fallbackdrift generatecommandkey hwclockfile hwtimestamp include
initstepslew keyfile leapsecmode leapsectz linux_freq_scale linux_hz local lock_all log logbanner logchange logdir
mailonchange makestep manual maxchange maxclockerror maxdistance maxdrift maxjitter maxntsconnections maxsamples
maxslewrate maxupdateskew minsamples minsources nocerttimecheck noclientlog nosystemcert ntpsigndsocket ntscachedir
ntsdumpdir ntsntpserver ntsport ntsprocesses ntsratelimit ntsrefresh ntsrotate ntsservercert ntsserverkey ntstrustedcerts
peer pidfile pool port ptpport ratelimit refclock reselectdist rtcautotrim rtcdevice rtcfile rtconutc rtcsync
sched_priority server smoothtime sourcedir stratumweight tempcomp user`.split(/\s+/);

/** chronyd's own obsolete names: it warns about them (or, for dumponexit, says nothing), as ntpkit does. */
const OBSOLETE = new Set(['commandkey', 'dumponexit', 'generatecommandkey', 'linux_freq_scale', 'linux_hz']);

test('every chrony 4.3 directive is implemented or refuses to start, but for the harmless and the obsolete ones, which warn', () => {
  const rows = new Map(directiveStatus('chrony').map((r) => [r.name, r]));
  for (const name of CHRONY_4_3) {
    const r = rows.get(name);
    assert.ok(r, `${name} is unknown to ntpkit: a chrony.conf using it would fail with "unknown directive"`);
    if (r.status !== 'warning') continue;
    assert.ok(OBSOLETE.has(name) || CHRONY_HARMLESS[name] !== undefined, `${name} only warns, but it is neither obsolete nor listed as harmless: ${r.reason}`);
    assert.notEqual(r.reason, '', name);
  }
});

test('every refusal and every harmless warning names a directive that is still refused or warned about (no reason outlives its directive)', () => {
  for (const name of Object.keys(CHRONY_REFUSED)) assert.equal(chronyDirective(name)?.form.status.kind, 'refused', name);
  for (const name of Object.keys(CHRONY_HARMLESS)) assert.equal(chronyDirective(name)?.form.status.kind, 'ignored', name);
});

test('the listing: one count line that adds up, then the rows in name order', () => {
  const rows = directiveStatus('chrony');
  const [head, ...body] = formatDirectiveStatus('chrony', rows);
  const m = /\((\d+)\): (\d+) implemented, (\d+) accepted with a warning, (\d+) refused/.exec(head ?? '');
  assert.ok(m, head);
  assert.equal(Number(m[1]), rows.length);
  assert.equal(Number(m[2]) + Number(m[3]) + Number(m[4]), rows.length);
  assert.equal(body.length, rows.length);
  assert.deepEqual(rows.map((r) => r.name), [...rows.map((r) => r.name)].sort());
});
