/**
 * docs/config.md's directive reference, rendered from the registry so the
 * doc cannot drift from what the parsers do: `node scripts/config-reference.js`
 * rewrites the marked section, and reference-table.test.ts fails when the
 * committed doc differs from this rendering.
 */
import { type DialectForm, type Directive } from './directive.js';
import { DIRECTIVES } from './registry.js';
import { SOURCE_OPTIONS } from './source-line.js';

export const REFERENCE_START = '<!-- directive reference: generated from src/config/directives by scripts/config-reference.js; do not edit -->';
export const REFERENCE_END = '<!-- end of directive reference -->';

/** A table cell: pipes escaped, as GitHub's tables need even inside code spans. */
function cell(text: string): string {
  return text.replace(/\|/g, '\\|');
}

function form(f: DialectForm<unknown> | undefined): string {
  if (f === undefined) return '';
  const names = f.names.map((n) => `\`${n}\``).join(', ');
  return cell(`${names}${f.grammar === '' ? '' : ` \`${f.grammar}\``}`) + (f.status.kind === 'ignored' ? ' (warning)' : '');
}

function why(f: DialectForm<unknown> | undefined): string | null {
  if (f === undefined) return null;
  const st = f.status;
  if (st.kind === 'refused') return st.reason;
  if (st.kind !== 'ignored') return null;
  if (st.reason) return st.reason;
  if (st.args !== undefined) return `chronyd's argument count (${st.args}) is checked`;
  return null;
}

function isImplemented(d: Directive): boolean {
  return d.chrony?.status.kind === 'implemented' || d.ntp?.status.kind === 'implemented';
}

function statusIs(d: Directive, kind: 'ignored' | 'refused'): boolean {
  return !isImplemented(d) && (d.chrony?.status.kind === kind || d.ntp?.status.kind === kind);
}

function implementedTable(): string[] {
  const rows = DIRECTIVES.filter(isImplemented).map((d) => {
    const readBy = d.consumer === null ? '' : `\`${d.consumer}\``;
    const ext = d.extension ? 'ntpkit\'s own. ' : '';
    const server = d.server ? ' Also read by `ntpkit server`.' : '';
    return `| ${form(d.chrony)} | ${form(d.ntp)} | ${cell(d.default)} | ${d.field === null ? '' : `\`${d.field}\``} | ${readBy} | ${cell(ext + d.doc + server).trim()} |`;
  });
  return ['| chrony.conf | ntp.conf | default | sets | read by | notes |', '|---|---|---|---|---|---|', ...rows];
}

function notImplementedTable(kind: 'ignored' | 'refused'): string[] {
  const rows = DIRECTIVES.filter((d) => statusIs(d, kind)).map((d) => {
    const reasons = [why(d.chrony), why(d.ntp)].filter((r): r is string => r !== null);
    return `| ${form(d.chrony).replace(' (warning)', '')} | ${form(d.ntp).replace(' (warning)', '')} | ${cell([...new Set(reasons)].join('; '))} |`;
  });
  return rows.length === 0 ? [] : ['| chrony.conf | ntp.conf | why |', '|---|---|---|', ...rows];
}

function optionsTable(): string[] {
  const names = (n: readonly string[] | undefined): string => (n === undefined ? '' : n.map((x) => `\`${x}\``).join(', '));
  const rows = SOURCE_OPTIONS.map((o) => {
    const e = o.effect;
    const kind = 'flag' in e || 'set' in e ? 'flag' : 'ignored' in e ? `warning (${e.ignored})` : 'refused' in e ? 'refused' : 'value';
    return `| ${names(o.chrony)} | ${names(o.ntp)} | ${kind} | ${cell(o.doc)} |`;
  });
  return ['| chrony.conf | ntp.conf | kind | notes |', '|---|---|---|---|', ...rows];
}

/** The whole generated section, markers included. */
export function renderReference(): string {
  const refused = notImplementedTable('refused');
  return [
    REFERENCE_START,
    '',
    '### Implemented directives',
    '',
    '"default" is chrony.conf\'s (an ntp.conf starts from ntpd\'s discipline defaults, above). "read by" is the module that acts',
    'on the setting. "(warning)" marks a dialect\'s form that is accepted with a warning.',
    '',
    ...implementedTable(),
    '',
    '### Source options (`server`, `pool`, `peer`)',
    '',
    ...optionsTable(),
    '',
    '### Accepted with a warning',
    '',
    'Known to chronyd or ntpd and not implemented by ntpkit, but changing nothing a user can observe in ntpkit (or obsolete in chronyd',
    'itself), or written in an ntp.conf: the config loads, with a warning naming each one and why.',
    '',
    ...notImplementedTable('ignored'),
    ...(refused.length === 0 ? [] : ['', '### Refused', '', 'Known to chronyd, not implemented by ntpkit, and changing what the daemon would do: a config using one does not',
      'load (the daemon does not start, a reload is refused), with an error naming the file, the line and the reason.', '', ...refused]),
    '',
    REFERENCE_END,
  ].join('\n');
}

/** `doc` with its generated section replaced by the current rendering; null when the markers are missing. */
export function withReference(doc: string): string | null {
  const start = doc.indexOf(REFERENCE_START);
  const end = doc.indexOf(REFERENCE_END);
  if (start < 0 || end < start) return null;
  return doc.slice(0, start) + renderReference() + doc.slice(end + REFERENCE_END.length);
}
