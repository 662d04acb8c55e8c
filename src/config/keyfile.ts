/**
 * Symmetric key files: chrony's `keyfile` and ntpd's `keys` (ntp.keys).
 *
 * chrony (chrony.conf(5) `keyfile`, chronyc `keygen`): `ID [TYPE] KEY` per
 * line; TYPE defaults to MD5; KEY is `HEX:...`, `ASCII:...` or, without a
 * prefix, ASCII. ntpd / NTPsec (ntp.keys(5)): `KEYNO TYPE KEY`; TYPE is `M`
 * or a digest name (MD5, SHA1, SHA256, ..., AES128CMAC / AES-128); KEY is
 * ASCII up to 20 characters, else hex (40 digits for a SHA1 key); key numbers
 * are 1..65535.
 *
 * Stricter than chronyd, which skips a line it cannot parse with a log
 * message: here every bad line is a `file:line` error and nothing is loaded,
 * so a typo cannot silently leave a server unauthenticated. A file readable
 * by everyone is refused (see docs/keys.md): a leaked key lets anyone
 * impersonate the server to every client that trusts it.
 */
import { stat } from 'node:fs/promises';
import { aesKeyLength, type KeyType, type SymmetricKey } from '../crypto/symmetric-mac.js';
import { describeError, readRegularFile } from './bounded-read.js';
import type { ConfigDiagnostic } from './diagnostics.js';

export type KeyFileFormat = 'chrony' | 'ntp';

export interface KeyFileResult {
  /** The keys by id; null when there are errors. */
  readonly keys: ReadonlyMap<number, SymmetricKey> | null;
  readonly errors: readonly ConfigDiagnostic[];
  readonly warnings: readonly ConfigDiagnostic[];
}

/** chronyd warns about keys shorter than 80 bits (keys.c). */
const MIN_KEY_BITS = 80;
/** ntpd reads a key of up to 20 characters as ASCII, a longer one as hex. */
const NTP_MAX_ASCII_KEY = 20;
const NTP_MAX_KEY_ID = 65535;
/** A key file is one short line per key: 1 MiB holds some ten thousand keys. More is not a key file. */
export const MAX_KEY_FILE_BYTES = 1024 * 1024;

const CHRONY_TYPES: Readonly<Record<string, KeyType>> = {
  MD5: 'MD5', SHA1: 'SHA1', SHA256: 'SHA256', SHA384: 'SHA384', SHA512: 'SHA512', AES128: 'AES128', AES256: 'AES256',
};
const NTP_TYPES: Readonly<Record<string, KeyType>> = {
  M: 'MD5', MD5: 'MD5', SHA1: 'SHA1', 'SHA-1': 'SHA1', SHA256: 'SHA256', 'SHA-256': 'SHA256', SHA384: 'SHA384', 'SHA-384': 'SHA384',
  SHA512: 'SHA512', 'SHA-512': 'SHA512', AES128CMAC: 'AES128', 'AES-128': 'AES128', 'AES-128-CMAC': 'AES128',
  AES256CMAC: 'AES256', 'AES-256': 'AES256', 'AES-256-CMAC': 'AES256',
};

function hexBytes(hex: string): Uint8Array | null {
  if (hex.length === 0 || hex.length % 2 !== 0 || !/^[0-9A-Fa-f]+$/.test(hex)) return null;
  return new Uint8Array(Buffer.from(hex, 'hex'));
}

/** Parses a key file's text; `file` names it in diagnostics. */
export function parseKeyFile(text: string, file: string, format: KeyFileFormat): KeyFileResult {
  const keys = new Map<number, SymmetricKey>();
  const errors: ConfigDiagnostic[] = [];
  const warnings: ConfigDiagnostic[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = i + 1;
    // chrony's comment characters are # ! ; %; ntpd's is #. Neither allows them inside keys.
    const raw = (lines[i] as string).replace(format === 'chrony' ? /[#!;%].*$/ : /#.*$/, '').trim();
    if (raw === '') continue;
    const err = (message: string): void => { errors.push({ file, line, message }); };
    const f = raw.split(/\s+/);
    let idText: string, typeText: string, keyText: string;
    if (format === 'chrony') {
      if (f.length === 2) [idText, typeText, keyText] = [f[0] as string, 'MD5', f[1] as string];
      else if (f.length === 3) [idText, typeText, keyText] = f as [string, string, string];
      else { err(`Cannot parse key line: expected "ID [TYPE] KEY", got ${f.length} fields`); continue; }
    } else {
      // NTPsec allows a 4th field: addresses allowed to use the key. Not supported: refuse rather than widen.
      if (f.length !== 3) { err(`Cannot parse key line: expected "KEYNO TYPE KEY", got ${f.length} fields`); continue; }
      [idText, typeText, keyText] = f as [string, string, string];
    }
    const maxId = format === 'chrony' ? 0xffff_ffff : NTP_MAX_KEY_ID;
    const id = /^\d+$/.test(idText) ? Number(idText) : NaN;
    if (!Number.isSafeInteger(id) || id < 1 || id > maxId) { err(`Cannot parse key id: current value is "${idText}", expected an integer 1..${maxId}`); continue; }
    const type = (format === 'chrony' ? CHRONY_TYPES : NTP_TYPES)[typeText.toUpperCase()];
    if (type === undefined) {
      err(`key ${id}: unsupported type "${typeText}" (expected ${Object.keys(format === 'chrony' ? CHRONY_TYPES : NTP_TYPES).join(', ')})`);
      continue;
    }
    let key: Uint8Array | null;
    if (format === 'chrony') {
      if (/^HEX:/i.test(keyText)) {
        key = hexBytes(keyText.slice(4));
        if (key === null) { err(`key ${id}: HEX: must be followed by an even number of hex digits`); continue; }
      } else {
        key = new Uint8Array(Buffer.from(/^ASCII:/i.test(keyText) ? keyText.slice(6) : keyText, 'latin1'));
      }
    } else if (keyText.length <= NTP_MAX_ASCII_KEY) {
      key = new Uint8Array(Buffer.from(keyText, 'latin1'));
    } else {
      key = hexBytes(keyText);
      if (key === null) { err(`key ${id}: a key longer than ${NTP_MAX_ASCII_KEY} characters must be hex digits (an even number)`); continue; }
    }
    if (key.length === 0) { err(`key ${id}: the key is empty`); continue; }
    const need = aesKeyLength(type);
    if (need !== null && key.length !== need) { err(`key ${id}: an ${type} key is ${need} bytes, got ${key.length}`); continue; }
    if (keys.has(id)) { err(`key ${id}: duplicate key id`); continue; }
    if (key.length * 8 < MIN_KEY_BITS) warnings.push({ file, line, message: `key ${id} is too short (${key.length * 8} bits; use at least ${MIN_KEY_BITS}, e.g. chronyc keygen)` });
    keys.set(id, Object.freeze({ id, type, key }));
  }
  return { keys: errors.length > 0 ? null : keys, errors, warnings };
}

/**
 * Reads and parses a key file. Refuses one that is readable by everyone
 * (mode o+r), that is not a regular file, or that cannot be read.
 */
export async function loadKeyFile(path: string, format: KeyFileFormat): Promise<KeyFileResult> {
  const fail = (message: string): KeyFileResult => ({ keys: null, errors: [{ file: path, line: 0, message }], warnings: [] });
  let text: string;
  try {
    const st = await stat(path);
    if (!st.isFile()) return fail('Cannot use the key file: it is not a regular file');
    if ((st.mode & 0o004) !== 0) {
      return fail(`Cannot use the key file: it is readable by everyone (mode ${(st.mode & 0o777).toString(8).padStart(4, '0')}); run chmod o-rwx on it`);
    }
    const r = readRegularFile(path, MAX_KEY_FILE_BYTES);
    if (r.truncated) return fail(`Cannot use the key file: it is larger than ${MAX_KEY_FILE_BYTES} bytes`);
    text = r.data.toString('latin1');
  } catch (e) {
    return fail(`Cannot read the key file: ${describeError(e)}`);
  }
  return parseKeyFile(text, path, format);
}
