/**
 * Every directive ntpkit knows, in both dialects, gathered from
 * directives/*.ts. To add one: declare it there (names, grammar, status,
 * field, consumer, default, doc) and read its field in the consumer; the
 * parsers, `ntpkit server`, the format guess, docs/config.md's reference
 * table and the fuzz dictionary follow from the declaration.
 */
import { type Dialect, type DialectForm, type Directive } from './directive.js';
import { ACQUISITION_DIRECTIVES } from './directives/acquisition.js';
import { CONTROL_DIRECTIVES } from './directives/control.js';
import { DISCIPLINE_DIRECTIVES } from './directives/discipline.js';
import { FILE_DIRECTIVES } from './directives/files.js';
import { IGNORED_DIRECTIVES } from './directives/ignored.js';
import { LOGGING_DIRECTIVES } from './directives/logging.js';
import { NTS_DIRECTIVES } from './directives/nts.js';
import { PROCESS_DIRECTIVES } from './directives/process.js';
import { SERVING_DIRECTIVES } from './directives/serving.js';
import { REFCLOCK_DIRECTIVES } from './directives/refclock.js';
import { SOURCE_DIRECTIVES } from './directives/sources.js';

export type { Dialect } from './directive.js';

export const DIRECTIVES: readonly Directive[] = [
  ...SOURCE_DIRECTIVES, ...REFCLOCK_DIRECTIVES, ...ACQUISITION_DIRECTIVES, ...DISCIPLINE_DIRECTIVES, ...SERVING_DIRECTIVES, ...NTS_DIRECTIVES, ...FILE_DIRECTIVES,
  ...LOGGING_DIRECTIVES, ...CONTROL_DIRECTIVES, ...PROCESS_DIRECTIVES, ...IGNORED_DIRECTIVES,
];

export interface Found<D extends Dialect> {
  readonly directive: Directive;
  readonly form: NonNullable<Directive[D]>;
}

function index<D extends Dialect>(dialect: D): ReadonlyMap<string, Found<D>> {
  const m = new Map<string, Found<D>>();
  for (const directive of DIRECTIVES) {
    const form = directive[dialect] as NonNullable<Directive[D]> | undefined;
    for (const name of (form as DialectForm<unknown> | undefined)?.names ?? []) {
      // A name declared twice would make one declaration dead; fail at load, where every test sees it.
      if (m.has(name)) throw new Error(`directive ${name} is declared twice for ${dialect}`);
      m.set(name, { directive, form: form as NonNullable<Directive[D]> });
    }
  }
  return m;
}

const CHRONY = index('chrony');
const NTP = index('ntp');

export function chronyDirective(name: string): Found<'chrony'> | undefined {
  return CHRONY.get(name);
}

export function ntpDirective(name: string): Found<'ntp'> | undefined {
  return NTP.get(name);
}

/** Every directive name of a dialect. */
export function directiveNames(dialect: Dialect): readonly string[] {
  return [...(dialect === 'chrony' ? CHRONY : NTP).keys()];
}

/** Names only `dialect` has: a config using one is likely in that dialect. */
export function namesOnlyIn(dialect: Dialect): ReadonlySet<string> {
  const other = dialect === 'chrony' ? NTP : CHRONY;
  return new Set(directiveNames(dialect).filter((n) => !other.has(n)));
}
