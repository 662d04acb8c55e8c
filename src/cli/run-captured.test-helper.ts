/** Test helper: the CLI run in-process, its output captured as processIo would write it. */
import { run } from './main.js';

/** Runs `ntpkit ARGS` and returns the exit code and what it printed, a newline added only where the text lacks one (as processIo writes). */
export async function runCaptured(args: readonly string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const line = (t: string): string => (t.endsWith('\n') ? t : `${t}\n`);
  const code = await run(args, { out: (t) => { out += line(t); }, err: (t) => { err += line(t); }, setExitCode: () => undefined });
  return { code, out, err };
}
