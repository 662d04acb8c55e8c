/**
 * The hosts file of `ntpkit fleet -f FILE`: one `HOST[:PORT]` or
 * `[IPv6]:PORT` per line, then optionally a label (the rest of the line);
 * `#` starts a comment; blank lines are skipped. Every bad line is reported
 * as `file:line: what is wrong`, and nothing is queried.
 */
import { parseTarget } from '../net/target.js';

export interface FleetHost {
  /** The operand as written. */
  readonly spec: string;
  readonly host: string;
  readonly port: number;
  readonly label: string | null;
  /** `file:line`, or null for a command-line operand. */
  readonly origin: string | null;
}

export type HostsParse = { readonly ok: true; readonly hosts: readonly FleetHost[] } | { readonly ok: false; readonly errors: readonly string[] };

export function parseHostsFile(text: string, file: string, defaultPort: number): HostsParse {
  const hosts: FleetHost[] = [];
  const errors: string[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const hash = raw.indexOf('#');
    const line = (hash >= 0 ? raw.slice(0, hash) : raw).trim();
    if (line === '') return;
    const [spec = '', ...rest] = line.split(/\s+/);
    const origin = `${file}:${i + 1}`;
    const t = parseTarget(spec, defaultPort);
    if (!t.ok) { errors.push(`${origin}: ${t.message}`); return; }
    hosts.push({ spec, host: t.target.host, port: t.target.port, label: rest.length > 0 ? rest.join(' ') : null, origin });
  });
  return errors.length > 0 ? { ok: false, errors } : { ok: true, hosts };
}

/** Command-line operands, each checked like a hosts-file line. */
export function parseHostOperands(specs: readonly string[], defaultPort: number): HostsParse {
  const hosts: FleetHost[] = [];
  const errors: string[] = [];
  for (const spec of specs) {
    const t = parseTarget(spec, defaultPort);
    if (t.ok) hosts.push({ spec, host: t.target.host, port: t.target.port, label: null, origin: null });
    else errors.push(t.message);
  }
  return errors.length > 0 ? { ok: false, errors } : { ok: true, hosts };
}
