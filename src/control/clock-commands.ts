/**
 * The control commands about the clock and the reference the daemon serves,
 * as chronyd carries them out (cmdmon.c): doffset slews the clock, local
 * turns the local reference on or off, smoothtime resets or starts the
 * served time's smoothing, dfreq adds to the frequency, reselect and
 * reselectdist redo or tune source selection; rtcdata, trimrtc and writertc
 * concern the RTC (which ntpkit does not track).
 */
import type { LocalConfig } from '../config/server-config.js';
import type { ControlHandler } from './command-table.js';
import type { ControllableDaemon } from './commands.js';
import { noOtherArgs, unwrap } from './command-args.js';
import { ControlError } from './errors.js';

/** chronyd refuses a doffset that would take the clock this far (check_offset): beyond, it is a settime. */
const MAX_DOFFSET = 1e6;

/**
 * `doffset` {offset}: chronyc doffset's offset, seconds, positive when the
 * clock is ahead; the clock is slewed by its opposite (LCL_AccumulateOffset).
 */
export function doffset(d: ControllableDaemon, log: (line: string) => void): ControlHandler {
  return (args) => {
    noOtherArgs(args, ['offset']);
    const offset = args.offset;
    if (typeof offset !== 'number' || !Number.isFinite(offset) || Math.abs(offset) > MAX_DOFFSET) {
      throw new ControlError('bad-args', `Cannot use "offset" ${JSON.stringify(offset) ?? 'nothing'}: expected seconds, a number within ±${MAX_DOFFSET} (positive: the clock is ahead)`);
    }
    unwrap(d.control({ op: 'slew-offset', seconds: -offset }));
    log(`Control: accumulated delta offset of ${offset.toFixed(6)} seconds`);
    return { offset };
  };
}

/** `local` {enable, stratum?, orphan?, distance?}: chronyc local (REF_EnableLocal / REF_DisableLocal), over the config's until a restart. */
export function local(d: ControllableDaemon, log: (line: string) => void): ControlHandler {
  return (args) => {
    noOtherArgs(args, ['enable', 'stratum', 'orphan', 'distance']);
    if (d.setLocal === undefined) throw new ControlError('not-enabled', 'This daemon serves no NTP clients, so it has no local reference to change');
    if (typeof args.enable !== 'boolean') throw new ControlError('bad-args', `Cannot use "enable" ${JSON.stringify(args.enable) ?? 'nothing'}: expected true or false`);
    if (!args.enable) {
      noOtherArgs(args, ['enable']);
      d.setLocal(null);
      log('Control: local reference off');
      return { enable: false };
    }
    const stratum = args.stratum ?? 10;
    if (typeof stratum !== 'number' || !Number.isInteger(stratum) || stratum < 1 || stratum > 15) {
      throw new ControlError('bad-args', `Cannot use "stratum" ${JSON.stringify(stratum)}: expected an integer from 1 to 15`);
    }
    const orphan = args.orphan ?? false;
    if (typeof orphan !== 'boolean') throw new ControlError('bad-args', `Cannot use "orphan" ${JSON.stringify(orphan)}: expected true or false`);
    const distance = args.distance ?? 1;
    if (typeof distance !== 'number' || !Number.isFinite(distance) || distance < 0) {
      throw new ControlError('bad-args', `Cannot use "distance" ${JSON.stringify(distance)}: expected seconds, a number >= 0`);
    }
    const l: LocalConfig = { stratum, orphan, distance };
    d.setLocal(l);
    log(`Control: local reference on, stratum ${stratum}${orphan ? ' orphan' : ''} distance ${distance}`);
    return { enable: true, ...l };
  };
}

/** `rtcdata` {}: chronyd without rtcfile answers "513 RTC driver not running"; ntpkit never tracks the RTC. */
export const rtcdata: ControlHandler = (args) => {
  noOtherArgs(args, []);
  throw new ControlError('not-enabled', 'RTC driver not running: ntpkit does not track the real-time clock (chrony\'s rtcfile is refused)');
};

/** `trimrtc` and `writertc` {}: refused as rtcdata is, chronyd's answer without an RTC driver. */
export const trimrtc: ControlHandler = rtcdata;
export const writertc: ControlHandler = rtcdata;

/** chronyd's frequency bound without maxdrift (local.c): dfreq's ppm beyond it cannot mean anything. */
const MAX_DFREQ_PPM = 500000;

/**
 * `dfreq` {ppm}: chronyc dfreq, chronyd's LCL_AccumulateDeltaFrequency:
 * `ppm` added to the clock's frequency as chronyc tracking reports it
 * (positive: towards "fast", so the clock is slowed). The clock discipline
 * goes on from the new frequency.
 */
export function dfreq(d: ControllableDaemon, log: (line: string) => void): ControlHandler {
  return (args) => {
    noOtherArgs(args, ['ppm']);
    const ppm = args.ppm;
    if (typeof ppm !== 'number' || !Number.isFinite(ppm) || Math.abs(ppm) > MAX_DFREQ_PPM) {
      throw new ControlError('bad-args', `Cannot use "ppm" ${JSON.stringify(ppm) ?? 'nothing'}: expected ppm, a number within ±${MAX_DFREQ_PPM}`);
    }
    const r = unwrap(d.control({ op: 'adjust-frequency', ppm }));
    log(`Control: accumulated delta freq of ${ppm.toFixed(3)}ppm`);
    return { ppm, frequencyPpm: r.frequencyPpm };
  };
}

/** `reselect` {}: chronyc reselect (SRC_ReselectSource): the current choice forgotten, the best source selected again. */
export function reselect(d: ControllableDaemon, log: (line: string) => void): ControlHandler {
  return (args) => {
    noOtherArgs(args, []);
    unwrap(d.control({ op: 'reselect' }));
    log('Control: reselect');
    return null;
  };
}

/** `reselectdist` {distance}: chronyc reselectdist, the reselectdist directive's seconds from now on. */
export function reselectdist(d: ControllableDaemon, log: (line: string) => void): ControlHandler {
  return (args) => {
    noOtherArgs(args, ['distance']);
    const distance = args.distance;
    if (typeof distance !== 'number' || !Number.isFinite(distance)) {
      throw new ControlError('bad-args', `Cannot use "distance" ${JSON.stringify(distance) ?? 'nothing'}: expected seconds, a number`);
    }
    unwrap(d.control({ op: 'set-reselectdist', distance }));
    log(`Control: new reselect distance ${distance.toFixed(6)}`);
    return { distance };
  };
}

const MANUAL_ACTIONS = ['on', 'off', 'reset', 'list', 'delete'] as const;

/** `manual` {action, index?}: chronyc manual on|off|reset|list|delete N; 'list' returns {samples}. */
export function manual(d: ControllableDaemon, log: (line: string) => void): ControlHandler {
  return (args) => {
    noOtherArgs(args, ['action', 'index']);
    const action = args.action;
    if (typeof action !== 'string' || !(MANUAL_ACTIONS as readonly string[]).includes(action)) {
      throw new ControlError('bad-args', `Cannot use "action" ${JSON.stringify(action) ?? 'nothing'}: expected one of ${MANUAL_ACTIONS.join(', ')}`);
    }
    const a = action as (typeof MANUAL_ACTIONS)[number];
    if (d.manual === undefined) throw new ControlError('not-enabled', 'This daemon takes no manual time input');
    if (a === 'delete') {
      const index = args.index;
      if (typeof index !== 'number' || !Number.isInteger(index)) throw new ControlError('bad-args', `Cannot use "index" ${JSON.stringify(index) ?? 'nothing'}: expected the sample's number in manual list`);
      // chronyd's STT_BADSAMPLE ("516 Sample index out of range").
      if (d.manual('delete', index) !== true) throw new ControlError('bad-args', `Sample index out of range: there is no sample ${index} (see manual list)`);
      log(`Control: manual delete ${index}`);
      return null;
    }
    if (args.index !== undefined) throw new ControlError('bad-args', `"index" goes only with "delete"`);
    const r = d.manual(a);
    if (a === 'list') return { samples: r };
    log(`Control: manual ${a}`);
    return null;
  };
}

/** `smoothtime` {action: 'reset'|'activate'}: chronyc smoothtime; not-enabled without the smoothtime directive. */
export function smoothtime(d: ControllableDaemon, log: (line: string) => void): ControlHandler {
  return (args) => {
    noOtherArgs(args, ['action']);
    const action = args.action;
    if (action !== 'reset' && action !== 'activate') throw new ControlError('bad-args', `Cannot use "action" ${JSON.stringify(action) ?? 'nothing'}: expected "reset" or "activate"`);
    unwrap(d.control({ op: 'smoothtime', action }));
    log(`Control: smoothtime ${action}`);
    return null;
  };
}
