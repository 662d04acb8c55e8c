/**
 * The mode 6 query path (src/core/server/mode6-server.ts
 * ControlQueryServer.handle) on mutated ntpq requests, from permitted and
 * denied senders, over a daemon state of a few sources. Invariants: no
 * exception; a denied sender, a response or an unparsable packet gets
 * nothing; every datagram answered is a well-formed response to the request
 * (R set, its opcode and sequence, 4-octet aligned, no fragment over 468
 * octets of data, offsets that follow on); the counters add up.
 */
import { ControlQueryServer } from '../../core/server/mode6-server.js';
import { sampleQueryView } from '../../core/server/mode6-view.test-helper.js';
import { buildAccessTable } from '../../core/server/access.js';
import { QUERY_DROP_REASONS } from '../../core/server/server-stats.js';
import { parseControlMessage } from '../../proto/control.js';
import { MAX_FRAGMENT_DATA } from '../../proto/mode6.js';
import { type FuzzTarget, invariant } from './harness.js';
import { utf8 } from './seeds.js';

/** ntpq's requests: readstat, rv, rv with names, rv of an association, as, a write, the MRU list's nonce. */
const SEEDS: readonly Uint8Array[] = [
  Uint8Array.from([0x16, 0x01, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0, 0]),
  Uint8Array.from([0x16, 0x02, 0x00, 0x02, 0, 0, 0, 0, 0, 0, 0, 0]),
  Uint8Array.from([0x16, 0x02, 0x00, 0x03, 0, 0, 0, 0, 0, 0, 0, 17, ...utf8('offset,sys_jitter'), 0, 0, 0]),
  Uint8Array.from([0x16, 0x02, 0x00, 0x04, 0, 0, 0, 3, 0, 0, 0, 0]),
  Uint8Array.from([0x26, 0x03, 0x00, 0x05, 0, 0, 0, 0, 0, 0, 0, 6, ...utf8('leap=1'), 0, 0]),
  Uint8Array.from([0x16, 0x0c, 0x00, 0x06, 0, 0, 0, 0, 0, 0, 0, 0]),
];

const DICTIONARY: readonly Uint8Array[] = ['offset', 'sys_jitter', 'srcadr', 'reach', ',', '=', 'nosuchvar'].map(utf8);

export const mode6Target: FuzzTarget = {
  name: 'mode6',
  description: 'ControlQueryServer.handle on mutated ntpq requests: answers only permitted senders, well-formed responses',
  maxLength: 600,
  seeds: () => SEEDS,
  dictionary: DICTIONARY,
  create: (seed) => {
    const access = buildAccessTable([{ allow: true, all: false, subnet: '127.0.0.0/8' }]);
    if (!access.ok) throw new Error('bad fuzz access rules');
    const server = new ControlQueryServer({ access: access.table, rateLimit: { rate: 1e9, burst: 1e9 } });
    const views = [sampleQueryView(), sampleQueryView(200), sampleQueryView(1)];
    let step = seed % 1000;
    return (input, rng) => {
      const address = rng.chance(0.8) ? '127.0.0.1' : '192.0.2.1';
      const view = rng.pick(views);
      const a = server.handle({ packet: input, address, port: rng.chance(0.95) ? 40000 : 0, elapsed: step++, view: () => view });
      const c = server.counters;
      let dropped = 0;
      for (const r of QUERY_DROP_REASONS) dropped += c.dropped[r];
      invariant(c.received === c.answered + c.refused + dropped, 'mode 6 counters do not add up');
      if (a.action === 'ignore') return `drop:${a.reason}`;
      invariant(address === '127.0.0.1', 'answered a sender the access rules deny');
      let offset = 0;
      a.datagrams.forEach((d, i) => {
        invariant(d.length % 4 === 0, `a ${d.length}-octet datagram`);
        const m = parseControlMessage(d);
        invariant(m.ok, 'a response that does not parse');
        if (!m.ok) return;
        const r = m.value;
        invariant(r.response && r.opcode === ((input[1] as number) & 0x1f), 'not a response to the request\'s opcode');
        invariant(r.sequence === (((input[2] as number) << 8) | (input[3] as number)), 'not the request\'s sequence');
        invariant(r.data.length <= MAX_FRAGMENT_DATA && r.offset === offset, 'fragments that do not follow on');
        invariant(r.more === (i < a.datagrams.length - 1), 'M set on the last fragment or missing on another');
        offset += r.data.length;
      });
      return a.error === null ? `answer:${a.datagrams.length > 1 ? 'fragmented' : 'one'}` : `error:${a.error}`;
    };
  },
};
