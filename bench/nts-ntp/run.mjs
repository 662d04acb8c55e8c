#!/usr/bin/env node
/**
 * bench/nts-ntp: the cost of NTS at the NTP level in ntpkit, in process (no
 * sockets): AES-SIV-CMAC-256 on NTS-sized messages, the server's check and
 * reply (NtsServerAuthenticator.authenticate: cookie open, request AEAD,
 * fresh cookies sealed, reply AEAD) and the client's secure() + check().
 * It bounds what one core can serve; it is not a server-vs-chronyd figure
 * (that needs NTS requests in bench/server's load generator).
 *
 *   npm run build && node bench/nts-ntp/run.mjs [--dist dist] [--seconds 2]
 *
 * The cookie codec is the test one (src/testing/nts-cookie-fake.ts: one
 * AES-SIV-CMAC-256 master key, as the product's cookies use), which keeps
 * the server on its JS path; one row uses the product's CookieKeyRing, with
 * which the addon answers the common request whole.
 */
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const args = process.argv.slice(2);
const opt = (name, dflt) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : dflt; };
const dist = resolve(opt('--dist', 'dist'));
const seconds = Number(opt('--seconds', '2'));
const load = (p) => import(pathToFileURL(resolve(dist, p)).href);
const { sivEncrypt, sivDecrypt } = await load('crypto/aes-siv.js');
const { NtsServerAuthenticator } = await load('crypto/nts-server.js');
const { NtsClientAuthenticator } = await load('crypto/nts-client.js');
const { FakeCookieCodec } = await load('testing/nts-cookie-fake.js');
const { CookieKeyRing } = await load('crypto/nts-cookie.js');
const { sivBackend } = await load('crypto/aes-siv.js');

/**
 * Runs `f` for `seconds` after a 0.3 s warm-up; returns operations per second
 * of this process's CPU time (user + system), so that other jobs on a shared
 * machine do not count.
 */
function rate(f) {
  const warm = Date.now() + 300;
  while (Date.now() < warm) f();
  let n = 0;
  const c0 = process.cpuUsage();
  const end = Date.now() + seconds * 1000;
  while (Date.now() < end) { for (let i = 0; i < 50; i++) f(); n += 50; }
  const c = process.cpuUsage(c0);
  return n / ((c.user + c.system) / 1e6);
}

const rows = [];
const key = new Uint8Array(randomBytes(32));
const nonce = new Uint8Array(randomBytes(16));
const ad = new Uint8Array(randomBytes(228));     // a request with one cookie: header, unique id, cookie
const plain = new Uint8Array(randomBytes(108));  // one cookie field
const sealed = sivEncrypt(key, plain, [ad], nonce);
rows.push(['sivEncrypt, 228 B AD + 108 B plaintext, same key', rate(() => sivEncrypt(key, plain, [ad], nonce))]);
rows.push(['sivDecrypt, same sizes, same key', rate(() => sivDecrypt(key, sealed, [ad], nonce))]);
rows.push(['sivEncrypt, a new key each time', rate(() => sivEncrypt(new Uint8Array(randomBytes(32)), plain, [ad], nonce))]);

const codec = new FakeCookieCodec();
const server = new NtsServerAuthenticator({ cookies: codec });
const header = new Uint8Array(48); header[0] = 0x24; header[1] = 1;
// Requests from many clients (each its own keys), as a server sees them; cycled.
const requests = [];
for (let i = 0; i < 512; i++) {
  const keys = { aeadId: 15, c2s: new Uint8Array(randomBytes(32)), s2c: new Uint8Array(randomBytes(32)) };
  const cookies = Array.from({ length: 8 }, () => codec.seal(keys));
  const c = new NtsClientAuthenticator({ ...keys, cookies });
  const h = new Uint8Array(48); h[0] = 0x23; h.set(randomBytes(8), 40);
  requests.push(c.secure(h).packet);
}
let i = 0;
rows.push(['server authenticate(), 1 cookie back, 512 clients', rate(() => { const d = server.authenticate(requests[i++ & 511], header); if (d.kind !== 'append') throw new Error(d.kind); })]);
// The product's cookie ring: with the addon, the common request is answered whole in C (native/nts_server.c).
const ring = CookieKeyRing.generate(0);
const ringServer = new NtsServerAuthenticator({ cookies: ring });
const ringRequests = [];
for (let j = 0; j < 512; j++) {
  const keys = { aeadId: 15, c2s: new Uint8Array(randomBytes(32)), s2c: new Uint8Array(randomBytes(32)) };
  const c = new NtsClientAuthenticator({ ...keys, cookies: Array.from({ length: 8 }, () => ring.seal(keys)) });
  const h = new Uint8Array(48); h[0] = 0x23; h.set(randomBytes(8), 40);
  ringRequests.push(c.secure(h).packet);
}
rows.push([`server authenticate(), product cookie ring, ${ringServer.nativePath ? 'addon path' : 'JS path'}`, rate(() => { const d = ringServer.authenticate(ringRequests[i++ & 511], header); if (d.kind !== 'append') throw new Error(d.kind); })]);
const refill = [];
for (let j = 0; j < 64; j++) {
  const keys = { aeadId: 15, c2s: new Uint8Array(randomBytes(32)), s2c: new Uint8Array(randomBytes(32)) };
  const c = new NtsClientAuthenticator({ ...keys, cookies: [codec.seal(keys)] });
  const h = new Uint8Array(48); h[0] = 0x23;
  refill.push(c.secure(h).packet); // jar of 1 -> 7 placeholders -> 8 cookies back
}
rows.push(['server authenticate(), 8 cookies back (7 placeholders)', rate(() => { server.authenticate(refill[i++ & 63], header); })]);

const keys = { aeadId: 15, c2s: new Uint8Array(randomBytes(32)), s2c: new Uint8Array(randomBytes(32)) };
const client = new NtsClientAuthenticator({ ...keys, cookies: Array.from({ length: 8 }, () => codec.seal(keys)) });
const h = new Uint8Array(48); h[0] = 0x23;
rows.push(['client secure() + server + client check(), one exchange', rate(() => {
  const s = client.secure(h);
  const d = server.authenticate(s.packet, header);
  const r = client.check(Uint8Array.from([...header, ...d.bytes]), s.token);
  if (!r.ok) throw new Error(r.reason);
})]);

const width = Math.max(...rows.map((r) => r[0].length));
console.log(`node ${process.version}, ${seconds} s per row, per second of CPU time, AES-SIV: ${sivBackend()} (NTPKIT_NATIVE=off for the JS one)`);
for (const [name, r] of rows) console.log(`${name.padEnd(width)}  ${Math.round(r).toLocaleString('en-US').padStart(9)} /s  ${(1e6 / r).toFixed(1).padStart(6)} us`);
