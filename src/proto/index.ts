/** The public API of the NTP wire codec (pure: no I/O, never throws on input). */
export {
  Leap, LEAP_NAMES, MAX_STRATUM, MAX_VERSION, MIN_VERSION, Mode, MODE_NAMES, STRATUM_KISS,
  STRATUM_UNSYNCHRONIZED,
} from './constants.js';
export { fail, ok } from './result.js';
export type { ParseError, ParseErrorReason, ParseOk, ParseResult } from './result.js';
export {
  encodeHeader, HEADER_LENGTH, headerProblem, isControlMode, parseFirstOctet, parseHeader, writeHeader,
} from './header.js';
export type { FirstOctet, NtpHeader } from './header.js';
export {
  EXTENSION_FIELD_NAMES, EXTENSION_HEADER_LENGTH, encodeExtensionFieldList, ExtensionFieldType,
  extensionFieldLength, extensionFieldProblem, MAX_EXTENSION_FIELD_LENGTH, MIN_EXTENSION_FIELD_LENGTH,
  MIN_LAST_EXTENSION_FIELD_LENGTH, paddedBodyLength, parseExtensionField, parseExtensionFieldList,
  writeExtensionField,
} from './extension.js';
export type { ExtensionField, ExtensionFieldParseOptions, ParsedExtensionField } from './extension.js';
export {
  CRYPTO_NAK_LENGTH, isCryptoNak, KEY_ID_LENGTH, MAX_LEGACY_MAC_LENGTH, MAX_V4_MAC_LENGTH, macLength,
  macProblem, MIN_V4_MAC_LENGTH, parseMac, writeMac,
} from './mac.js';
export type { Mac } from './mac.js';
export {
  CONTROL_HEADER_LENGTH, controlModePacketProblem, encodeControlModePacket, parseControlMessage,
  parsePrivateMessage, PRIVATE_HEADER_LENGTH,
} from './control.js';
export type { ControlMessage, ControlModePacket, PrivateMessage } from './control.js';
export { encodePacket, isNtpPacket, packetProblem, parsePacket } from './packet.js';
export type { NtpPacket, PacketParseOptions } from './packet.js';
export {
  describeKissCode, isKissOfDeath, isKnownKissCode, KISS_CODES, kissAction, kissCode, kissCodeToRefId,
} from './kiss.js';
export type { KissAction, KissCode } from './kiss.js';
export {
  decodeRefId, formatRefId, formatRefIdHex, refIdAscii, refIdFromAddress, refIdFromCode, refIdFromIPv4,
  refIdFromIPv6, refIdToIPv4,
} from './refid.js';
export type { Md5, RefId, RefIdStyle } from './refid.js';
export { parseIPv4, parseIPv6 } from './ip-address.js';
