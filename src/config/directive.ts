/**
 * The shape of one configuration directive, as declared in directives/*.ts:
 * its spelling, arguments and status in each dialect (chrony.conf, ntp.conf),
 * what it sets, and which module reads what it sets. Both parsers, `ntpkit
 * server`, the format guess, the docs table and the fuzz dictionary are all
 * derived from these declarations (registry.ts), so a directive is known
 * everywhere once it is declared.
 */
import { errorAt, type ParseState, warnAt } from './config-builder.js';
import { type ConfigDiagnostic } from './diagnostics.js';
import { type ConfigLine } from './lexer.js';
import { type NtpParseState } from './ntp-state.js';
import { type ServerConfigBuilder } from './server-config.js';

/** The two config file formats. */
export type Dialect = 'chrony' | 'ntp';

/** Where a line stands: include depth, whether sourcedir rules apply, and how to parse a file it pulls in. */
export interface LineContext {
  readonly depth: number;
  readonly onlySources: boolean;
  /** Parses an included file's text in place, one level deeper. */
  readonly parseFile: (text: string, file: string, onlySources: boolean) => void;
}

export type ChronyHandler = (s: ParseState, l: ConfigLine, ctx: LineContext) => void;
export type NtpHandler = (s: NtpParseState, l: ConfigLine, ctx: LineContext) => void;

/** Where a server directive reports its problems. */
export interface Diagnostics {
  readonly errors: ConfigDiagnostic[];
  readonly warnings: ConfigDiagnostic[];
}

/** A directive of the NTP server side, applied the same way by the daemon and by `ntpkit server`. */
export type ServerHandler = (b: ServerConfigBuilder, l: ConfigLine, d: Diagnostics) => void;

export type Status<H> =
  | { readonly kind: 'implemented'; readonly apply: H }
  /**
   * Accepted with a warning. `args`: the argument count chronyd insists on
   * (a line it would refuse is an error here too); `reason`: why ntpkit
   * ignores it; `warning`: the whole message, where it is not the usual one;
   * `check`: checks the arguments and gives the warning itself.
   */
  | { readonly kind: 'ignored'; readonly args?: number; readonly reason?: string; readonly warning?: string; readonly check?: H }
  /** An error naming the reason: the config does not load. */
  | { readonly kind: 'refused'; readonly reason: string };

export interface DialectForm<H> {
  /** The names it goes by in this dialect (several for server/pool/peer and the like). */
  readonly names: readonly string[];
  /** Its arguments, as the reference table shows them. */
  readonly grammar: string;
  readonly status: Status<H>;
}

export interface Directive {
  readonly chrony?: DialectForm<ChronyHandler>;
  readonly ntp?: DialectForm<NtpHandler>;
  /** ntpkit's own directive, which chronyd does not know: `ntpkit server` refuses it unless it has a server handler. */
  readonly extension?: boolean;
  /** Set when `ntpkit server` takes it too, with this handler. */
  readonly server?: ServerHandler;
  /** chrony.conf: the line names a file or address the daemon loads or binds, so where it was written is kept (Config.origins). */
  readonly origin?: boolean;
  /** The Config field it sets, as a path ('discipline.makestep'); null when it sets nothing. */
  readonly field: string | null;
  /** The module that reads that field; null when nothing does. */
  readonly consumer: string | null;
  /** Its value when the directive is absent, as the reference table shows it. */
  readonly default: string;
  /** What the reference table says about it beyond its status. */
  readonly doc: string;
}

export function implemented<H>(apply: H): Status<H> {
  return { kind: 'implemented', apply };
}

/** Names a directive accepted with a warning, in either dialect. */
export function ignored<H>(opts: { args?: number; reason?: string; warning?: string; check?: H } = {}): Status<H> {
  return { kind: 'ignored', ...opts };
}

/** Names a directive that refuses to start, with the reason the error gives. */
export function refused<H>(reason: string): Status<H> {
  return { kind: 'refused', reason };
}

/** The daemon applies a server directive to its own server settings, reporting into the parse state. */
export function viaServer(h: ServerHandler): ChronyHandler {
  return (s, l) => h(s.b.server, l, s);
}

/** Applies a line by its status in its dialect: the one place the three statuses are acted on. */
export function applyStatus<S extends ParseState>(s: S, l: ConfigLine, status: Status<(s: S, l: ConfigLine, ctx: LineContext) => void>, ctx: LineContext): void {
  const d = l.directive;
  switch (status.kind) {
    case 'implemented':
      status.apply(s, l, ctx);
      return;
    case 'refused':
      errorAt(s, l, `${d}: ${status.reason}`);
      return;
    case 'ignored': {
      if (status.check) { status.check(s, l, ctx); return; }
      const want = status.args;
      if (want !== undefined && l.args.length !== want) {
        errorAt(s, l, `${d}: expected ${want === 0 ? 'no arguments' : want === 1 ? 'one argument' : `${want} arguments`}, got "${l.args.join(' ')}"`);
        return;
      }
      warnAt(s, l, status.warning ?? (status.reason ? `${d}: not implemented by ntpkit (${status.reason}), ignored` : `${d}: not implemented by ntpkit, ignored`));
    }
  }
}
