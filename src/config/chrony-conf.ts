/**
 * chrony.conf for the daemon, with chrony's syntax, ranges and defaults
 * (chrony.conf(5), chrony 4.3 to 4.6). Each line is looked up in the
 * directive registry: implemented directives fill the Config, the other
 * chrony directives get a warning naming them, anything else is an error.
 * As in chronyd, a later line wins for single-valued directives, and
 * include/confdir/sourcedir files are read in place, where the directive
 * stands.
 */
import { errorAt, type ParseState, recordOrigin } from './config-builder.js';
import { applyStatus, type LineContext } from './directive.js';
import { type ConfigLine, lexChronyConf } from './lexer.js';
import { chronyDirective } from './registry.js';

/** Directives a `sourcedir` file may hold (chrony.conf(5), sourcedir). */
const SOURCEDIR_DIRECTIVES: ReadonlySet<string> = new Set(['server', 'pool', 'peer', 'refclock']);

/** A sourcedir file holds sources only; anything else there is an error, whatever it is. */
function allowedHere(s: ParseState, l: ConfigLine, ctx: LineContext): boolean {
  if (!ctx.onlySources || SOURCEDIR_DIRECTIVES.has(l.directive)) return true;
  errorAt(s, l, `"${l.directive}" is not allowed in a sourcedir file (only server, pool, peer and refclock)`);
  return false;
}

/** One line: where it is allowed, what it is, where it was written, then what its status says. */
function applyChronyLine(s: ParseState, l: ConfigLine, ctx: LineContext): void {
  if (!allowedHere(s, l, ctx)) return;
  const found = chronyDirective(l.directive);
  if (found === undefined) { errorAt(s, l, `unknown directive "${l.directive}"`); return; }
  if (found.directive.origin) recordOrigin(s, l, l.directive);
  applyStatus(s, l, found.form.status, ctx);
}

/**
 * Applies chrony.conf lines to the builder. `depth` counts include levels;
 * `onlySources` is set inside sourcedir files, which may hold only sources.
 */
export function parseChronyLines(s: ParseState, lines: readonly ConfigLine[], depth = 0, onlySources = false): void {
  const ctx: LineContext = {
    depth,
    onlySources,
    parseFile: (text, file, sourcesOnly) => parseChronyLines(s, lexChronyConf(text, file), depth + 1, sourcesOnly),
  };
  for (const l of lines) applyChronyLine(s, l, ctx);
}
