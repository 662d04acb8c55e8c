/**
 * The NTS server at the NTP level (RFC 8915 §5.7): checks an NTS request and
 * builds the fields of its reply. It plugs into the responder (src/core/server/server.ts)
 * as its RequestAuthenticator: the responder hands over every request that
 * carries extension fields, with the 48-octet reply header already built
 * (transmit timestamp included, since the Authenticator covers it).
 *
 * A request is accepted with exactly one Unique Identifier, exactly one
 * cookie and an Authenticator last. A cookie that does not open, or a request
 * that does not authenticate under the cookie's C2S key, gets an NTS NAK
 * (kiss code NTSN carrying only the Unique Identifier) so that the client
 * re-runs NTS-KE; anything malformed is dropped and counted. The reply
 * echoes the Unique Identifier and seals, under the S2C key, one fresh cookie
 * for the one used and one per placeholder of the same length; it is never
 * larger than the request, so the server cannot be used as an amplifier.
 */
import { loadNative } from '../clock/native.js';
import { pooledRandomBytes } from './random-pool.js';
import { HEADER_LENGTH } from '../proto/header.js';
import { ExtensionFieldType } from '../proto/extension.js';
import {
  appendExtensionFields, authenticatorField, authenticatorFieldLength, cookieField, type NtsFieldError,
  parseNtsPacketFields, parseNtsPlaintext, uniqueIdField,
} from '../proto/nts-fields.js';
import type { ExtensionField } from '../proto/extension.js';
import { sivDecrypt, sivEncrypt, sivKeyLength, SIV_TAG_LENGTH } from './aes-siv.js';

/**
 * The session keys a cookie holds, and the cookie codec: the same shapes as
 * NtsKeys and CookieCodec in nts-cookie.ts, declared
 * here so this module does not depend on how cookies are sealed; the
 * server's CookieKeyRing fits them.
 */
export interface NtsSessionKeys { readonly aeadId: number; readonly c2s: Uint8Array; readonly s2c: Uint8Array; }
export interface NtsCookieCodec {
  seal(keys: NtsSessionKeys): Uint8Array;
  open(cookie: Uint8Array): NtsSessionKeys | null;
  /**
   * The master keys as the addon's ntsServe takes them (36 octets a key: id,
   * then the key; current last), or absent: then every request takes the JS path.
   */
  nativeKeyTable?(): Uint8Array;
}

/** The addon's whole-request NTS path (native/nts_server.c): the octets after the header, or null for the JS path. */
type NativeNtsServe = (request: Uint8Array, header: Uint8Array, keyTable: Uint8Array) => Uint8Array | null;

function findNativeNtsServe(): NativeNtsServe | null {
  const n = loadNative();
  if (!n.ok) return null;
  const f = (n.addon as unknown as { ntsServe?: unknown }).ntsServe;
  return typeof f === 'function' ? (f as NativeNtsServe) : null;
}

/** Looked up when a server is made, not at import: `import 'ntpkit'` loads no native code. */
let nativeNtsServeCache: NativeNtsServe | null | undefined;
function nativeNtsServe(): NativeNtsServe | null {
  if (nativeNtsServeCache === undefined) nativeNtsServeCache = findNativeNtsServe();
  return nativeNtsServeCache;
}

/** The only cookie the addon's path handles: id, nonce, tag, AEAD id and padding, two 32-octet keys (nts-cookie.ts). */
const NATIVE_COOKIE_LENGTH = 4 + 16 + 16 + 4 + 64;
/** The reply nonce: 16 octets, as chronyd sends. */
const NONCE_LENGTH = 16;
/** chronyd answers at most this many cookies per request (NTS_MAX_COOKIES). */
export const MAX_REPLY_COOKIES = 8;

/**
 * The responder's reason names for a failed NTS request (AuthFailureReason
 * in src/core/server/server-stats.ts); the detailed reason is in this module's stats.
 */
export type NtsFailureClass = 'nts-bad-cookie' | 'nts-bad-auth' | 'nts-malformed';

/** What the responder does with the request (the result of the server's RequestAuthenticator, core/server/server.ts). */
export type NtsServerDecision =
  | { readonly kind: 'append'; readonly bytes: Uint8Array; readonly authenticated: boolean }
  | { readonly kind: 'nts-nak'; readonly bytes: Uint8Array; readonly reason: NtsFailureClass }
  | { readonly kind: 'drop'; readonly reason: NtsFailureClass };

/** Named reasons a request is dropped or NAKed, in detail; they become counters. */
export type NtsServerReject =
  | NtsFieldError
  | 'no-cookie'
  | 'several-cookies'
  | 'bad-cookie'            // NTS NAK: the cookie does not open (forged, or its master key is gone)
  | 'unsupported-aead'      // NTS NAK: a cookie for an AEAD this server cannot run
  | 'bad-authenticator-tag' // NTS NAK: the request does not authenticate under the cookie's key
  | 'bad-encrypted-fields'
  | 'reply-too-large';

const FAILURE_CLASS: Readonly<Partial<Record<NtsServerReject, NtsFailureClass>>> = {
  'bad-cookie': 'nts-bad-cookie',
  'unsupported-aead': 'nts-bad-cookie',
  'bad-authenticator-tag': 'nts-bad-auth',
};

export interface NtsServerStats {
  /** Requests authenticated and answered with fresh cookies. */
  authenticated: number;
  /** NTS NAKs sent (bad cookie, unknown AEAD, failed authentication). */
  naks: number;
  /** Requests dropped or NAKed, by detailed reason. */
  readonly rejected: Partial<Record<NtsServerReject, number>>;
  /** The last rejection's detail, for logs: "bad-cookie: ...". */
  lastRejection: string | null;
  /** Cookies issued. */
  cookiesIssued: number;
}

export interface NtsServerOptions {
  /** Seals and opens cookies under the server's master keys (src/crypto/nts-cookie.ts). */
  readonly cookies: NtsCookieCodec;
  /** Random bytes for reply nonces (tests inject a seeded source). */
  readonly random?: (n: number) => Uint8Array;
  /** false keeps every request on the JS path (tests compare the two); default: the addon's when loaded. */
  readonly native?: boolean;
}

/** The NTS request checker and reply builder; one per server, shared by every endpoint. */
export class NtsServerAuthenticator {
  readonly stats: NtsServerStats = { authenticated: 0, naks: 0, rejected: {}, lastRejection: null, cookiesIssued: 0 };
  private readonly cookies: NtsCookieCodec;
  private readonly random: (n: number) => Uint8Array;
  /** The addon's path for the common request; off when the test injects its randomness or the codec has no key table. */
  private readonly native: NativeNtsServe | null;

  constructor(opts: NtsServerOptions) {
    this.cookies = opts.cookies;
    this.random = opts.random ?? pooledRandomBytes;
    this.native = opts.random === undefined && opts.native !== false && opts.cookies.nativeKeyTable !== undefined ? nativeNtsServe() : null;
  }

  /** Whether the addon answers the common request here (see native/nts_server.c). */
  get nativePath(): boolean {
    return this.native !== null;
  }

  /** Whether a request's extension fields are NTS (a Unique Identifier, cookie or Authenticator is present). */
  static isNtsRequest(request: Uint8Array): boolean {
    for (let pos = HEADER_LENGTH; pos + 4 <= request.length;) {
      const type = ((request[pos] as number) << 8) | (request[pos + 1] as number);
      const length = ((request[pos + 2] as number) << 8) | (request[pos + 3] as number);
      if (type === ExtensionFieldType.NtsUniqueIdentifier || type === ExtensionFieldType.NtsCookie || type === ExtensionFieldType.NtsAuthenticator) return true;
      if (length < 4 || length % 4 !== 0) return false;
      pos += length;
    }
    return false;
  }

  /** Checks `request` and returns what to append to `reply` (the 48-octet reply header), or a NAK or drop. */
  authenticate(request: Uint8Array, reply: Uint8Array): NtsServerDecision {
    if (this.native !== null) {
      // The well-formed request with one cookie that opens and an Authenticator that verifies, whole in C;
      // null for everything else, which the JS below handles (and counts) as before.
      const b = this.native(request, reply, (this.cookies.nativeKeyTable as () => Uint8Array).call(this.cookies));
      if (b !== null) {
        const uidField = ((b[2] as number) << 8) | (b[3] as number);
        const ctLength = ((b[uidField + 6] as number) << 8) | (b[uidField + 7] as number);
        // Cookie fields of the request's size (4 + cookie) fill the ciphertext after the tag.
        const count = (ctLength - SIV_TAG_LENGTH) / (4 + NATIVE_COOKIE_LENGTH);
        this.stats.authenticated++;
        this.stats.cookiesIssued += count;
        return { kind: 'append', bytes: new Uint8Array(b.buffer, b.byteOffset, b.byteLength), authenticated: true };
      }
    }
    const parsed = parseNtsPacketFields(request);
    if (!parsed.ok) return this.drop(parsed.reason, parsed.message);
    const f = parsed.value;
    // Fields NTS does not know, and no NTS ones: a plain reply, as chronyd answers fields it does not know.
    if (!f.uniqueId && !f.authenticator && f.cookies.length === 0) return { kind: 'append', bytes: new Uint8Array(0), authenticated: false };
    if (!f.uniqueId) return this.drop('missing-unique-id', 'an NTS request needs a Unique Identifier');
    if (!f.authenticator) return this.drop('missing-authenticator', 'an NTS request needs an Authenticator');
    if (f.cookies.length === 0) return this.drop('no-cookie', 'an NTS request needs a cookie');
    if (f.cookies.length > 1) return this.drop('several-cookies', `an NTS request carries exactly one cookie, not ${f.cookies.length}`);
    const cookie = f.cookies[0] as Uint8Array;
    // Echoed as received: parseNtsPacketFields checked it is at least 32 octets of whole words.
    const uidField = uniqueIdField(f.uniqueId);
    const uidLength = f.uniqueId.length;
    const keys = this.cookies.open(cookie);
    if (!keys) return this.nak('bad-cookie', 'the cookie does not open under any master key', uidField);
    if (sivKeyLength(keys.aeadId) !== keys.c2s.length || keys.c2s.length !== keys.s2c.length) {
      return this.nak('unsupported-aead', `the cookie holds keys for AEAD ${keys.aeadId}, which this server does not run`, uidField);
    }
    const plaintext = sivDecrypt(keys.c2s, f.authenticator.ciphertext, [request.subarray(0, f.authOffset)], f.authenticator.nonce);
    if (!plaintext) return this.nak('bad-authenticator-tag', 'the request does not authenticate under the cookie\'s C2S key', uidField);
    const inner = parseNtsPlaintext(plaintext);
    if (!inner.ok) return this.drop('bad-encrypted-fields', inner.message);

    // One cookie back for the one spent, one per placeholder of the cookie's size (RFC 8915 §5.5).
    const placeholders = f.placeholderLengths.filter((n) => n === cookie.length).length;
    let count = Math.min(1 + placeholders, MAX_REPLY_COOKIES);
    const nonce = this.random(NONCE_LENGTH);
    const cookieFieldLength = 4 + cookie.length;
    const sizeFor = (n: number): number => HEADER_LENGTH + 4 + uidLength + authenticatorFieldLength(NONCE_LENGTH, SIV_TAG_LENGTH + n * cookieFieldLength);
    while (count > 0 && sizeFor(count) > request.length) count--;
    if (count === 0 && sizeFor(0) > request.length) return this.drop('reply-too-large', `a reply would exceed the request's ${request.length} octets`);
    const fresh: ExtensionField[] = [];
    for (let i = 0; i < count; i++) fresh.push(cookieField(this.cookies.seal(keys)));
    const inside = appendExtensionFields(new Uint8Array(0), fresh);
    const ad = appendExtensionFields(reply.subarray(0, HEADER_LENGTH), [uidField]);
    const sealed = sivEncrypt(keys.s2c, inside, [ad], nonce);
    const whole = appendExtensionFields(ad, [authenticatorField(nonce, sealed)]);
    this.stats.authenticated++;
    this.stats.cookiesIssued += count;
    return { kind: 'append', bytes: whole.subarray(HEADER_LENGTH), authenticated: true };
  }

  private reject(reason: NtsServerReject, message: string): NtsFailureClass {
    this.stats.rejected[reason] = (this.stats.rejected[reason] ?? 0) + 1;
    this.stats.lastRejection = `${reason}: ${message}`;
    return FAILURE_CLASS[reason] ?? 'nts-malformed';
  }

  private drop(reason: NtsServerReject, message: string): NtsServerDecision {
    return { kind: 'drop', reason: this.reject(reason, message) };
  }

  private nak(reason: NtsServerReject, message: string, uid: ExtensionField): NtsServerDecision {
    this.stats.naks++;
    return { kind: 'nts-nak', bytes: appendExtensionFields(new Uint8Array(0), [uid]), reason: this.reject(reason, message) };
  }
}

/**
 * One authenticator for the responder that sends NTS requests to `nts` and
 * every other request with a MAC or extension fields to `other` (the
 * symmetric-key one), or answers them plainly when there is none.
 */
export function withNts<D = never>(nts: NtsServerAuthenticator, other: { authenticate(request: Uint8Array, reply: Uint8Array): D } | null): {
  authenticate(request: Uint8Array, reply: Uint8Array): D | NtsServerDecision;
} {
  return {
    authenticate(request, reply) {
      if (NtsServerAuthenticator.isNtsRequest(request) || other === null) return nts.authenticate(request, reply);
      return other.authenticate(request, reply);
    },
  };
}
