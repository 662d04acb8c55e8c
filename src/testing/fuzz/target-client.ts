/**
 * The client's reply path: SourcePoller.receive (which runs reply-validation.ts
 * evaluateReply) on mutated server replies, basic and interleaved, NTPv3 and
 * v4, with clock steps between request and reply now and then. Most inputs
 * get the origin field of a genuine reply patched in first, so the checks
 * past the origin test are reached too.
 * Invariants: a sample only from a mode 4 reply of at least 48 bytes that
 * echoes our cookie (or, interleaved, our receive timestamp): an off-path
 * attacker who cannot see the request cannot get a sample accepted; samples
 * are finite with a positive delay; reach and poll stay in range (poll within minpoll..maxpoll).
 */
import { addSeconds, instantFromUnixSeconds, type Instant } from '../../time/instant.js';
import { sourceOptions } from '../../core/source-options.js';
import { SourcePoller } from '../../core/source.js';
import { type FuzzTarget, invariant } from './harness.js';
import { packetDictionary } from './dictionary.js';
import { goldenPackets } from './seeds.js';
import { Rng } from './rng.js';

function sameRange(a: Uint8Array, ap: number, b: Uint8Array, bp: number, n: number): boolean {
  for (let i = 0; i < n; i++) if (a[ap + i] !== b[bp + i]) return false;
  return true;
}

export const clientTarget: FuzzTarget = {
  name: 'client',
  description: 'SourcePoller.receive / evaluateReply on mutated replies (basic and interleaved): samples only from replies that echo our cookie',
  maxLength: 1024,
  seeds: () => goldenPackets().filter((p) => p.direction === 'server-to-client').map((p) => p.bytes),
  dictionary: packetDictionary,
  create: (seed) => {
    const own = new Rng(seed ^ 0x5eed);
    const newPoller = (): SourcePoller => new SourcePoller(
      sourceOptions('server', '192.0.2.1', { xleave: own.chance(0.5), version: own.chance(0.8) ? 4 : 3, minpoll: own.below(7) - 2, maxpoll: 10, burst: own.chance(0.2) }),
      () => own.u32() / 0x1_0000_0000, 2 ** -24,
    );
    let poller = newPoller();
    let now: Instant = instantFromUnixSeconds(1_795_000_000);
    poller.begin(now);
    let epoch = 0;
    return (input, rng) => {
      if (rng.chance(0.01)) {
        poller = newPoller();
        poller.begin(now);
      }
      now = addSeconds(now, 1 + rng.below(64));
      const tx = poller.transmit(now, epoch);
      // Without an authenticator every due poll is sent.
      invariant(tx !== null, 'a poll without an authenticator was not sent');
      const request = (tx as NonNullable<typeof tx>).packet;
      poller.sent(now);
      if (input.length >= 32 && rng.chance(0.8)) {
        // The genuine reply's origin: our cookie, or in interleaved mode sometimes our receive timestamp.
        const from = rng.chance(0.3) ? 32 : 40;
        input.set(request.subarray(from, from + 8), 24);
      }
      if (rng.chance(0.02)) epoch++;
      const t4 = addSeconds(now, rng.below(200_000) * 1e-6);
      const out = poller.receive(input, t4, epoch);
      invariant(poller.reach >= 0 && poller.reach <= 0xff, `reach ${poller.reach}`);
      // Whatever the datagram says (a KoD RATE may name any poll), the interval stays within minpoll..maxpoll.
      invariant(poller.poll >= poller.options.minpoll && poller.poll <= poller.options.maxpoll, `poll ${poller.poll} outside ${poller.options.minpoll}..${poller.options.maxpoll}`);
      if (out.kind === 'sample') {
        invariant(input.length >= 48 && ((input[0] as number) & 7) === 4, 'a sample from a datagram that is not a mode 4 reply');
        const echoesCookie = sameRange(input, 24, request, 40, 8);
        const echoesReceive = out.interleaved && sameRange(input, 24, request, 32, 8);
        invariant(echoesCookie || echoesReceive, 'a sample from a reply whose origin is neither our cookie nor, interleaved, our receive timestamp');
        const s = out.sample;
        invariant(Number.isFinite(s.offset) && Number.isFinite(s.delay) && Number.isFinite(s.dispersion), 'a sample with a non-finite figure');
        invariant(s.delay > 0 && s.dispersion >= 0, `a sample with delay ${s.delay} and dispersion ${s.dispersion}`);
        return `sample${out.interleaved ? ':interleaved' : ''}`;
      }
      if (out.kind === 'kod') return `kod:${out.action}`;
      if (out.kind === 'unsynchronized') return 'unsynchronized';
      return `ignored:${out.reason}`;
    };
  },
};
