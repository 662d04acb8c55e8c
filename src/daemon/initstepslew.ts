/**
 * chrony's `initstepslew THRESHOLD HOST...`: before the sources are polled,
 * the hosts are measured once and the clock is stepped by an offset beyond
 * THRESHOLD, else the offset is slewed out, so a machine booted with a bad
 * clock is right within seconds. The hosts are judged as `ntpkit sync`
 * judges its servers (core/tools/oneshot.ts): a falseticker among three is
 * outvoted, and without a majority nothing is changed.
 */
import type { Clock } from '../clock/clock.js';
import type { Config } from '../config/config.js';
import { decideOneShot } from '../core/tools/oneshot.js';
import { queryServers, type QueryOptions } from '../net/query.js';
import type { UdpPreferences } from '../net/udp-socket.js';

/** What the measurement found: a step already made, a slew for the engine to carry out, or nothing to do. */
export type InitialCorrection = { readonly kind: 'step' | 'slew'; readonly seconds: number } | { readonly kind: 'none' };

/** Samples per host: chronyd's acquisition takes a few and keeps the best. */
const SAMPLES = 4;

/** Measures `config.process.initstepslew`'s hosts on `clock`; steps it at once when the offset is beyond the threshold. */
export async function initialStepSlew(config: Config, clock: Clock, log: (line: string) => void, opts: { udp?: UdpPreferences; query?: typeof queryServers; lookup?: QueryOptions['lookup'] } = {}): Promise<InitialCorrection> {
  const isl = config.process.initstepslew;
  if (isl === null) return { kind: 'none' };
  const report = await (opts.query ?? queryServers)(isl.hosts, { samples: SAMPLES, intervalMs: 250, timeoutMs: 10_000, now: () => clock.now(), udp: opts.udp, lookup: opts.lookup });
  const decision = decideOneShot(
    report.servers.map((s) => ({ name: s.spec, estimate: s.estimate, error: s.error === null ? null : s.error.message })),
    // The daemon slews at maxslewrate, not the kernel's one-shot 500 ppm: no slew is too long for it.
    { mode: 'auto', threshold: isl.threshold, maxSlewSeconds: Infinity },
  );
  if (decision.action === 'refuse') {
    // chronyd's line when no host answered; ours adds why.
    log(`No suitable source for initstepslew (${decision.message})`);
    return { kind: 'none' };
  }
  const off = decision.offset;
  // chronyd's line (acquire.c): the clock's error, fast when it is ahead of the hosts.
  log(`System's initial offset : ${Math.abs(off).toFixed(6)} seconds ${off <= 0 ? 'fast' : 'slow'} of true (${decision.action})`);
  if (decision.action === 'step') clock.step(off);
  return { kind: decision.action, seconds: off };
}
