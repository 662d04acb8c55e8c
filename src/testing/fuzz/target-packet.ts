/**
 * The NTP wire codec (src/proto): parsePacket on anything, with and without
 * mode 6/7, and the pieces a packet is made of (extension field lists, MACs).
 * Invariants: errors come back as values, never exceptions; an accepted
 * packet is sound (packetProblem) and re-encodes to exactly the bytes it was
 * parsed from, so the codec has one reading of every datagram.
 */
import { encodePacket, isNtpPacket, packetProblem, parsePacket } from '../../proto/packet.js';
import { parseExtensionFieldList } from '../../proto/extension.js';
import { parseMac } from '../../proto/mac.js';
import { type FuzzTarget, invariant } from './harness.js';
import { goldenPackets } from './seeds.js';
import { packetDictionary } from './dictionary.js';

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function checkError(r: { readonly reason: string; readonly message: string }): void {
  invariant(typeof r.reason === 'string' && r.reason.length > 0 && typeof r.message === 'string' && r.message.length > 0, 'a parse error without a reason or message');
}

export const packetTarget: FuzzTarget = {
  name: 'packet',
  description: 'NTP packet codec: parsePacket (modes 1-7), extension field lists, MACs; accepted packets re-encode byte for byte',
  maxLength: 1024,
  seeds: () => goldenPackets().map((p) => p.bytes),
  dictionary: packetDictionary,
  create: () => (input) => {
    const r = parsePacket(input);
    let label: string;
    if (!r.ok) {
      checkError(r);
      label = `error:${r.reason}`;
    } else {
      const p = r.value;
      const problem = packetProblem(p);
      invariant(problem === null, () => `parsePacket accepted a packet packetProblem rejects: ${problem}`);
      invariant(sameBytes(encodePacket(p), input), 'an accepted packet does not re-encode to the bytes it was parsed from');
      label = `ok:v${p.header.version}:m${p.header.mode}:ef${Math.min(p.extensions.length, 3)}:${p.mac ? `mac${p.mac.digest.length}` : 'nomac'}`;
    }
    const c = parsePacket(input, { allowControlModes: true });
    if (c.ok) {
      invariant(packetProblem(c.value) === null, 'a parsed mode 6/7 message has a problem');
      if (!isNtpPacket(c.value)) {
        invariant(sameBytes(encodePacket(c.value), input), 'a mode 6/7 message does not re-encode to its bytes');
        label = `control:${c.value.kind}`;
      }
    } else checkError(c);
    if (input.length > 48) {
      const efs = parseExtensionFieldList(input.subarray(48));
      if (!efs.ok) checkError(efs);
      const mac = parseMac(input.subarray(48), input[0] === undefined ? 4 : (input[0] >> 3) & 7, input.length > 72);
      if (!mac.ok) checkError(mac);
    }
    return label;
  },
};
