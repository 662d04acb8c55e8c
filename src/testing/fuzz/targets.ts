/**
 * Every fuzz target by name. Adding one: a target-NAME.ts exporting a
 * FuzzTarget (seeds, a check that throws InvariantError on a broken
 * invariant; roundTripTarget() builds one for a codec) and one line here;
 * fuzz.test.ts (add its MUST_REACH outcomes) and bench/fuzz/run.mjs pick it up.
 */
import type { FuzzTarget } from './harness.js';
import { candmTarget } from './target-candm.js';
import { clientTarget } from './target-client.js';
import { chronyConfTarget, ntpConfTarget } from './target-config.js';
import { controlTarget } from './target-control.js';
import { extensionTarget, ntsInnerExtensionTarget } from './target-extension.js';
import { mode6Target } from './target-mode6.js';
import { packetTarget } from './target-packet.js';
import { ntsClientTarget, ntsKeTarget, ntsServerTarget } from './target-nts.js';
import { serverTarget } from './target-server.js';

export const FUZZ_TARGETS: readonly FuzzTarget[] = [
  packetTarget, extensionTarget, ntsInnerExtensionTarget, serverTarget, clientTarget, chronyConfTarget, ntpConfTarget, controlTarget,
  ntsKeTarget, ntsServerTarget, ntsClientTarget,
  candmTarget,
  mode6Target,
];

/** Every path a datagram from the network takes: bench/fuzz's default long run (`--target packet-paths`). */
export const PACKET_TARGETS: readonly string[] = ['packet', 'extension', 'extension-nts-inner', 'server', 'client', 'nts-server', 'nts-client', 'mode6'];

export function fuzzTarget(name: string): FuzzTarget {
  const t = FUZZ_TARGETS.find((x) => x.name === name);
  if (!t) throw new RangeError(`no fuzz target ${JSON.stringify(name)}; targets: ${FUZZ_TARGETS.map((x) => x.name).join(', ')}`);
  return t;
}
