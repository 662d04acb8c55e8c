/**
 * `ntpkit keygen [ID [TYPE [BITS]]]` (chronyc keygen): a random key printed
 * as a key file line, "ID TYPE HEX:...", for the keyfile of a server and its
 * client. Nothing is asked of the daemon. The arguments are read as chronyc
 * 4.3 reads them, so the same command line gives a key of the same length.
 */
import { Command } from 'commander';
import { randomBytes } from 'node:crypto';
import { ExitCode } from './exit-codes.js';
import type { Io } from './io.js';

/** The hash functions chronyc 4.3 (+SECHASH) knows, by its case-sensitive names. */
const HASHES = new Set(['MD5', 'SHA1', 'SHA256', 'SHA384', 'SHA512', 'SHA3-224', 'SHA3-256', 'SHA3-384', 'SHA3-512']);
/** The ciphers of CMAC keys and their key lengths, bytes: the length is the cipher's whatever BITS says. */
const CMAC_BYTES: Readonly<Record<string, number>> = { AES128: 16, AES256: 32 };
/** Key types ntpkit's keyfile reads (chronyd reads the SHA3 ones too). */
const NTPKIT_TYPES = new Set(['MD5', 'SHA1', 'SHA256', 'SHA384', 'SHA512', 'AES128', 'AES256']);

/**
 * sscanf("%u") as glibc does it: leading blanks, a sign, decimal digits
 * (what follows is ignored), the value wrapped to 32 bits (a minus sign
 * negates it modulo 2^32; beyond 2^64 - 1 it saturates first). Null without digits.
 */
export function scanUnsigned(text: string): number | null {
  const m = /^\s*([+-]?)(\d+)/.exec(text);
  if (m === null) return null;
  let v = BigInt(m[2] as string);
  if (v > 2n ** 64n - 1n) v = 2n ** 64n - 1n;
  if (m[1] === '-') v = (2n ** 64n - v) % 2n ** 64n;
  return Number(v & 0xffffffffn);
}

export type KeygenResult = { readonly ok: true; readonly line: string; readonly type: string } | { readonly ok: false; readonly message: string };

/** The key line for chronyc keygen's words, with `random` giving the key bytes. */
export function keygen(words: readonly string[], random: (n: number) => Uint8Array = (n) => randomBytes(n)): KeygenResult {
  if (words.length > 3) return { ok: false, message: 'Invalid syntax for keygen command' };
  const id = words.length >= 1 ? scanUnsigned(words[0] as string) : 1;
  const type = words[1] ?? 'SHA1';
  const bits = words.length >= 3 ? scanUnsigned(words[2] as string) : 160;
  if (id === null || bits === null) return { ok: false, message: 'Invalid syntax for keygen command' };
  let length: number;
  // (bits + 7) / 8 in unsigned int arithmetic, as chronyc computes it.
  if (HASHES.has(type)) length = Math.floor(((bits + 7) >>> 0) / 8);
  else if (CMAC_BYTES[type] !== undefined) length = CMAC_BYTES[type];
  else return { ok: false, message: `Unknown hash function or cipher ${type}` };
  length = Math.max(10, Math.min(512, length));
  const hex = Buffer.from(random(length)).toString('hex').toUpperCase();
  return { ok: true, line: `${id} ${type} HEX:${hex}`, type };
}

export function keygenCommand(io: Io): Command {
  return new Command('keygen')
    .description('print a random key as a key file line (like chronyc keygen)')
    .argument('[words...]', '[ID [TYPE [BITS]]]: key number (default 1); MD5, SHA1 (default), SHA256, SHA384, SHA512, SHA3-224...SHA3-512, AES128 or AES256; bits of a hash key, 80 to 4096 (default 160)')
    .addHelpText('after', `
Example: ntpkit keygen 73 SHA1 256
Put the line in the keyfile of both the server and the client (or peers),
a different key for each client.`)
    .action((words: string[]) => {
      const r = keygen(words);
      if (!r.ok) {
        io.err(r.message);
        io.setExitCode(ExitCode.GENERAL_FAILURE);
        return;
      }
      io.out(r.line);
      if (!NTPKIT_TYPES.has(r.type)) io.err(`ntpkit keygen: note: ntpkit's keyfile does not read ${r.type} keys (chronyd's does); use ${[...NTPKIT_TYPES].join(', ')} for ntpkit`);
      io.setExitCode(ExitCode.OK);
    });
}
