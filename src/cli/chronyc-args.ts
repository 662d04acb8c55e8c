/**
 * chronyc's own command line in front of a command: `ntpkit [-h HOST[,HOST...]]
 * [-p PORT] [-n] [-N] [-c] [-a] [-m] COMMAND...`. Without -m the remaining
 * words are one command; with -m each word is a whole command ("tracking"
 * "sources -v"), run in turn until one fails, as chronyc's process_args does.
 * The options go to each command that takes them (-h as --host, ...).
 */
import type { Command } from 'commander';

export interface ChronycInvocation {
  /** Each command's words, with the global options it takes appended. */
  readonly commands: readonly (readonly string[])[];
}

const FLAG_OPTIONS: Readonly<Record<string, string>> = { '-n': '--numeric', '-N': '--source-names', '-c': '--csv', '-a': '--all' };

/** True when `argv` starts with one of chronyc's global options (other than a lone -h, which is help). */
export function isChronycStyle(argv: readonly string[]): boolean {
  const first = argv[0];
  if (first === undefined) return false;
  if (first === '-h' || first === '-p') return argv.length > 2;
  return first === '-m' || first in FLAG_OPTIONS;
}

/** Splits the global options from the commands; null with a message when they cannot be read. */
export function parseChronycArgs(argv: readonly string[], program: Command): ChronycInvocation | { readonly error: string } {
  let host: string | undefined;
  let port: string | undefined;
  let multi = false;
  const flags = new Set<string>();
  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '-h' || a === '-p') {
      const v = argv[++i];
      if (v === undefined) return { error: `option ${a} needs a value` };
      if (a === '-h') host = v; else port = v;
    } else if (a === '-m') multi = true;
    else if (a in FLAG_OPTIONS) flags.add(a);
    else break;
  }
  const rest = argv.slice(i);
  if (rest.length === 0) return { error: 'no command given' };
  const lines = multi ? rest.map((w) => w.trim().split(/\s+/).filter((x) => x !== '')) : [[...rest]];
  const commands = lines.filter((l) => l.length > 0).map((words) => {
    const cmd = program.commands.find((c) => c.name() === words[0]);
    const takes = (long: string): boolean => cmd?.options.some((o) => o.long === long) === true;
    const extra: string[] = [];
    if (host !== undefined && takes('--host')) extra.push('--host', host);
    if (port !== undefined && takes('--port')) extra.push('--port', port);
    for (const f of flags) if (takes(FLAG_OPTIONS[f] as string)) extra.push(FLAG_OPTIONS[f] as string);
    return [...words, ...extra];
  });
  return { commands };
}
