/**
 * RFC 7822 extension field lists on their own (src/proto/extension.ts), as
 * they follow the header, with the NTS minimum of 4 octets used inside an
 * NTS Authenticator's plaintext as well as the packet minimum of 16.
 */
import { encodeExtensionFieldList, EXTENSION_FIELD_NAMES, parseExtensionFieldList } from '../../proto/extension.js';
import { packetDictionary } from './dictionary.js';
import { roundTripTarget } from './round-trip.js';
import { goldenPackets } from './seeds.js';

function extensionSeeds(): Uint8Array[] {
  // The fields of every golden packet that has some (extension fields, NTS), MAC and header cut off.
  return goldenPackets().map((p) => p.bytes).filter((b) => b.length > 100).map((b) => b.subarray(48, b.length - (b.length - 48) % 16));
}

export const extensionTarget = roundTripTarget({
  name: 'extension',
  description: 'RFC 7822 extension field lists (parseExtensionFieldList / encodeExtensionFieldList), packet minimum 16 octets',
  maxLength: 1024,
  seeds: extensionSeeds,
  dictionary: packetDictionary,
  parse: (b) => parseExtensionFieldList(b),
  encode: (fields) => encodeExtensionFieldList(fields),
  label: (fields) => `ok:${Math.min(fields.length, 4)}:${fields.slice(0, 2).map((f) => EXTENSION_FIELD_NAMES[f.type] ?? 'other').join(',')}`,
});

export const ntsInnerExtensionTarget = roundTripTarget({
  name: 'extension-nts-inner',
  description: 'extension field lists with the 4-octet minimum of fields inside an NTS Authenticator',
  maxLength: 1024,
  seeds: extensionSeeds,
  dictionary: packetDictionary,
  parse: (b) => parseExtensionFieldList(b, { minLength: 4 }),
  encode: (fields) => encodeExtensionFieldList(fields, 4),
  label: (fields) => `ok:${Math.min(fields.length, 4)}`,
});
