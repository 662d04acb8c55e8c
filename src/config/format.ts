/**
 * Config values written back as chrony.conf text, for `ntpkit validate`,
 * logs and the daemon's startup message: one line per source with the
 * options that differ from chrony's defaults (minpoll and maxpoll always).
 */
import { type DisciplineOptions } from '../core/engine/engine-api.js';
import { SOURCE_DEFAULTS, type SourceOptions } from '../core/engine/source-options.js';

/** `server HOST minpoll 4 maxpoll 10 iburst ...` as chrony.conf would spell it. */
export function formatSourceOptions(o: SourceOptions): string {
  const parts: string[] = [o.kind, o.host];
  if (o.port !== SOURCE_DEFAULTS.port) parts.push('port', String(o.port));
  parts.push('minpoll', String(o.minpoll), 'maxpoll', String(o.maxpoll));
  for (const flag of ['iburst', 'burst', 'prefer', 'noselect', 'trust', 'require', 'xleave', 'nts'] as const) if (o[flag]) parts.push(flag);
  if (o.maxdelay !== SOURCE_DEFAULTS.maxdelay) parts.push('maxdelay', String(o.maxdelay));
  if (o.minsamples !== null) parts.push('minsamples', String(o.minsamples));
  if (o.maxsamples !== null) parts.push('maxsamples', String(o.maxsamples));
  if (o.polltarget !== SOURCE_DEFAULTS.polltarget) parts.push('polltarget', String(o.polltarget));
  if (o.version !== SOURCE_DEFAULTS.version) parts.push('version', String(o.version));
  if (o.kind === 'pool') parts.push('maxsources', String(o.maxsources));
  if (o.key !== null) parts.push('key', String(o.key));
  if (o.ntsport !== SOURCE_DEFAULTS.ntsport) parts.push('ntsport', String(o.ntsport));
  for (const [name, v] of [
    ['minstratum', o.minstratum], ['offset', o.offset], ['filter', o.filter], ['maxdelayratio', o.maxdelayratio],
    ['maxdelaydevratio', o.maxdelaydevratio], ['mindelay', o.mindelay],
  ] as const) if (v !== SOURCE_DEFAULTS[name]) parts.push(name, String(v));
  if (o.asymmetry !== null) parts.push('asymmetry', String(o.asymmetry));
  if (o.presend !== null) parts.push('presend', String(o.presend));
  if (o.offline) parts.push('offline');
  if (o.autoOffline) parts.push('auto_offline');
  if (o.copy) parts.push('copy');
  if (o.family !== 'any') parts.push(o.family);
  return parts.join(' ');
}

/** Up to 3 decimals, no trailing zeros: 83333.333, 0.128, 3. */
function num(n: number): string {
  return String(Number(n.toFixed(3)));
}

/** The discipline settings as chrony.conf directives with their effective values. */
export function formatDiscipline(d: DisciplineOptions): string[] {
  return [
    d.makestep ? `makestep ${num(d.makestep.threshold)} ${d.makestep.limit}` : 'makestep (none: never step, only slew)',
    `maxslewrate ${num(d.maxslewrate)}`,
    d.maxchange ? `maxchange ${num(d.maxchange.offset)} ${d.maxchange.start} ${d.maxchange.ignore}` : 'maxchange (none)',
    `maxdistance ${num(d.maxdistance)}`,
    `minsources ${d.minsources}`,
    `maxdrift ${num(d.maxdrift)}`,
    `leapsecmode ${d.leapsecmode}`,
    `logchange ${num(d.logchange)}`,
    `maxclockerror ${num(d.maxclockerror)}`,
    d.smoothtime ? `smoothtime ${num(d.smoothtime.maxFreqPpm)} ${num(d.smoothtime.maxWanderPpm)}${d.smoothtime.leapOnly ? ' leaponly' : ''}` : 'smoothtime (none)',
  ];
}
