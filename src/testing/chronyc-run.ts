/** The real chronyc run once: its exit code and everything it printed (chronyc prints errors such as "506 Cannot talk to daemon" on stderr). */
import { execFile } from 'node:child_process';
import { toolPath } from './tools.js';

export interface ChronycOut { readonly code: number; readonly out: string }

export function runChronyc(args: readonly string[]): Promise<ChronycOut> {
  return new Promise((resolve) => {
    execFile(toolPath('chronyc'), [...args], { encoding: 'utf8', timeout: 10_000 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1;
      resolve({ code, out: stdout + stderr });
    });
  });
}
