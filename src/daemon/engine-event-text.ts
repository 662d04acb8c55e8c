/**
 * The daemon's log line for each engine event, in chronyd's wording where
 * chronyd has one: operators grep their logs for it.
 */
import type { EngineEvent } from '../core/engine/engine-api.js';
import type { ClockKind } from '../clock/clock.js';
import type { StatsLogEvent } from './stats-log.js';

/** The events that get a line of their own (measurements and clock updates go to the statistics logs). */
export type LoggedEngineEvent = Exclude<EngineEvent, StatsLogEvent>;

export function describeEngineEvent(e: LoggedEngineEvent, name: (sourceId: number) => string, clockKind: ClockKind): string {
  switch (e.type) {
    case 'synchronized': return `Selected source ${name(e.sourceId)} (offset ${signed(e.offset)} s)`;
    case 'unsynchronized': return `Can't synchronise: ${e.reason}`;
    // chronyd's wording for the kernel clock, which operators grep for; the virtual clock says so.
    case 'step': return `${clockKind === 'system' ? 'System' : 'Virtual'} clock was stepped by ${signed(e.seconds)} seconds`;
    case 'falseticker': return `Source ${name(e.sourceId)} is a falseticker`;
    case 'source-unreachable': return `Source ${name(e.sourceId)} is unreachable`;
    // chronyd's "Received KoD RATE from ADDRESS", and what it does to polling (once per episode).
    case 'kiss': return `Received KoD ${e.code} from ${name(e.sourceId)}${kissEffect(e)}`;
    case 'source-replaced': return `Source ${e.oldAddress} replaced with ${e.newAddress ?? '(none yet)'}`;
    // chronyd's wording (sources.c), naming the source as we do elsewhere.
    case 'dump-loaded': return `Loaded dump file for ${name(e.sourceId)} (${e.samples} sample${e.samples === 1 ? '' : 's'})`;
    case 'dump-refused': return `Could not load dump file for ${name(e.sourceId)}: ${e.reason}`;
    case 'leap': return `Leap second will be ${e.leap === 'insert' ? 'inserted' : 'deleted'} at the end of the day`;
    // chronyd's wording (reference.c), and its %.6f.
    case 'clock-wrong': return `${clockKind === 'system' ? 'System' : 'Virtual'} clock wrong by ${e.seconds.toFixed(6)} seconds`;
    // chronyd's wording (smooth.c).
    case 'smoothing-activated': return `Time smoothing activated${e.leapOnly ? ' (leap seconds only)' : ''}`;
    // chronyd's wording and sign (reference.c): the adjustment the clock would need.
    case 'maxchange': return `Adjustment of ${e.offset.toFixed(3)} seconds exceeds the allowed maximum of ${e.limit.toFixed(3)} seconds (${e.fatal ? 'exiting' : 'ignored'})`;
  }
}

function kissEffect(e: Extract<EngineEvent, { type: 'kiss' }>): string {
  if (e.action === 'refused') return `: the server refuses us; asking again every poll, backing off to maxpoll (now every ${2 ** e.poll} s)`;
  if (e.action === 'reduce-rate') return ': the next request waits 4 poll intervals more';
  return '';
}

/** A number with its sign always shown, as chronyd prints offsets. */
export function signed(x: number, digits = 9): string {
  return `${x >= 0 ? '+' : ''}${x.toFixed(digits)}`;
}
