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

/**
 * ntp.conf lines (ntp.conf(5), NTPsec's too): a `#` starts a comment
 * anywhere on a line; arguments are separated by blanks; a double-quoted
 * string is one argument (file names with spaces). Directive names are
 * lower-cased like chrony's so both parsers compare them the same way.
 */
export function lexNtpConf(text: string, file: string): ConfigLine[] {
  const out: ConfigLine[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const words: string[] = [];
    const src = lines[i] as string;
    let j = 0;
    while (j < src.length) {
      const c = src[j] as string;
      if (c === '#') break;
      if (/\s/.test(c)) { j++; continue; }
      if (c === '"') {
        const end = src.indexOf('"', j + 1);
        const stop = end < 0 ? src.length : end;
        words.push(src.slice(j + 1, stop));
        j = stop + 1;
        continue;
      }
      let k = j;
      while (k < src.length && !/\s/.test(src[k] as string) && src[k] !== '#') k++;
      words.push(src.slice(j, k));
      j = k;
    }
    if (words.length === 0) continue;
    const [directive, ...args] = words as [string, ...string[]];
    out.push({ file, line: i + 1, directive: directive.toLowerCase(), args });
  }
  return out;
}
