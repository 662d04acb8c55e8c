/**
 * `ntpkit convert NTP.CONF`: writes the chrony.conf equivalent of an ntpd
 * configuration (config/ntp-to-chrony.ts), for an operator moving from ntpd
 * to chrony or ntpkit. The text goes to stdout, or with -o to a file written
 * atomically; a summary of what could not be converted goes to stderr.
 */
import { Command } from 'commander';
import { CONFIG_READ_LIMITS, describeError, readRegularFile } from '../config/bounded-read.js';
import { ntpConfToChrony } from '../config/ntp-to-chrony.js';
import { writeFileAtomic } from '../daemon/atomic-write.js';
import { ExitCode } from './exit-codes.js';
import type { Io } from './io.js';

interface ConvertFlags {
  output?: string;
}

export function convertCommand(io: Io): Command {
  return new Command('convert')
    .description('write the chrony.conf equivalent of an ntp.conf: sources with their options, driftfile, restrict as allow/deny, keys, tinker/tos; lines chrony has no equivalent for stay as comments with the reason')
    .argument('<ntp.conf>', 'the ntpd configuration to convert')
    .option('-o, --output <file>', 'write the chrony.conf here (atomically) instead of stdout')
    .addHelpText('after', `
Comments, blank lines and the order of the file are kept. Check the result
with: ntpkit validate -f FILE (or chronyd -p -f FILE).
Exit status: 0 converted (even with lines kept as comments); 1 the input or
output file could not be read or written.`)
    .action(async (file: string, flags: ConvertFlags) => {
      let text: string;
      try {
        const r = readRegularFile(file, CONFIG_READ_LIMITS.fileBytes);
        if (r.truncated) throw new Error(`larger than ${CONFIG_READ_LIMITS.fileBytes} bytes: not an ntp.conf`);
        text = r.data.toString('utf8');
      } catch (e) {
        io.err(`ntpkit convert: cannot read ${file}: ${describeError(e)}`);
        io.setExitCode(ExitCode.GENERAL_FAILURE);
        return;
      }
      const r = ntpConfToChrony(text, file);
      if (flags.output !== undefined) {
        try {
          await writeFileAtomic(flags.output, r.text, 0o644);
        } catch (e) {
          io.err(`ntpkit convert: cannot write ${flags.output}: ${describeError(e)}`);
          io.setExitCode(ExitCode.GENERAL_FAILURE);
          return;
        }
      } else {
        io.out(r.text.replace(/\n$/, ''));
      }
      const kept = r.commented.length === 0 ? 'none kept as comments' : `${r.commented.length} kept as comments (line${r.commented.length === 1 ? '' : 's'} ${r.commented.map((c) => c.line).join(', ')}: see the "#ntp.conf:" lines)`;
      io.err(`ntpkit convert: ${file}: ${r.converted} directive${r.converted === 1 ? '' : 's'} converted, ${kept}${flags.output !== undefined ? `; wrote ${flags.output}` : ''}`);
      io.setExitCode(ExitCode.OK);
    });
}
