import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addSeconds, instantFromUnixSeconds } from '../../time/instant.js';
import { toNtpTimestamp } from '../../time/timestamp.js';
import { ClientTable, newClientKey, setClientKey } from './client-table.js';
import { heldTimestamps, looksInterleaved, previousTransmit, recordTransmit, saveReceive } from './interleave.js';

const T = instantFromUnixSeconds(1_795_000_000);

function slotOf(t: ClientTable, address: string): number {
  const k = newClientKey();
  setClientKey(k, address);
  return t.lookup(k);
}

test('interleaved requests are NTPv4 with a non-zero origin and receive differing from transmit (chronyd\'s test)', () => {
  const h = { version: 4, originTimestamp: 5n, receiveTimestamp: 6n, transmitTimestamp: 7n };
  assert.ok(looksInterleaved(h));
  assert.ok(!looksInterleaved({ ...h, version: 3 }));
  assert.ok(!looksInterleaved({ ...h, originTimestamp: 0n }));
  assert.ok(!looksInterleaved({ ...h, receiveTimestamp: 7n }));
});

test('a saved receive timestamp names the reply whose reported transmit time comes back', () => {
  const t = new ClientTable({ slots: 64, seed: 1 });
  const s = slotOf(t, '192.0.2.1');
  const rx = toNtpTimestamp(T);
  const ticket = saveReceive(t, s, rx);
  assert.equal(previousTransmit(t, s, rx), null, 'no transmit time reported yet');
  const tx = addSeconds(T, 25e-6);
  assert.ok(recordTransmit(t, ticket, tx));
  assert.equal(previousTransmit(t, s, rx), toNtpTimestamp(tx));
  assert.equal(previousTransmit(t, s, rx + 1n), null, 'another origin');
  // The next reply replaces the pair; the old ticket is stale.
  const ticket2 = saveReceive(t, s, toNtpTimestamp(addSeconds(T, 8)));
  assert.equal(previousTransmit(t, s, rx), null);
  assert.equal(recordTransmit(t, ticket, tx), false);
  assert.ok(recordTransmit(t, ticket2, addSeconds(T, 8.0001)));
});

test('implausible transmit times are refused: before the receive time or more than 1 s after', () => {
  const t = new ClientTable({ slots: 64, seed: 1 });
  const s = slotOf(t, '192.0.2.2');
  const ticket = saveReceive(t, s, toNtpTimestamp(T));
  assert.equal(recordTransmit(t, ticket, addSeconds(T, -1e-6)), false);
  assert.equal(recordTransmit(t, ticket, addSeconds(T, 1.001)), false);
  assert.equal(recordTransmit(t, { slot: -1, receive: ticket.receive }, T), false);
  assert.equal(recordTransmit(t, { slot: 1e9, receive: ticket.receive }, T), false);
  assert.ok(recordTransmit(t, ticket, addSeconds(T, 0.999)));
});

test('the receive-to-transmit delay is taken across the 2036 era rollover', () => {
  const t = new ClientTable({ slots: 64, seed: 1 });
  const s = slotOf(t, '192.0.2.3');
  const rollover = 1n << 64n; // the first instant of era 1
  const rx = rollover - 1000n;
  const ticket = saveReceive(t, s, toNtpTimestamp(rx));
  assert.ok(recordTransmit(t, ticket, rollover + 5000n));
  assert.equal(previousTransmit(t, s, toNtpTimestamp(rx)), 5000n);
});

test('held timestamps and their span', () => {
  const t = new ClientTable({ slots: 64, seed: 1 });
  assert.deepEqual(heldTimestamps(t, T), { held: 0, span: 0 });
  saveReceive(t, slotOf(t, '192.0.2.4'), toNtpTimestamp(T));
  saveReceive(t, slotOf(t, '192.0.2.5'), toNtpTimestamp(addSeconds(T, 100.5)));
  saveReceive(t, slotOf(t, '192.0.2.6'), toNtpTimestamp(addSeconds(T, 30)));
  assert.deepEqual(heldTimestamps(t, addSeconds(T, 200)), { held: 3, span: 100 });
});
