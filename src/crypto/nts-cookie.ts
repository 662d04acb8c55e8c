/**
 * NTS cookies (RFC 8915 §6) and the server's master keys.
 *
 * A cookie carries the client's two session keys, sealed so that only this
 * server (or another sharing its keys file) can open it. The layout is the
 * one §6 suggests:
 *
 *   key id (4) | nonce (16) | AES-SIV-CMAC-256(master key, nonce, plaintext)
 *   plaintext = AEAD id (2) | zero (2) | C2S key | S2C key
 *
 * The two zero octets keep cookies a multiple of 4 octets long (104 for
 * AES-SIV-CMAC-256), so one fills an NTP extension field without padding
 * and its placeholder has the same length.
 *
 * Master keys rotate every `ntsrotate` seconds of the server's operating
 * time (chrony's default is a week; 0 never rotates: keys are then managed
 * outside, and the file is only read). As chrony, the ring keeps the current
 * key and two previous ones, so a cookie stays valid for two rotations after
 * it was issued; one sealed under a key that left the ring opens as null and
 * the client re-keys. The ring serialises to the `ntskeys` file in ntsdumpdir
 * so a restart does not invalidate every client's cookies.
 */
import { pooledRandomBytes } from './random-pool.js';
import { SivKey } from './aes-siv.js';

export interface NtsKeys { readonly aeadId: number; readonly c2s: Uint8Array; readonly s2c: Uint8Array; }

export interface CookieCodec {
  /** A new cookie holding `keys`, sealed under the current master key. */
  seal(keys: NtsKeys): Uint8Array;
  /** The keys in a cookie; null when malformed, under an unknown/expired master key, or forged. */
  open(cookie: Uint8Array): NtsKeys | null;
}

/** The AEADs a cookie may carry keys for, with their key lengths (RFC 5297 SIV keys are two AES keys). */
export const COOKIE_AEAD_KEY_LENGTH: Readonly<Record<number, number>> = { 15: 32, 16: 48, 17: 64, 30: 16, 31: 32 };
/** chrony "keeps two previous keys" (chrony.conf(5), ntsrotate): three in all. */
export const MAX_MASTER_KEYS = 3;
/** chrony's default `ntsrotate`: one week. */
export const DEFAULT_NTS_ROTATE_SECONDS = 604800;
/** The master keys seal with AES-SIV-CMAC-256: a 32-octet key. */
export const MASTER_KEY_LENGTH = 32;
const NONCE_LENGTH = 16;
const SIV_TAG_LENGTH = 16;

export interface MasterKey {
  /** Random 32-bit id, written in front of every cookie sealed under this key. */
  readonly id: number;
  readonly key: Uint8Array;
}

export interface CookieKeyRingOptions {
  /** Seconds between rotations; 0 never rotates (chrony's `ntsrotate 0`). */
  readonly rotateSeconds?: number;
  /** Random bytes (tests inject a seeded source). */
  readonly random?: (n: number) => Uint8Array;
}

/** The server's master keys, newest last, and the cookie codec over them. */
export class CookieKeyRing implements CookieCodec {
  readonly rotateSeconds: number;
  readonly #random: (n: number) => Uint8Array;
  #keys: MasterKey[] = [];
  /** The cipher state of each master key in #keys, by id: it goes when its key rotates out. */
  #ciphers = new Map<number, SivKey>();
  /** Operating time (monotonic seconds, the caller's clock) when the current key became current. */
  #currentSince: number;
  readonly #listeners = new Set<(keys: readonly MasterKey[]) => void>();
  /** The keys as the addon's ntsServe takes them: 36 octets each (id, key), current last. */
  #table: Uint8Array = new Uint8Array(0);

  /** `currentSince`: when the newest of `keys` became current, in the caller's monotonic seconds. */
  constructor(keys: readonly MasterKey[], currentSince: number, opts: CookieKeyRingOptions = {}) {
    this.#currentSince = currentSince;
    this.rotateSeconds = opts.rotateSeconds ?? DEFAULT_NTS_ROTATE_SECONDS;
    this.#random = opts.random ?? pooledRandomBytes;
    if (keys.length === 0) throw new RangeError('A cookie key ring needs at least one master key');
    for (const k of keys) if (k.key.length !== MASTER_KEY_LENGTH) throw new RangeError(`A master key must be ${MASTER_KEY_LENGTH} octets, got ${k.key.length}`);
    this.#setKeys(keys.slice(-MAX_MASTER_KEYS));
  }

  #setKeys(keys: MasterKey[]): void {
    const ciphers = new Map<number, SivKey>();
    for (const k of keys) ciphers.set(k.id, this.#ciphers.get(k.id) ?? new SivKey(k.key));
    this.#keys = keys;
    this.#ciphers = ciphers;
    const table = new Uint8Array(keys.length * (4 + MASTER_KEY_LENGTH));
    keys.forEach((k, i) => {
      new DataView(table.buffer).setUint32(i * (4 + MASTER_KEY_LENGTH), k.id);
      table.set(k.key, i * (4 + MASTER_KEY_LENGTH) + 4);
    });
    this.#table = table;
    for (const l of this.#listeners) l(keys);
  }

  /**
   * Calls `listener` with the keys after every change (a rotation, a
   * replaceKeys()), so that other processes serving the same cookies (the
   * workers of `ntpkit server --workers`) follow. Returns the unsubscribe.
   */
  onKeysChanged(listener: (keys: readonly MasterKey[]) => void): () => void {
    this.#listeners.add(listener);
    return () => { this.#listeners.delete(listener); };
  }

  /**
   * Takes another ring's keys as they are (newest last): a worker following
   * its primary's ring, which alone rotates. `now` starts the current key's
   * age when it is a new one.
   */
  replaceKeys(keys: readonly MasterKey[], now: number): void {
    if (keys.length === 0) throw new RangeError('A cookie key ring needs at least one master key');
    for (const k of keys) if (k.key.length !== MASTER_KEY_LENGTH) throw new RangeError(`A master key must be ${MASTER_KEY_LENGTH} octets, got ${k.key.length}`);
    const newCurrent = (keys[keys.length - 1] as MasterKey).id !== this.current.id;
    this.#setKeys(keys.slice(-MAX_MASTER_KEYS));
    if (newCurrent) this.#currentSince = now;
  }

  /** A ring with one fresh key, current from `now` (monotonic seconds). */
  static generate(now: number, opts: CookieKeyRingOptions = {}): CookieKeyRing {
    const random = opts.random ?? pooledRandomBytes;
    return new CookieKeyRing([newKey(random, new Set())], now, { ...opts, random });
  }

  get keys(): readonly MasterKey[] { return this.#keys; }

  /** The master keys for the addon's NTS path (native/nts_server.c): per key its 32-bit id and the key, the current one last. */
  nativeKeyTable(): Uint8Array { return this.#table; }
  get current(): MasterKey { return this.#keys[this.#keys.length - 1] as MasterKey; }

  /** When the current key is due for replacement (Unix seconds); Infinity when rotation is off. */
  nextRotation(): number {
    return this.rotateSeconds > 0 ? this.#currentSince + this.rotateSeconds : Infinity;
  }

  /** Operating seconds the current key has been in use at `now`: what the keys file keeps across restarts. */
  currentAge(now: number): number {
    return Math.max(0, now - this.#currentSince);
  }

  /**
   * Rotates when due: true when a key was added. A server that was down for
   * several periods rotates once, not once per missed period: the old keys'
   * cookies are that old anyway.
   */
  rotateIfDue(now: number): boolean {
    if (now < this.nextRotation()) return false;
    this.rotate(now);
    return true;
  }

  /** Adds a new current key, dropping the oldest beyond MAX_MASTER_KEYS. */
  rotate(now: number): void {
    const ids = new Set(this.#keys.map((k) => k.id));
    this.#setKeys([...this.#keys, newKey(this.#random, ids)].slice(-MAX_MASTER_KEYS));
    this.#currentSince = now;
  }

  seal(keys: NtsKeys): Uint8Array {
    const len = COOKIE_AEAD_KEY_LENGTH[keys.aeadId];
    if (len === undefined || keys.c2s.length !== len || keys.s2c.length !== len) {
      throw new RangeError(`Cannot seal a cookie for AEAD ${keys.aeadId} with keys of ${keys.c2s.length}/${keys.s2c.length} octets`);
    }
    const plain = new Uint8Array(4 + 2 * len);
    plain[0] = keys.aeadId >> 8;
    plain[1] = keys.aeadId & 0xff;
    plain.set(keys.c2s, 4);
    plain.set(keys.s2c, 4 + len);
    const k = this.current;
    const nonce = this.#random(NONCE_LENGTH);
    const sealed = (this.#ciphers.get(k.id) as SivKey).encrypt(plain, [], nonce);
    const cookie = new Uint8Array(4 + NONCE_LENGTH + sealed.length);
    new DataView(cookie.buffer).setUint32(0, k.id);
    cookie.set(nonce, 4);
    cookie.set(sealed, 4 + NONCE_LENGTH);
    return cookie;
  }

  open(cookie: Uint8Array): NtsKeys | null {
    if (cookie.length < 4 + NONCE_LENGTH + SIV_TAG_LENGTH + 4) return null;
    const id = new DataView(cookie.buffer, cookie.byteOffset, cookie.byteLength).getUint32(0);
    const cipher = this.#ciphers.get(id);
    if (cipher === undefined) return null;
    const plain = cipher.decrypt(cookie.subarray(4 + NONCE_LENGTH), [], cookie.subarray(4, 4 + NONCE_LENGTH));
    if (plain === null || plain.length < 4) return null;
    const aeadId = ((plain[0] as number) << 8) | (plain[1] as number);
    const len = COOKIE_AEAD_KEY_LENGTH[aeadId];
    if (len === undefined || plain.length !== 4 + 2 * len || plain[2] !== 0 || plain[3] !== 0) return null;
    return { aeadId, c2s: plain.slice(4, 4 + len), s2c: plain.slice(4 + len) };
  }
}

function newKey(random: (n: number) => Uint8Array, taken: ReadonlySet<number>): MasterKey {
  for (;;) {
    const idBytes = random(4);
    const id = new DataView(idBytes.buffer, idBytes.byteOffset, 4).getUint32(0);
    if (!taken.has(id)) return { id, key: random(MASTER_KEY_LENGTH) };
  }
}

/** First line of the `ntskeys` file: a format tag, so a foreign or future file is refused, not misread. */
export const NTS_KEYS_FILE_HEADER = 'ntpkit-ntskeys 1';

export interface NtsKeysFile {
  readonly keys: readonly MasterKey[];
  /** Operating seconds the newest key had been current when the file was written. */
  readonly currentAge: number;
}

/** The `ntskeys` file's text: the header, `age SECONDS`, then one `ID KEY` line per key, oldest first. */
export function formatNtsKeysFile(f: NtsKeysFile): string {
  const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
  return `${NTS_KEYS_FILE_HEADER}\nage ${Math.floor(f.currentAge)}\n${f.keys.map((k) => `${k.id.toString(16).padStart(8, '0')} ${hex(k.key)}\n`).join('')}`;
}

/** Parses an `ntskeys` file. Never throws; errors name the line. */
export function parseNtsKeysFile(text: string): { readonly ok: true; readonly value: NtsKeysFile } | { readonly ok: false; readonly message: string } {
  const lines = text.split('\n');
  if (lines[0] !== NTS_KEYS_FILE_HEADER) return { ok: false, message: `line 1: expected "${NTS_KEYS_FILE_HEADER}", found ${JSON.stringify((lines[0] ?? '').slice(0, 40))}` };
  const age = /^age (\d{1,12})$/.exec(lines[1] ?? '');
  if (age === null) return { ok: false, message: 'line 2: expected "age SECONDS"' };
  const keys: MasterKey[] = [];
  for (let i = 2; i < lines.length; i++) {
    const line = lines[i] as string;
    if (line === '' && i === lines.length - 1) break;
    const m = /^([0-9a-f]{8}) ([0-9a-f]{64})$/.exec(line);
    if (m === null) return { ok: false, message: `line ${i + 1}: expected "ID KEY" (8 and 64 hex digits)` };
    keys.push({ id: parseInt(m[1] as string, 16), key: new Uint8Array(Buffer.from(m[2] as string, 'hex')) });
  }
  if (keys.length === 0) return { ok: false, message: 'no keys' };
  if (keys.length > MAX_MASTER_KEYS) return { ok: false, message: `${keys.length} keys, expected at most ${MAX_MASTER_KEYS}` };
  if (new Set(keys.map((k) => k.id)).size !== keys.length) return { ok: false, message: 'two keys share an id' };
  return { ok: true, value: { keys, currentAge: Number(age[1]) } };
}
