/** How the control commands read their arguments and turn an engine's refusal into the reply's error. */
import type { EngineCommandResult, EngineCommand } from '../core/engine/engine-api.js';
import { ControlError } from './errors.js';

const MAX_SELECTOR = 255;

export function selectorArg(args: Readonly<Record<string, unknown>>, required: boolean): string | null {
  const a = args.address;
  if (a === undefined || a === null) {
    if (required) throw new ControlError('bad-args', 'Missing "address": give the address or name of a source');
    return null;
  }
  if (typeof a !== 'string' || a === '' || a.length > MAX_SELECTOR || /[\s\0]/.test(a)) {
    throw new ControlError('bad-args', `Cannot use "address" ${JSON.stringify(a)?.slice(0, 80)}: expected an address or a name (no spaces, at most ${MAX_SELECTOR} characters)`);
  }
  return a;
}

export function intArg(args: Readonly<Record<string, unknown>>, name: string, lo: number, hi: number): number {
  const v = args[name];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) {
    throw new ControlError('bad-args', `Cannot use "${name}" ${JSON.stringify(v) ?? 'nothing'}: expected an integer from ${lo} to ${hi}`);
  }
  return v;
}

export function noOtherArgs(args: Readonly<Record<string, unknown>>, allowed: readonly string[]): void {
  const extra = Object.keys(args).filter((k) => !allowed.includes(k));
  if (extra.length > 0) {
    throw new ControlError('bad-args', `Unknown argument${extra.length > 1 ? 's' : ''} ${extra.map((k) => JSON.stringify(k)).join(', ')}${allowed.length ? `; this command takes ${allowed.map((k) => JSON.stringify(k)).join(', ')}` : '; this command takes none'}`);
  }
}

/** An engine refusal as the reply's error. */
export function unwrap<K extends EngineCommand['op']>(r: EngineCommandResult<K>): Extract<EngineCommandResult<K>, { ok: true }>['value'] {
  if (r.ok) return r.value;
  switch (r.code) {
    case 'no-such-source': throw new ControlError('no-such-source', r.message);
    case 'source-exists': throw new ControlError('source-exists', r.message);
    case 'bad-value': throw new ControlError('bad-args', r.message);
    case 'not-enabled': throw new ControlError('not-enabled', r.message);
    default: throw new Error(r.message);
  }
}
