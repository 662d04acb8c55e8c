/**
 * `ntpkit validate -f FILE`: loads a chrony.conf or ntp.conf the way the
 * daemon does at start-up (the same parse, then the same loading of what
 * it names: daemon/config-resources.ts), prints every error and warning as
 * `file:line: message`, then what the daemon would run with: the sources
 * (one chrony.conf-style line each) and the key discipline, serving and
 * control settings. It binds nothing and writes nothing.
 */
import { commandEndpoints } from '../config/command-endpoints.js';
import { Command, Option } from 'commander';
import { type Config, type ConfigFormat } from '../config/config.js';
import { loadConfig } from '../config/parse-config.js';
import { loadRunnableConfig } from '../daemon/config-resources.js';
import { type ConfigDiagnostic, formatDiagnostic } from '../config/diagnostics.js';
import { directiveStatus, formatDirectiveStatus } from '../config/directive-status.js';
import { formatDiscipline, formatSourceOptions } from '../config/format.js';
import { ExitCode } from './exit-codes.js';
import type { Io } from './io.js';

interface ValidateFlags {
  config?: string;
  directives?: boolean;
  format: ConfigFormat | 'auto';
  json?: boolean;
}

const FORMAT_NAMES: Record<ConfigFormat, string> = { chrony: 'chrony.conf', ntp: 'ntp.conf' };

/** The effective settings, as text lines (no trailing newline). */
export function describeConfig(c: Config): string[] {
  const out: string[] = [];
  const where = (file: string, line: number): string => `${file}:${line}`;
  out.push(`Format: ${FORMAT_NAMES[c.format]}`);
  out.push(`Files read: ${c.files.join(', ')}`);
  out.push('');
  out.push(`Sources (${c.sources.length}):`);
  if (c.sources.length === 0) out.push('  (none: the clock would only free-run)');
  const texts = c.sources.map((s) => formatSourceOptions(s.options));
  // A loop, not Math.max(...): spreading a config's worth of sources overflows the call stack.
  const width = texts.reduce((w, t) => Math.max(w, t.length), 0);
  c.sources.forEach((s, i) => out.push(`  ${(texts[i] as string).padEnd(width)}  # ${where(s.file, s.line)}`));
  out.push('');
  out.push('Discipline:');
  for (const l of formatDiscipline(c.discipline)) out.push(`  ${l}`);
  out.push(`  driftfile ${c.driftfile ?? '(none)'}`);
  if (c.leapsectz !== null) out.push(`  leapsectz ${c.leapsectz}`);
  if (c.leapseclist !== null) out.push(`  leapseclist ${c.leapseclist}`);
  out.push('');
  const srv = c.server;
  const allows = srv.access.filter((a) => a.allow).length;
  if (srv.port === 0) out.push('NTP server: off (port 0)');
  else if (allows === 0) out.push(`NTP server: off (no allow rule; port ${srv.port} stays closed, as in chronyd)`);
  else {
    out.push(`NTP server: port ${srv.port} on ${srv.bindAddresses.length > 0 ? srv.bindAddresses.join(', ') : 'every address'}`);
    for (const a of srv.access) {
      out.push(`  ${a.allow ? 'allow' : 'deny'}${a.all ? ' all' : ''}${a.subnet === null ? '' : ` ${a.subnet}`}  # ${a.line > 0 ? where(a.file, a.line) : `${a.file} (ntpd serves everyone by default)`}`);
    }
    if (srv.local) out.push(`  local stratum ${srv.local.stratum}${srv.local.orphan ? ' orphan' : ''} distance ${srv.local.distance}`);
    if (srv.rateLimit) out.push(`  ratelimit interval ${srv.rateLimit.interval} burst ${srv.rateLimit.burst} leak ${srv.rateLimit.leak} kod ${srv.rateLimit.kod}`);
  }
  out.push(`Control socket: ${c.controlsocket === '/' ? 'off (controlsocket /)' : c.controlsocket}`);
  const cmd = commandEndpoints(c.command);
  out.push(`chronyc's command socket: ${cmd.socketPath ?? 'off (bindcmdaddress /)'}; UDP: ${cmd.port === 0 ? 'off (cmdport 0)' : cmd.udpAddresses.map((a) => (a.includes(':') ? `[${a}]:${cmd.port}` : `${a}:${cmd.port}`)).join(', ')}`);
  if (c.logdir !== null || c.log.length > 0) out.push(`Logs: ${c.log.length > 0 ? c.log.join(' ') : '(none)'} in ${c.logdir ?? '(no logdir)'}`);
  if (c.logfile !== null) out.push(`Log file: ${c.logfile}`);
  return out;
}

/** Files are checked as the user running validate; the daemon usually runs as another (root). */
function permissionNote(ds: readonly ConfigDiagnostic[]): string | null {
  const uid = process.getuid?.();
  if (uid === undefined || uid === 0 || !ds.some((d) => /\b(EACCES|EPERM)\b/.test(d.message))) return null;
  return `Note: checked as uid ${uid}; the daemon reads and writes these files as the user it runs as: run validate as that user (e.g. with sudo)`;
}

export function validateCommand(io: Io): Command {
  return new Command('validate')
    .description('check a chrony.conf or ntp.conf as the daemon would load it, and show the sources and settings it would run with')
    .option('-f, --config <file>', 'the config file (include/confdir/includefile are followed)')
    .addOption(new Option('--format <format>', 'file format: chrony, ntp, or auto (by file name, then by content)').choices(['chrony', 'ntp', 'auto']).default('auto'))
    .option('--json', 'print one JSON document (schema ntpkit.validate/1, or ntpkit.directives/1 with --directives)')
    .option('--directives', 'list every directive of the format (chrony unless --format ntp) and whether ntpkit implements it, only warns about it, or refuses to start with it')
    .addHelpText('after', `
It checks what the daemon checks at start-up: the files the config names
(key file, NTS certificates and keys) as this user can read them, and the
addresses it binds as this machine has them; a port in use or not permitted
shows only when the daemon binds it. Run it as the daemon's user.

Exit status: 0 when the file loads (warnings allowed), 1 when it has errors
(the daemon would not start), 2 usage error.`)
    .action(async (flags: ValidateFlags) => {
      if (flags.directives) {
        const dialect = flags.format === 'ntp' ? 'ntp' : 'chrony';
        const rows = directiveStatus(dialect);
        io.out(flags.json ? JSON.stringify({ schema: 'ntpkit.directives/1', format: dialect, directives: rows }, null, 2) : formatDirectiveStatus(dialect, rows).join('\n'));
        io.setExitCode(ExitCode.OK);
        return;
      }
      if (flags.config === undefined) {
        io.err('ntpkit validate: -f FILE is required (or --directives)');
        io.setExitCode(ExitCode.USAGE);
        return;
      }
      const file = flags.config;
      const r = await loadRunnableConfig(await loadConfig(file, { format: flags.format }));
      const valid = r.ok;
      const errors = r.ok ? [] : r.errors;
      if (flags.json) {
        io.out(JSON.stringify({
          schema: 'ntpkit.validate/1',
          file,
          valid,
          errors,
          warnings: r.warnings,
          config: r.ok ? { ...r.config, sources: r.config.sources.map((s) => ({ ...s, text: formatSourceOptions(s.options) })) } : null,
        }, null, 2));
      } else {
        const out: string[] = [];
        const list = (title: string, ds: readonly ConfigDiagnostic[]): void => {
          if (ds.length === 0) return;
          out.push(`${title} (${ds.length}):`);
          for (const d of ds) out.push(`  ${formatDiagnostic(d)}`);
        };
        list('Errors', errors);
        list('Warnings', r.warnings);
        const note = permissionNote([...errors, ...r.warnings]);
        if (note !== null) out.push(note);
        if (r.ok) {
          if (out.length > 0) out.push('');
          for (const l of describeConfig(r.config)) out.push(l);
          out.push('', `${file}: valid${r.warnings.length > 0 ? ` (${r.warnings.length} warning${r.warnings.length > 1 ? 's' : ''})` : ''}`);
        } else {
          out.push('', `${file}: invalid: ${errors.length} error${errors.length > 1 ? 's' : ''}; the daemon would not start`);
        }
        io.out(out.join('\n'));
      }
      io.setExitCode(valid ? ExitCode.OK : ExitCode.GENERAL_FAILURE);
    });
}
