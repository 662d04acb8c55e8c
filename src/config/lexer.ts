/**
 * chrony.conf lines: one directive per line, arguments separated by blanks,
 * comments starting with `#`, `%`, `;` or `!` (chrony.conf(5)). Directive
 * names are compared case-insensitively, as chronyd does.
 */

export interface ConfigLine {
  readonly file: string;
  readonly line: number;
  /** Lower-cased directive name. */
  readonly directive: string;
  readonly args: readonly string[];
}

const COMMENT = /^[#%;!]/;

export function lexChronyConf(text: string, file: string): ConfigLine[] {
  const out: ConfigLine[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const trimmed = (lines[i] as string).trim();
    if (trimmed === '' || COMMENT.test(trimmed)) continue;
    const [directive, ...args] = trimmed.split(/\s+/) as [string, ...string[]];
    out.push({ file, line: i + 1, directive: directive.toLowerCase(), args });
  }
  return out;
}
