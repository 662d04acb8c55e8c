/**
 * The NTS client at the NTP level (RFC 8915 §5.7): secures one source's
 * requests with the keys and cookies of an NTS-KE exchange, and checks the
 * replies. It is the engine's SourceAuthenticator for `server HOST nts`.
 *
 * Each request spends one cookie (a cookie sent twice would let an observer
 * link the requests) and carries placeholders asking for enough new cookies
 * to bring the jar back to 8. A fresh 32-octet Unique Identifier binds the
 * reply to the request; the reply must echo it and authenticate under the S2C
 * key, and only cookies from its encrypted part are kept. An NTS NAK (kiss
 * code NTSN echoing the identifier) reports `nak`, on which the driver runs
 * NTS-KE again; with no cookie left, secure() returns null for the same reason.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { HEADER_LENGTH } from '../proto/header.js';
import {
  appendExtensionFields, authenticatorField, cookieField, cookiePlaceholderField, MIN_UNIQUE_ID_LENGTH,
  parseNtsPacketFields, parseNtsPlaintext, uniqueIdField,
} from '../proto/nts-fields.js';
import type { ExtensionField } from '../proto/extension.js';
import type { AuthKeyReport } from '../core/engine/engine-api.js';
import { SivKey, sivKeyLength } from './aes-siv.js';

/** RFC 8915 §6 recommends clients keep 8 cookies. */
export const COOKIE_JAR_SIZE = 8;
const NONCE_LENGTH = 16;
/** Stratum 0 and reference id "NTSN": an NTS NAK (RFC 8915 §5.7). */
const NTSN = [0x4e, 0x54, 0x53, 0x4e];

/**
 * The part of an NTS-KE result (NtsKeResult in nts-ke-types.ts) that the NTP exchange needs; declared structurally so that
 * this module does not depend on the KE client.
 */
export interface NtsClientKeys {
  readonly aeadId: number;
  readonly c2s: Uint8Array;
  readonly s2c: Uint8Array;
  readonly cookies: readonly Uint8Array[];
}

export interface NtsClientOptions {
  /** Random bytes for unique identifiers and nonces (tests inject a seeded source). */
  readonly random?: (n: number) => Uint8Array;
}

export interface NtsSourceOptions extends NtsClientOptions {
  /** Seconds on a monotonic clock: the age of the keys is measured on it. */
  readonly now?: () => number;
  /** Seconds after which the keys are renewed by a new NTS-KE, even while cookies last (read at each request: a reload may change it). */
  readonly maxKeyAge?: () => number;
}

/** What secure() remembers about one request. */
interface NtsToken {
  readonly uniqueId: Uint8Array;
  used: boolean;
}

export type NtsCheckResult = { readonly ok: true } | { readonly ok: false; readonly reason: string; readonly nak: boolean };

/** One source's NTS state: keys and cookie jar. */
export class NtsClientAuthenticator {
  readonly kind = 'nts' as const;
  private readonly c2s: SivKey;
  private readonly s2c: SivKey;
  private readonly jar: Uint8Array[];
  /** The AEAD the keys are for, and their length in octets (chronyc authdata's Type and KLen). */
  readonly aeadId: number;
  readonly keyLength: number;
  private readonly random: (n: number) => Uint8Array;

  /** @throws RangeError when the AEAD is not one of the AES-SIV modes or the keys do not fit it. */
  constructor(keys: NtsClientKeys, opts: NtsClientOptions = {}) {
    const keyLength = sivKeyLength(keys.aeadId);
    if (keyLength === null) throw new RangeError(`Cannot use NTS keys: AEAD algorithm ${keys.aeadId} is not supported (only AES-SIV-CMAC, ids 15-17)`);
    if (keys.c2s.length !== keyLength || keys.s2c.length !== keyLength) {
      throw new RangeError(`Cannot use NTS keys: AEAD ${keys.aeadId} needs ${keyLength}-octet keys, got ${keys.c2s.length} and ${keys.s2c.length}`);
    }
    this.aeadId = keys.aeadId;
    this.keyLength = keyLength;
    this.c2s = new SivKey(keys.c2s);
    this.s2c = new SivKey(keys.s2c);
    // Cookies that no field can carry as is would only be refused by the server.
    this.jar = keys.cookies.filter(usableCookie).slice(-COOKIE_JAR_SIZE).map((c) => Uint8Array.from(c));
    this.random = opts.random ?? ((n) => new Uint8Array(randomBytes(n)));
  }

  /** Length of the cookie the next request carries, octets (0 without one). */
  get nextCookieLength(): number {
    return this.jar[0]?.length ?? 0;
  }

  /** Cookies left; at 0 the source needs a new NTS-KE. */
  get cookieCount(): number {
    return this.jar.length;
  }

  /** Appends the NTS fields to `request` (header and any fields of its own). null without a cookie. */
  secure(request: Uint8Array): { readonly packet: Uint8Array; readonly token: unknown } | null {
    const cookie = this.jar.shift();
    if (!cookie) return null;
    const uniqueId = this.random(MIN_UNIQUE_ID_LENGTH);
    const fields: ExtensionField[] = [uniqueIdField(uniqueId), cookieField(cookie)];
    const wanted = COOKIE_JAR_SIZE - this.jar.length - 1;
    for (let i = 0; i < wanted; i++) fields.push(cookiePlaceholderField(cookie.length));
    const ad = appendExtensionFields(request, fields);
    const nonce = this.random(NONCE_LENGTH);
    // Nothing to hide in a request: the plaintext is empty and the AEAD only authenticates.
    const sealed = this.c2s.encrypt(new Uint8Array(0), [ad], nonce);
    const packet = appendExtensionFields(ad, [authenticatorField(nonce, sealed)]);
    const token: NtsToken = { uniqueId, used: false };
    return { packet, token };
  }

  /** Checks the reply to the request that produced `token`; on success keeps its new cookies. */
  check(reply: Uint8Array, token: unknown): NtsCheckResult {
    if (!isToken(token)) return { ok: false, reason: 'nts-unknown-request', nak: false };
    if (token.used) return { ok: false, reason: 'nts-replay: a reply to this request was already accepted', nak: false };
    if (reply.length < HEADER_LENGTH) return { ok: false, reason: 'nts-short-reply', nak: false };
    const parsed = parseNtsPacketFields(reply);
    if (!parsed.ok) return { ok: false, reason: `nts-${parsed.reason}: ${parsed.message}`, nak: false };
    const f = parsed.value;
    if (!f.uniqueId || !sameBytes(f.uniqueId, token.uniqueId)) {
      return { ok: false, reason: 'nts-unique-id-mismatch: the reply does not echo the request\'s Unique Identifier', nak: false };
    }
    if (isNtsNak(reply)) {
      // Unauthenticated by design (the server could not read our keys); the echoed identifier shows it answers our request.
      token.used = true;
      return { ok: false, reason: 'nts-nak: the server rejected the cookie or the request (kiss code NTSN)', nak: true };
    }
    if (!f.authenticator) return { ok: false, reason: 'nts-missing-authenticator: the reply is not authenticated', nak: false };
    const plaintext = this.s2c.decrypt(f.authenticator.ciphertext, [reply.subarray(0, f.authOffset)], f.authenticator.nonce);
    if (!plaintext) return { ok: false, reason: 'nts-bad-authenticator-tag: the reply does not authenticate under the S2C key', nak: false };
    const inner = parseNtsPlaintext(plaintext);
    if (!inner.ok) return { ok: false, reason: `nts-bad-encrypted-fields: ${inner.message}`, nak: false };
    token.used = true;
    for (const c of inner.value.cookies) {
      if (this.jar.length >= COOKIE_JAR_SIZE) break;
      if (usableCookie(c)) this.jar.push(c);
    }
    return { ok: true };
  }
}

function usableCookie(c: Uint8Array): boolean {
  return c.length >= 12 && c.length % 4 === 0 && c.length <= 0xfff8;
}

function isToken(t: unknown): t is NtsToken {
  return typeof t === 'object' && t !== null && (t as NtsToken).uniqueId instanceof Uint8Array && typeof (t as NtsToken).used === 'boolean';
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

function isNtsNak(reply: Uint8Array): boolean {
  return reply[1] === 0 && reply[12] === NTSN[0] && reply[13] === NTSN[1] && reply[14] === NTSN[2] && reply[15] === NTSN[3];
}

/**
 * The engine's authenticator for one `nts` source across key exchanges: it
 * holds the current session (none before the first NTS-KE) and asks the
 * driver for a new exchange through `needKeyExchange` when there is no
 * session, the cookies ran out, or the server sent an NTS NAK. Requests are
 * not sent meanwhile (secure() is null: the engine counts the poll as lost),
 * as chronyd does. The driver calls install() with the KE result.
 */
export class NtsSourceAuthenticator {
  readonly kind = 'nts' as const;
  private session: NtsClientAuthenticator | null = null;
  private asked = false;
  /** Key exchanges installed so far. */
  installed = 0;
  /** When the current session's keys were installed, on opts.now's clock. */
  private installedAt = 0;

  constructor(private readonly needKeyExchange: () => void, private readonly opts: NtsSourceOptions = {}) {}

  /** Starts a session from an NTS-KE result. @throws RangeError for keys of an unsupported AEAD (see NtsClientAuthenticator). */
  install(keys: NtsClientKeys): void {
    this.session = new NtsClientAuthenticator(keys, this.opts);
    this.asked = false;
    this.attempts = 0;
    this.failure = null;
    this.installed++;
    this.installedAt = this.opts.now?.() ?? 0;
  }

  /**
   * The key exchange asked for failed (`reason`: host, port and error): the
   * next request that finds no session asks again (the poll interval paces
   * the retries); until a session is installed, problem() says why.
   */
  failed(reason: string): void {
    this.asked = false;
    this.failure = reason;
  }

  private failure: string | null = null;

  /** Why no request can be secured: the last key exchange failed and no session is left. */
  problem(): string | null {
    return this.session === null ? this.failure : null;
  }

  /** The NTP server and port the current session's NTS-KE named, when the driver set them (RFC 8915 §4.1.7-8), else null. */
  private target: { readonly address: string | null; readonly port: number } | null = null;

  /** Where requests go for this session: set by the driver from the KE result (an address literal, or null for the source's own address). */
  setDestination(d: { readonly address: string | null; readonly port: number } | null): void {
    this.target = d;
  }

  destination(): { readonly address: string | null; readonly port: number } | null {
    return this.target;
  }

  /**
   * chronyc authdata's figures: chronyd numbers its key exchanges (the KeyID
   * column), counts the attempts since the last success, and gives that
   * success's age (the Last column; read on opts.now's clock, so none without
   * one, and none before the first key exchange).
   */
  report(): AuthKeyReport {
    const s = this.session;
    const now = this.opts.now;
    return {
      keyId: this.installed, keyType: s?.aeadId ?? 0, keyLengthBits: 8 * (s?.keyLength ?? 0),
      lastKeAgo: this.installed === 0 || now === undefined ? null : Math.max(0, now() - this.installedAt),
      keAttempts: this.attempts, cookies: s?.cookieCount ?? 0, cookieLength: s?.nextCookieLength ?? 0,
    };
  }

  /** Key exchanges asked for since the last one succeeded. */
  private attempts = 0;

  /** Cookies left in the current session (0 without one). */
  get cookieCount(): number {
    return this.session?.cookieCount ?? 0;
  }

  secure(request: Uint8Array): { readonly packet: Uint8Array; readonly token: unknown } | null {
    this.dropIfTooOld();
    const s = this.session?.secure(request) ?? null;
    if (s === null) this.ask();
    return s === null ? null : { packet: s.packet, token: { session: this.session, inner: s.token } };
  }

  check(reply: Uint8Array, token: unknown): NtsCheckResult {
    const t = token as { session?: unknown; inner?: unknown } | null;
    const session = t?.session;
    // A reply to a request of an earlier session: its keys are gone.
    if (!(session instanceof NtsClientAuthenticator) || session !== this.session) return { ok: false, reason: 'nts-stale-session: the reply answers a request of an earlier key exchange', nak: false };
    const r = session.check(reply, t?.inner);
    if (!r.ok && r.nak) {
      this.session = null;
      this.ask();
    }
    return r;
  }

  /**
   * chrony's ntsrefresh (nts_ntp_client.c check_cookies): keys older than
   * the limit are dropped with their cookies before a request, so the
   * request waits for a new exchange. The server rotates the master keys
   * that seal cookies; a client living on cookies renewed from replies
   * would otherwise never learn of a changed certificate or NTP address.
   */
  private dropIfTooOld(): void {
    const { now, maxKeyAge } = this.opts;
    if (this.session === null || now === undefined || maxKeyAge === undefined) return;
    if (now() - this.installedAt > maxKeyAge()) this.session = null;
  }

  private ask(): void {
    // One request per missing session: the driver retries on its own schedule.
    if (this.asked) return;
    this.asked = true;
    this.attempts++;
    this.needKeyExchange();
  }
}
