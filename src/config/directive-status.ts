/**
 * Where each directive of a dialect stands, from the registry: implemented,
 * accepted with a warning (and why), or refused (and why). `ntpkit validate
 * --directives` prints it, so an operator can see before copying a config
 * which of its lines ntpkit acts on, which it only warns about and which stop
 * the daemon.
 */
import { type Dialect, type DialectForm } from './directive.js';
import { chronyDirective, directiveNames, ntpDirective } from './registry.js';

export type DirectiveStanding = 'implemented' | 'warning' | 'refused';

export interface DirectiveStatusRow {
  readonly name: string;
  readonly status: DirectiveStanding;
  /** Why it is only warned about or refused; '' when implemented or when the warning is chronyd's own. */
  readonly reason: string;
}

function standing(form: DialectForm<unknown>): { status: DirectiveStanding; reason: string } {
  const st = form.status;
  switch (st.kind) {
    case 'implemented': return { status: 'implemented', reason: '' };
    case 'refused': return { status: 'refused', reason: st.reason };
    case 'ignored': return { status: 'warning', reason: st.reason ?? st.warning ?? '' };
  }
}

/** Every directive name of the dialect, sorted, with its standing. */
export function directiveStatus(dialect: Dialect): DirectiveStatusRow[] {
  const find = dialect === 'chrony' ? chronyDirective : ntpDirective;
  return [...directiveNames(dialect)].sort().map((name) => {
    const found = find(name);
    if (found === undefined) throw new Error(`registry lists ${name} but cannot find it`);
    return { name, ...standing(found.form as DialectForm<unknown>) };
  });
}

/** The text `validate --directives` prints: a count line, then one line per directive. */
export function formatDirectiveStatus(dialect: Dialect, rows: readonly DirectiveStatusRow[]): string[] {
  const count = (s: DirectiveStanding): number => rows.filter((r) => r.status === s).length;
  const width = rows.reduce((w, r) => Math.max(w, r.name.length), 0);
  return [
    `${dialect === 'chrony' ? 'chrony.conf' : 'ntp.conf'} directives (${rows.length}): ${count('implemented')} implemented, `
      + `${count('warning')} accepted with a warning, ${count('refused')} refused (the daemon does not start)`,
    ...rows.map((r) => `  ${r.name.padEnd(width)}  ${r.status.padEnd(11)}${r.reason === '' ? '' : `  ${r.reason}`}`.trimEnd()),
  ];
}
