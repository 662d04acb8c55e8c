/**
 * The control commands that change how the sources are measured, as
 * chronyc's `reset sources` and `minpoll`/`maxpoll`/`maxdelay`/... do in
 * chronyd (cmdmon.c): carried out by the engine, logged, in force until a
 * reload.
 */
import type { ModifiableField } from '../core/engine/engine-api.js';
import type { ControlHandler } from './command-table.js';
import type { ControllableDaemon } from './commands.js';
import { noOtherArgs, selectorArg, unwrap } from './command-args.js';
import { ControlError } from './errors.js';

const FIELDS: readonly ModifiableField[] = ['minpoll', 'maxpoll', 'maxdelay', 'maxdelayratio', 'maxdelaydevratio', 'polltarget', 'minstratum', 'maxupdateskew'];

/** `reset-sources` {}: every source's samples dropped (chronyc `reset sources`). */
export function resetSources(d: ControllableDaemon, log: (line: string) => void): ControlHandler {
  return (args) => {
    noOtherArgs(args, []);
    const r = unwrap(d.control({ op: 'reset-sources' }));
    log(`Control: reset sources (${r.sources} source(s))`);
    return r;
  };
}

/** `modify-source` {address, field, value}: one option of the sources `address` names (chronyc minpoll ADDRESS N...). */
export function modifySource(d: ControllableDaemon, log: (line: string) => void): ControlHandler {
  return (args) => {
    noOtherArgs(args, ['address', 'field', 'value']);
    const selector = selectorArg(args, true) as string;
    const field = args.field;
    if (typeof field !== 'string' || !(FIELDS as readonly string[]).includes(field)) {
      throw new ControlError('bad-args', `Cannot use "field" ${JSON.stringify(field) ?? 'nothing'}: expected one of ${FIELDS.join(', ')}`);
    }
    const value = args.value;
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      throw new ControlError('bad-args', `Cannot use "value" ${JSON.stringify(value) ?? 'nothing'}: expected a number`);
    }
    const r = unwrap(d.control({ op: 'modify-source', selector, field: field as ModifiableField, value }));
    log(`Control: ${field} ${value} for ${selector} (${r.sources} source(s))`);
    return r;
  };
}

/**
 * `onoffline` {}: chronyc onoffline (NSR_SetConnectivity with
 * SRC_MAYBE_ONLINE): every NTP source with an address is set online when a
 * route to it exists (a UDP socket can be connected to it, chronyd's
 * NIO_IsServerConnectable) and offline otherwise; a source whose name is not
 * resolved yet is left alone. The selected source goes last, as in chronyd,
 * so the reference is not switched for nothing.
 */
export function onoffline(d: ControllableDaemon, log: (line: string) => void): ControlHandler {
  return async (args) => {
    noOtherArgs(args, []);
    const all = d.snapshot().sources.filter((s) => s.kind !== 'refclock' && s.address !== null);
    const ordered = [...all.filter((s) => s.verdict !== 'selected'), ...all.filter((s) => s.verdict === 'selected')];
    let online = 0;
    for (const s of ordered) {
      const address = s.address as string;
      const routed = (await d.routeExists?.(address)) ?? true;
      const r = d.control({ op: routed ? 'online' : 'offline', selector: address });
      // A source deleted meanwhile is no error: chronyd walks the sources it has.
      if (!r.ok && r.code === 'no-such-source') continue;
      unwrap(r);
      if (routed) online++;
    }
    log(`Control: onoffline (${online} source(s) online, ${ordered.length - online} offline)`);
    return { online, offline: ordered.length - online };
  };
}
