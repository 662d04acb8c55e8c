/**
 * Symmetric-key authentication (RFC 8573) on both sides of an exchange:
 * - the client's per-source authenticator for `server HOST key N`: every
 *   request carries a MAC under key N; a reply counts only with a valid MAC
 *   under the same key (a crypto-NAK or a missing or wrong MAC is rejected);
 * - the server's hook: a request with a MAC under a known key gets a reply
 *   signed with that key; otherwise it is dropped, as chronyd 4.3 does
 *   (checked on loopback: no reply for an unknown key, a bad digest, or any
 *   MAC when it has no keyfile), or answered with a crypto-NAK as ntpd does.
 */
import type { SourceAuthenticator } from '../core/engine/engine-api.js';
import type { AuthFailureReason, RequestAuthenticator } from '../core/server/server.js';
import { isCryptoNak, macLength } from '../proto/mac.js';
import { parsePacket } from '../proto/packet.js';
import { appendMac, checkDigest, type KeyType, macDigest, type SymmetricKey } from './symmetric-mac.js';

type CheckResult = ReturnType<SourceAuthenticator['check']>;

/**
 * The client side of `key N`. `key` is null when the key file has no key N:
 * then nothing can be sent (secure() returns null) and the daemon says why.
 */
/** chronyd's numbers of the key types (hash.h HSH_*, cmac.h CMC_*), as chronyc authdata shows them. */
const CHRONY_KEY_TYPE: Readonly<Record<KeyType, number>> = { MD5: 1, SHA1: 2, SHA256: 3, SHA384: 4, SHA512: 5, AES128: 13, AES256: 14 };
const NO_SESSION = { lastKeAgo: null, keAttempts: 0, cookies: 0, cookieLength: 0 } as const;

export function symmetricSourceAuthenticator(key: SymmetricKey | null, missing = 'no key to sign requests with', keyId = 0): SourceAuthenticator {
  return {
    kind: 'symmetric',
    problem: () => (key === null ? missing : null),
    // chronyd reports a key it does not have as type 0, length 0.
    report: () => ({ ...NO_SESSION, keyId: key?.id ?? keyId, keyType: key === null ? 0 : CHRONY_KEY_TYPE[key.type], keyLengthBits: key === null ? 0 : 8 * key.key.length }),
    secure(request) {
      if (key === null) return null;
      return { packet: appendMac(request, key, (request[0] as number) >> 3 & 7), token: null };
    },
    check(reply): CheckResult {
      if (key === null) return { ok: false, reason: 'no key to check the reply with', nak: false };
      const p = parsePacket(reply);
      if (!p.ok) return { ok: false, reason: `malformed reply: ${p.message}`, nak: false };
      const mac = p.value.mac;
      if (mac === null) return { ok: false, reason: 'reply has no MAC', nak: false };
      if (isCryptoNak(mac)) return { ok: false, reason: 'crypto-NAK: the server could not authenticate our request', nak: true };
      if (mac.keyId !== key.id) return { ok: false, reason: `reply's MAC uses key ${mac.keyId}, not ${key.id}`, nak: false };
      const end = reply.length - macLength(mac);
      if (!checkDigest(key, reply.subarray(0, end), mac.digest, p.value.header.version)) {
        return { ok: false, reason: `reply's MAC does not verify with key ${key.id}`, nak: false };
      }
      return { ok: true };
    },
  };
}

export interface SymmetricServerOptions {
  /** What a request that fails authentication gets: nothing (chronyd, the default) or a crypto-NAK (ntpd). */
  readonly onFailure?: 'drop' | 'crypto-nak';
}

/**
 * The server side: signs replies to requests with a MAC under a key in
 * `keys` (null: no key file). Requests with extension fields and no MAC get
 * a plain reply, as chronyd answers fields it does not know.
 */
export function symmetricRequestAuthenticator(keys: ReadonlyMap<number, SymmetricKey> | null, opts: SymmetricServerOptions = {}): RequestAuthenticator {
  const onFailure = opts.onFailure ?? 'drop';
  const fail = (reason: AuthFailureReason): ReturnType<RequestAuthenticator['authenticate']> => ({ kind: onFailure, reason });
  return {
    authenticate(request, reply) {
      const p = parsePacket(request);
      // The responder parsed it already; a packet that no longer parses is not ours to sign.
      if (!p.ok) return { kind: 'drop', reason: 'bad-mac' };
      const mac = p.value.mac;
      if (mac === null) return { kind: 'append', bytes: new Uint8Array(0), authenticated: false };
      if (keys === null) return fail('no-keys');
      const key = keys.get(mac.keyId);
      if (key === undefined) return fail('unknown-key');
      const version = p.value.header.version;
      if (!checkDigest(key, request.subarray(0, request.length - macLength(mac)), mac.digest, version)) return fail('bad-mac');
      const digest = macDigest(key, reply, version);
      const bytes = new Uint8Array(4 + digest.length);
      new DataView(bytes.buffer).setUint32(0, key.id >>> 0);
      bytes.set(digest, 4);
      return { kind: 'append', bytes, authenticated: true };
    },
  };
}
