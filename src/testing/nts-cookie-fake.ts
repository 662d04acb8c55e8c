/**
 * A cookie codec for tests of the NTS NTP layer: real AES-SIV sealing under
 * one master key (nonce | SIV(master, nonce, aead id | keys)), so that forged,
 * altered or foreign cookies fail to open as they would on a real server.
 * The server's own codec with rotating master keys is nts-cookie.ts.
 */
import { randomBytes } from 'node:crypto';
import { SivKey } from '../crypto/aes-siv.js';
import type { NtsCookieCodec, NtsSessionKeys } from '../crypto/nts-server.js';

export class FakeCookieCodec implements NtsCookieCodec {
  opened = 0;
  sealed = 0;
  readonly #cipher: SivKey;
  constructor(readonly master: Uint8Array = new Uint8Array(randomBytes(32))) {
    this.#cipher = new SivKey(master);
  }

  seal(keys: NtsSessionKeys): Uint8Array {
    this.sealed++;
    const plain = new Uint8Array(4 + keys.c2s.length + keys.s2c.length);
    plain[0] = keys.aeadId >> 8;
    plain[1] = keys.aeadId & 0xff;
    plain.set(keys.c2s, 4);
    plain.set(keys.s2c, 4 + keys.c2s.length);
    const nonce = new Uint8Array(randomBytes(16));
    const sealed = this.#cipher.encrypt(plain, [], nonce);
    const out = new Uint8Array(16 + sealed.length);
    out.set(nonce);
    out.set(sealed, 16);
    return out;
  }

  open(cookie: Uint8Array): NtsSessionKeys | null {
    this.opened++;
    if (cookie.length < 32) return null;
    const plain = this.#cipher.decrypt(cookie.subarray(16), [], cookie.subarray(0, 16));
    if (!plain || plain.length < 4) return null;
    const aeadId = ((plain[0] as number) << 8) | (plain[1] as number);
    const half = (plain.length - 4) / 2;
    // Keys for an AEAD the server does not run still open: the server, not the codec, must refuse them.
    return { aeadId, c2s: plain.slice(4, 4 + half), s2c: plain.slice(4 + half) };
  }
}
