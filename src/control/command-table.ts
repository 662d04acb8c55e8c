/**
 * The commands a control socket serves, and the reply to one request line:
 * parsed, checked against the socket's access, run, and any failure turned
 * into an error reply so the server keeps serving.
 */
import type { CommandCounts } from '../core/server/server-stats.js';
import { ControlError } from './errors.js';
import {
  COMMAND_NAME, type ControlReply, errorReply, HANDLER_ERROR_CODES, parseRequest, PROTOCOL_VERSION, type RequestId,
} from './protocol.js';

/** What a handler is called with besides its arguments. */
export interface HandlerContext {
  readonly command: string;
}

/**
 * A command. Its return value (or what its promise resolves to) is the
 * reply's `result` and must be JSON-serializable. Throw
 * `new ControlError('bad-args', ...)` to refuse the arguments; anything else
 * thrown becomes a `handler-failed` reply.
 */
export type ControlHandler = (args: Readonly<Record<string, unknown>>, ctx: HandlerContext) => unknown;

/**
 * A command with what it may be used by. `open`: monitoring that changes
 * nothing and reveals no client addresses, served on the read-only socket
 * too (chronyd's commands allowed from the network: tracking, sources,
 * activity...); `local`: only on the main socket (every changing command,
 * and clients, serverstats, ntpdata, as chronyd allows them only locally).
 * A bare handler is `local`.
 */
export interface ControlCommandSpec {
  readonly run: ControlHandler;
  readonly access: 'open' | 'local';
  /** Whether the command changes the daemon's state (documentation, `commands`' reply). */
  readonly changes: boolean;
}

export type ControlLogLevel = 'debug' | 'info' | 'warn' | 'error';


export interface CommandTableOptions {
  /** The socket's path, named when a read-only socket refuses a command. */
  readonly path: string;
  /** Serve only `open` commands; the others are refused with `not-permitted`, naming `mainPath`. */
  readonly readOnly?: boolean;
  readonly mainPath?: string;
  readonly log: (level: ControlLogLevel, message: string) => void;
  /** Where the requests received are counted. */
  readonly counts?: CommandCounts;
}

export class CommandTable {
  private readonly handlers = new Map<string, ControlCommandSpec>();
  /** Commands served, sorted. */
  readonly names: readonly string[];

  /** Throws a RangeError for a name that is not lower-case letters, digits and '-'. */
  constructor(handlers: Readonly<Record<string, ControlHandler | ControlCommandSpec>>, private readonly opts: CommandTableOptions) {
    for (const [name, h] of Object.entries(handlers)) {
      if (!COMMAND_NAME.test(name)) throw new RangeError(`Cannot register control command ${JSON.stringify(name)}: names are lower-case letters, digits and '-'`);
      this.handlers.set(name, typeof h === 'function' ? { run: h, access: 'local', changes: true } : h);
    }
    // `commands` lists what this daemon serves, so clients can tell what it supports; a handler of that name wins.
    if (!this.handlers.has('commands')) {
      this.handlers.set('commands', { access: 'open', changes: false, run: () => this.describe() });
    }
    this.names = Object.freeze([...this.handlers.keys()].sort());
  }

  async answer(line: string): Promise<ControlReply> {
    const { log } = this.opts;
    const parsed = parseRequest(line);
    if (!parsed.ok) {
      log('debug', `bad control request: ${parsed.error.message}`);
      return errorReply(parsed.id, parsed.error.code, parsed.error.message);
    }
    const { id, command, args } = parsed.request;
    if (this.opts.counts) this.opts.counts.received++;
    return this.call(command, args, id);
  }

  /**
   * Runs one command by name, as a request line naming it would: chronyc's
   * protocol (daemon/candm) reaches the same handlers this way. Never throws.
   */
  async call(command: string, args: Readonly<Record<string, unknown>>, id: RequestId | null = null): Promise<ControlReply> {
    const { log } = this.opts;
    const spec = this.handlers.get(command);
    if (!spec) return errorReply(id, 'unknown-command', `Unknown command "${command}"; this daemon serves: ${this.names.join(', ')}`);
    if (this.opts.readOnly && spec.access !== 'open') {
      const main = this.opts.mainPath ?? 'the main control socket';
      return errorReply(id, 'not-permitted', `Command "${command}" is not served on the read-only socket ${this.opts.path}: it needs write permission on ${main} (run as root or as a member of its group)`);
    }
    try {
      const result = await spec.run(args, { command });
      return { version: PROTOCOL_VERSION, id, ok: true, result: result === undefined ? null : result };
    } catch (e) {
      if (e instanceof ControlError && !e.remote && HANDLER_ERROR_CODES.has(e.code as never)) return errorReply(id, e.code as 'bad-args', e.message);
      log('error', `control command ${command} failed: ${(e as Error)?.stack ?? String(e)}`);
      return errorReply(id, 'handler-failed', `Command "${command}" failed: ${(e as Error)?.message ?? String(e)}`);
    }
  }

  /** The built-in `commands` reply. */
  private describe(): unknown {
    return {
      protocol: PROTOCOL_VERSION,
      commands: [...this.handlers.keys()].sort(),
      readOnly: this.opts.readOnly === true,
      access: Object.fromEntries([...this.handlers].sort(([a], [b]) => (a < b ? -1 : 1)).map(([n, c]) => [n, { access: c.access, changes: c.changes }])),
    };
  }
}
