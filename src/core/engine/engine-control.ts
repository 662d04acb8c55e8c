/**
 * The engine's run-time control commands (chronyc makestep, burst, online,
 * offline, add, delete, activity, ntpdata): each checks its values, then
 * acts on the sources or the clock controller.
 */
import { diffSeconds, type Instant } from '../../time/instant.js';
import type { ClockController } from './clock-controller.js';
import type { AuthSelectMode, EngineAction, EngineCommand, EngineCommandError, EngineCommandValues, ModifiableField, SourceSelector } from './engine-api.js';
import { MAX_POLL, MIN_POLL, type SourceOptions } from './source-options.js';
import { ntpData } from './source-reports.js';
import { authData, selectData } from './select-report.js';
import { withAuthSelectMode } from './selection.js';
import type { Timescale } from './source-measurement.js';
import type { TimeSmoothing } from './time-smoothing.js';
import type { SourceSet } from './source-set.js';

/** What a command works on; `poll` sends what is due, `select` runs selection again. */
export interface CommandContext {
  readonly sources: SourceSet;
  readonly controller: ClockController;
  /** The engine's start, for the era of reference times before any reply. */
  readonly origin: Instant;
  readonly poll: () => void;
  readonly select: () => void;
  /** The engine's clock model, for the sources' estimates now. */
  readonly ts: Timescale;
  /** The served time's smoothing, null without smoothtime. */
  readonly smoothing: TimeSmoothing | null;
  /** Which selection options authenticated and unauthenticated sources gain (selectdata's effective options). */
  readonly authselectmode: AuthSelectMode;
  /** chronyc maxupdateskew: the clock's limit, ppm. */
  readonly setMaxUpdateSkew: (ppm: number) => void;
  /** chronyc reselectdist: selection's reselect distance, seconds. */
  readonly setReselectDist: (seconds: number) => void;
  /** chronyc reselect: selection again with the current choice forgotten. */
  readonly reselect: () => void;
  /** The largest frequency correction allowed, ppm (maxdrift; chronyd's clamp_freq). */
  readonly maxFrequencyPpm: number;
}

export type CommandOutcome =
  | { readonly ok: true; readonly value: EngineCommandValues[EngineCommand['op']] }
  | { readonly ok: false; readonly code: EngineCommandError; readonly message: string };

export function runCommand(c: EngineCommand, now: Instant, actions: EngineAction[], x: CommandContext): CommandOutcome {
  const done = (value: EngineCommandValues[EngineCommand['op']]): CommandOutcome => ({ ok: true, value });
  const none = (sel: SourceSelector): CommandOutcome => ({ ok: false, code: 'no-such-source', message: `No such source: ${sel ?? '(any)'}` });
  switch (c.op) {
    case 'makestep':
      return done({ seconds: x.controller.stepRemaining(now, actions) });
    case 'set-makestep':
      if (!(c.threshold >= 0) || !Number.isFinite(c.threshold) || !Number.isInteger(c.limit)) {
        return { ok: false, code: 'bad-value', message: `Cannot set makestep: threshold must be a number >= 0 and limit an integer, got ${c.threshold} ${c.limit}` };
      }
      x.controller.setMakestep(c.threshold, c.limit);
      return done(null);
    case 'settime': {
      const c0 = x.controller;
      const offset = diffSeconds(c.time, now);
      const outcome = c0.update(now, { offset, freqPpm: c0.frequencyPpm, skewPpm: c0.skewPpm }, actions);
      if (outcome === 'ignored' || outcome === 'fatal') return { ok: false, code: 'bad-value', message: `Cannot set the time: an offset of ${offset} s is beyond maxchange` };
      return done({ fast: -offset, stepped: outcome === 'stepped', frequencyPpm: c0.frequencyPpm });
    }
    case 'slew-offset':
      if (!Number.isFinite(c.seconds)) return { ok: false, code: 'bad-value', message: `Cannot slew ${c.seconds} s` };
      x.controller.slewLeap(now, c.seconds, actions);
      return done(null);
    case 'burst': {
      if (!Number.isInteger(c.good) || !Number.isInteger(c.max) || c.good < 1 || c.max < c.good || c.max > 2048) {
        return { ok: false, code: 'bad-value', message: `Cannot burst ${c.good}/${c.max}: give GOOD/MAX with 1 <= GOOD <= MAX <= 2048` };
      }
      const hit = x.sources.matching(c.selector);
      if (hit.length === 0 && c.selector !== null) return none(c.selector);
      let n = 0;
      for (const s of hit) {
        if (s.address === null) continue;
        s.poller.startBurst(now, c.good, c.max);
        n++;
      }
      x.poll();
      return done({ sources: n });
    }
    case 'online':
    case 'offline': {
      const hit = x.sources.matching(c.selector);
      if (hit.length === 0 && c.selector !== null) return none(c.selector);
      for (const s of hit) s.poller.setOnline(now, c.op === 'online');
      x.poll();
      return done({ sources: hit.length });
    }
    case 'add-source': {
      const so = c.source;
      if (x.sources.has(so)) return { ok: false, code: 'source-exists', message: `Source ${so.host} port ${so.port} is already present` };
      const id = x.sources.add(so, now, actions);
      x.poll();
      return done({ sourceId: id });
    }
    case 'delete-source': {
      const n = x.sources.delete(c.selector);
      if (n === null) return none(c.selector);
      x.select();
      return done({ sources: n });
    }
    case 'activity':
      return done(x.sources.activity());
    case 'reset-sources': {
      const n = x.sources.resetSamples();
      x.select();
      return done({ sources: n });
    }
    case 'modify-source': {
      const bad = checkModifyValue(c.field, c.value);
      if (bad !== null) return { ok: false, code: 'bad-value', message: bad };
      if (c.field === 'maxupdateskew') {
        x.setMaxUpdateSkew(c.value);
        return done({ sources: x.sources.sources.length });
      }
      const hit = x.sources.matching(c.selector);
      if (hit.length === 0) return none(c.selector);
      for (const s of hit) s.modifyOptions(modified(s.options, c.field, c.value));
      x.poll();
      return done({ sources: hit.length });
    }
    case 'selectdata': {
      const effective = new Map(withAuthSelectMode(x.sources.sources.map((s) => s.candidate(now, x.ts).candidate), x.authselectmode).map((c) => [c.id, c]));
      return done(x.sources.sources.map((s) => selectData(s, now, x.ts, effective.get(s.id))));
    }
    case 'smoothtime':
      if (x.smoothing === null) return { ok: false, code: 'not-enabled', message: 'Facility not enabled in daemon: smoothtime is not in the configuration' };
      if (c.action === 'reset') x.smoothing.reset(now);
      else x.smoothing.activate(now);
      return done(null);
    case 'refresh':
      return done({ resolving: x.sources.refresh(now, actions) });
    case 'adjust-frequency': {
      if (!Number.isFinite(c.ppm)) return { ok: false, code: 'bad-value', message: `Cannot adjust the frequency by ${c.ppm} ppm` };
      const old = x.controller.frequencyPpm;
      // chronyd's absolute frequency is -old: it gains c.ppm * (1e6 - (-old)) / 1e6.
      const ppm = Math.max(-x.maxFrequencyPpm, Math.min(x.maxFrequencyPpm, old - c.ppm * (1 + old * 1e-6)));
      x.controller.setBaseFrequency(now, ppm, actions);
      return done({ frequencyPpm: x.controller.frequencyPpm });
    }
    case 'reselect':
      x.reselect();
      return done(null);
    case 'set-reselectdist':
      if (!Number.isFinite(c.distance)) return { ok: false, code: 'bad-value', message: `Cannot set reselectdist to ${c.distance}: expected seconds` };
      x.setReselectDist(c.distance);
      return done(null);
    case 'authdata':
      return done(x.sources.sources.filter((s) => s.refclock === null).map(authData));
    case 'ntpdata': {
      const hit = x.sources.matching(c.selector).filter((s) => s.address !== null);
      if (hit.length === 0 && c.selector !== null) return none(c.selector);
      return done(hit.map((s) => ntpData(s, x.origin)));
    }
  }
}

/** chronyd's upper bounds of the delay tests (ntp_core.c MAX_MAXDELAY...): larger values are cut to them. */
const MAX_MAXDELAY = 1e3;
const MAX_MAXDELAYRATIO = 1e6;

function checkModifyValue(field: ModifiableField, v: number): string | null {
  if (!Number.isFinite(v)) return `Cannot set ${field} to ${v}: expected a number`;
  if (field === 'minpoll' || field === 'maxpoll') {
    return Number.isInteger(v) && v >= MIN_POLL && v <= MAX_POLL ? null : `Cannot set ${field} to ${v}: expected an integer from ${MIN_POLL} to ${MAX_POLL}`;
  }
  if (field === 'polltarget') return Number.isInteger(v) && v >= 1 ? null : `Cannot set polltarget to ${v}: expected an integer >= 1`;
  if (field === 'minstratum') return Number.isInteger(v) && v >= 0 && v <= 15 ? null : `Cannot set minstratum to ${v}: expected an integer from 0 to 15`;
  return v >= 0 ? null : `Cannot set ${field} to ${v}: expected a number >= 0`;
}

/** The options with one field changed as chronyd changes it (NCR_ModifyMinpoll...): the poll bounds kept in order, the delay limits clamped. */
function modified(o: SourceOptions, field: Exclude<ModifiableField, 'maxupdateskew'>, v: number): SourceOptions {
  switch (field) {
    case 'minpoll': return { ...o, minpoll: v, maxpoll: Math.max(o.maxpoll, v) };
    case 'maxpoll': return { ...o, maxpoll: v, minpoll: Math.min(o.minpoll, v) };
    case 'maxdelay': return { ...o, maxdelay: Math.min(v, MAX_MAXDELAY) };
    case 'maxdelayratio': return { ...o, maxdelayratio: Math.min(v, MAX_MAXDELAYRATIO) };
    case 'maxdelaydevratio': return { ...o, maxdelaydevratio: Math.min(v, MAX_MAXDELAYRATIO) };
    case 'polltarget': return { ...o, polltarget: v };
    case 'minstratum': return { ...o, minstratum: v };
  }
}
