/** Named values of the NTP header fields (RFC 5905 §7.3). */

/** Leap indicator: the 2-bit warning of an impending leap second. */
export const Leap = {
  NoWarning: 0,
  /** Last minute of the day has 61 seconds. */
  InsertSecond: 1,
  /** Last minute of the day has 59 seconds. */
  DeleteSecond: 2,
  /** Clock unsynchronized ("alarm condition"). */
  Unsynchronized: 3,
} as const;
export type Leap = (typeof Leap)[keyof typeof Leap];

export const LEAP_NAMES: Readonly<Record<Leap, string>> = {
  0: 'normal',
  1: 'insert-second',
  2: 'delete-second',
  3: 'unsynchronized',
};

/** Association mode (3 bits). */
export const Mode = {
  Reserved: 0,
  SymmetricActive: 1,
  SymmetricPassive: 2,
  Client: 3,
  Server: 4,
  Broadcast: 5,
  /** NTP control message (ntpq), RFC 9327. */
  Control: 6,
  /** Private (ntpdc), historically abused for amplification. */
  Private: 7,
} as const;
export type Mode = (typeof Mode)[keyof typeof Mode];

export const MODE_NAMES: Readonly<Record<Mode, string>> = {
  0: 'reserved',
  1: 'symmetric-active',
  2: 'symmetric-passive',
  3: 'client',
  4: 'server',
  5: 'broadcast',
  6: 'control',
  7: 'private',
};

/** Versions this codec accepts (RFC 1059 .. RFC 5905). */
export const MIN_VERSION = 1;
export const MAX_VERSION = 4;

/** Stratum 0 marks a kiss-o'-death packet (or "unspecified"); 16 is unsynchronized (RFC 5905 §7.3). */
export const STRATUM_KISS = 0;
export const STRATUM_UNSYNCHRONIZED = 16;
export const MAX_STRATUM = 16;
