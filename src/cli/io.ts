/** What a command may do to the outside world, so commands run in-process under test. */
export interface Io {
  out(text: string): void;
  err(text: string): void;
  setExitCode(code: number): void;
}

export const processIo: Io = {
  out: (t) => { process.stdout.write(t.endsWith('\n') ? t : `${t}\n`); },
  err: (t) => { process.stderr.write(t.endsWith('\n') ? t : `${t}\n`); },
  setExitCode: (c) => { process.exitCode = c; },
};
