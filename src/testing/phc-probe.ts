/**
 * Reads a PTP hardware clock in a process of its own, for tests that run the
 * addon's PHC code under an LD_PRELOAD shim (native/testing/fake_phc.c) or as
 * another user: the test process itself cannot take either.
 *
 *   node dist/testing/phc-probe.js PATH SAMPLES READS [nocrossts]
 *
 * NTPKIT_PHC_PROBE_ADDON=FILE.node reads through that build of the addon
 * instead of the package's (a build against other kernel headers).
 *
 * Prints one JSON line per outcome: the open's failure, or each reading
 * bracketed by CLOCK_REALTIME read around it ({ ok, reading, t0, t1 }, ns as
 * strings) or its failure ({ ok: false, code, message }), then { closed }.
 */
import { createRequire } from 'node:module';
import { requireNative } from '../clock/native.js';
import { openPhc, openPhcOn, PhcError, type PhcBackend, type PhcDevice, type PhcOptions } from '../clock/phc.js';
import { runIfMain } from './process.js';

/** One line of the probe's output. */
export type PhcProbeLine =
  | { readonly ok: true; readonly reading: { readonly offsetS: number; readonly delayS: number; readonly systemTimeNs: string; readonly method: string }; readonly t0: string; readonly t1: string }
  | { readonly ok: false; readonly code: string; readonly message: string; readonly name: string }
  | { readonly closed: true };

function open(path: string, options: PhcOptions): PhcDevice {
  const other = process.env.NTPKIT_PHC_PROBE_ADDON;
  if (other === undefined) return openPhc(path, options);
  return openPhcOn(createRequire(import.meta.url)(other) as PhcBackend, path, options);
}

function failure(e: unknown): PhcProbeLine {
  if (e instanceof PhcError) return { ok: false, code: e.code, message: e.message, name: e.name };
  throw e;
}

export function probePhc(argv: readonly string[]): PhcProbeLine[] {
  const [path = '', samples = '5', reads = '1', flag] = argv;
  const out: PhcProbeLine[] = [];
  let dev: PhcDevice;
  try {
    dev = open(path, { nocrossts: flag === 'nocrossts' });
  } catch (e) {
    return [failure(e)];
  }
  // The kernel clock itself, which the device's system timestamps are read from (not a calibrated fallback).
  const realtimeNs = (): bigint => requireNative().realtimeNs();
  for (let i = 0; i < Number(reads); i++) {
    const t0 = realtimeNs();
    try {
      const r = dev.readOffset(Number(samples));
      const t1 = realtimeNs();
      out.push({ ok: true, reading: { ...r, systemTimeNs: String(r.systemTimeNs) }, t0: String(t0), t1: String(t1) });
    } catch (e) {
      out.push(failure(e));
    }
  }
  dev.close();
  out.push({ closed: true });
  return out;
}

runIfMain(import.meta.url, (argv) => {
  for (const line of probePhc(argv)) process.stdout.write(`${JSON.stringify(line)}\n`);
  return Promise.resolve(0);
});
