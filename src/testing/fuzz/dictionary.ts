/** Tokens worth splicing into inputs: what the parsers branch on. */
import { directiveNames } from '../../config/registry.js';
import { SOURCE_OPTION_NAMES } from '../../config/source-line.js';
import { ExtensionFieldType } from '../../proto/extension.js';
import { utf8 } from './seeds.js';

function be(width: number, v: number): Uint8Array {
  const out = new Uint8Array(width);
  for (let i = 0; i < width; i++) out[i] = (v >>> (8 * (width - 1 - i))) & 0xff;
  return out;
}

/** Extension field headers (type, length), first octets of each mode and version, a crypto-NAK, kiss codes. */
export const packetDictionary: readonly Uint8Array[] = [
  ...Object.values(ExtensionFieldType).flatMap((t) => [
    new Uint8Array([...be(2, t), ...be(2, 16)]), new Uint8Array([...be(2, t), ...be(2, 28)]), new Uint8Array([...be(2, t), ...be(2, 104)]),
  ]),
  ...[1, 2, 3, 4, 5, 6, 7].flatMap((v) => [0, 1, 2, 3, 4, 5, 6, 7].map((m) => new Uint8Array([(v << 3) | m]))),
  be(4, 0), // crypto-NAK: a zero key id and no digest
  utf8('RATE'), utf8('DENY'), utf8('RSTR'), utf8('NTSN'),
];

/**
 * Every directive and source option name of both config formats (from the
 * registry, so a new directive is fuzzed as soon as it is declared), words
 * their arguments branch on, and awkward values.
 */
export const configDictionary: readonly Uint8Array[] = [
  ...new Set([...directiveNames('chrony'), ...directiveNames('ntp'), ...SOURCE_OPTION_NAMES]),
  'stratum', 'mask', 'default', 'nomodify', 'limited', 'kod', 'minsane', 'all', 'orphan', 'listen',
  '-1', '0', '1e309', 'nan', '-0', '4294967296', '9007199254740993', '0x10', '*', '/', '.', '..', '::', '0.0.0.0/0', '::/0',
  '127.127.1.0', '192.0.2.1', '[::1]', '"', '#', '!', ';', '\\', '\t', '\n', '\r\n', '\u00a0', '\u{1f600}', '\0',
  '\ninclude /etc/fuzz/self.conf\n', '\nconfdir /etc/fuzz/d\n', '\ninclude /etc/fuzz/*.conf\n', '\nincludefile /etc/fuzz/self.conf\n',
].map(utf8);

/** JSON punctuation, keys and values of the control protocol. */
export const controlDictionary: readonly Uint8Array[] = [
  '{', '}', '[', ']', ':', ',', '"', '\\u0000', '\\ud800', 'null', 'true', 'false', '1e400', '-0', '"version"', '"id"',
  '"command"', '"args"', '"__proto__"', '"constructor"', '1', '2', '"snapshot"', '"echo"', '\n', '\r', ' ', 'x'.repeat(300),
].map(utf8);
