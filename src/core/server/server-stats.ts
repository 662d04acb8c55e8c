/**
 * Server statistics: the figures of `chronyc serverstats` and ours (drops by
 * named reason, kiss-o'-death replies by code), as a mutable counter set the
 * responder updates, a frozen snapshot, chronyc-style text and JSON.
 */
import type { ParseErrorReason } from '../../proto/result.js';

/**
 * Why a packet got no reply. Stable names: they appear in serverstats and
 * become metric labels.
 */
export const DROP_REASONS = [
  'too-short',          // under 48 bytes (a truncated header)
  'malformed',          // bad extension field, MAC length or trailing bytes
  'bad-version',        // version outside 1..4
  'bad-mode',           // mode 0 (other than an NTPv1 client request)
  'control-mode',       // mode 7 (ntpdc), never answered; mode 6 (ntpq) where no query responder takes it (`ntpkit server`)
  'not-a-request',      // mode 2, 4 or 5: not ours to answer
  'symmetric-disabled', // mode 1 while symmetric replies are turned off
  'bad-address',        // the client address is not an IP address
  'denied',             // access control (allow/deny)
  'rate-limited',       // the client's token bucket is empty
  'unsynchronized',     // no time to give and configured to stay silent
  'auth-failed',        // a MAC or NTS fields that did not check out (see authFailed)
  'bad-port',           // source port 0: no reply can be addressed to it (a spoofed or broken sender)
  'not-unicast',        // a multicast, broadcast or reserved source address (0/8, 224/3, ff00::/8, ::): never one host's
  'send-failed',        // a reply the kernel refused or had no room for (counted by the socket, not the responder)
] as const;
export type DropReason = (typeof DROP_REASONS)[number];

/** The drop reason of a packet the codec refused. */
export function dropReasonOfParseError(reason: ParseErrorReason): DropReason {
  switch (reason) {
    case 'too-short': return 'too-short';
    case 'bad-version': return 'bad-version';
    case 'bad-mode': return 'bad-mode';
    case 'control-mode': return 'control-mode';
    case 'bad-field-length':
    case 'bad-mac-length':
    case 'trailing-data':
      return 'malformed';
  }
}

/**
 * Why an authenticated request failed (whatever the answer: none, a
 * crypto-NAK or an NTS NAK). Stable names, as drop reasons.
 */
export const AUTH_FAILURE_REASONS = [
  'no-keys',            // a MAC, but the server has no key file
  'unknown-key',        // a MAC under a key id the server does not have
  'bad-mac',            // a MAC whose digest is wrong
  'nts-bad-cookie',     // NTS: a cookie that does not open (unknown or expired master key, forged)
  'nts-bad-auth',       // NTS: the authenticator field does not verify
  'nts-malformed',      // NTS: fields missing, repeated or malformed; or fields the server does not serve
] as const;
export type AuthFailureReason = (typeof AUTH_FAILURE_REASONS)[number];

/**
 * Why an NTS-KE connection ended without keys. Stable names, as drop reasons;
 * the KE server (src/daemon/nts-ke-server.ts) counts them, not the responder.
 */
export const NTS_KE_DROP_REASONS = [
  'tls-error',            // the TLS handshake failed
  'no-alpn',              // the handshake finished without ALPN ntske/1
  'timeout',              // the session deadline (from TCP accept) passed before the response was written
  'malformed',            // the request does not parse (answered with an Error record)
  'bad-request',          // it parses but breaks RFC 8915 §4.1's rules (Error record)
  'no-common-algorithm',  // no AEAD in common (an empty AEAD record)
  'too-many-connections', // maxntsconnections sessions open: closed at accept
  'closed-early',         // the client closed before its request was complete
  'internal-error',       // the server could not build the response (Error record)
] as const;
export type NtsKeDropReason = (typeof NTS_KE_DROP_REASONS)[number];

/** Why a mode 6 (ntpq) datagram got no answer. Stable names, as drop reasons; the query responder (mode6-server.ts) counts them. */
export const QUERY_DROP_REASONS = [
  'malformed',     // not a parsable mode 6 message
  'not-a-request', // the R or E bit set: a response is never answered (no loops between two servers)
  'bad-address',   // source port 0 or an address that is not one host's
  'denied',        // the query access rules do not permit the sender
  'rate-limited',  // the sender's token bucket is empty
] as const;
export type QueryDropReason = (typeof QUERY_DROP_REASONS)[number];

/** The mode 6 responder's running totals, which join the NTP responder's in one ServerStats (withQueryStats). */
export interface QueryStats {
  /** Mode 6 datagrams received. */
  readonly received: number;
  /** Requests answered with data. */
  readonly answered: number;
  /** Requests answered with an error code (an opcode that writes or is not served, an unknown association or variable). */
  readonly refused: number;
  readonly droppedByReason: Readonly<Record<QueryDropReason, number>>;
}

const NO_QUERIES: QueryStats = Object.freeze({
  received: 0, answered: 0, refused: 0,
  droppedByReason: Object.freeze(Object.fromEntries(QUERY_DROP_REASONS.map((r) => [r, 0])) as Record<QueryDropReason, number>),
});

/** The NTS-KE servers' running totals, which join the NTP responder's in one ServerStats (withNtsKeStats). */
export interface NtsKeStats {
  readonly accepted: number;
  readonly dropped: number;
  readonly droppedBy: Readonly<Partial<Record<NtsKeDropReason, number>>>;
}

/** Kiss codes the server sends (NTSN: the NTS NAK, RFC 8915 §5.7). */
export const SERVER_KISS_CODES = ['RATE', 'DENY', 'NTSN'] as const;
export type ServerKissCode = (typeof SERVER_KISS_CODES)[number];

/** What the responder counts as it goes. */
export interface ServerCounters {
  /** Every datagram handed to the responder. */
  received: number;
  /** Replies produced (kiss-o'-death ones included). */
  replied: number;
  /** Packets with no reply, by reason. */
  readonly dropped: Record<DropReason, number>;
  readonly kodSent: Record<ServerKissCode, number>;
  interleaved: number;
  authenticated: number;
  /** Authenticated requests that failed, by reason. */
  readonly authFailed: Record<AuthFailureReason, number>;
  cryptoNakSent: number;
}

/**
 * The control requests a daemon has received, as chronyd counts its command
 * packets for serverstats: `received`, every well-formed request on any of
 * its control sockets (a line that is not a request is not counted, as
 * chronyd does not count a malformed packet); `dropped`, those refused by a
 * rate limit, which chronyd applies only to remote hosts and never to its
 * local socket, so with no network command port it stays 0 here too.
 */
export interface CommandCounts {
  received: number;
  dropped: number;
}

export function createCommandCounts(): CommandCounts {
  return { received: 0, dropped: 0 };
}

export function createServerCounters(): ServerCounters {
  return {
    received: 0,
    replied: 0,
    dropped: Object.fromEntries(DROP_REASONS.map((r) => [r, 0])) as Record<DropReason, number>,
    kodSent: { RATE: 0, DENY: 0, NTSN: 0 },
    interleaved: 0,
    authenticated: 0,
    authFailed: Object.fromEntries(AUTH_FAILURE_REASONS.map((r) => [r, 0])) as Record<AuthFailureReason, number>,
    cryptoNakSent: 0,
  };
}

/** One consistent reading of the statistics, with chronyc serverstats' figures. */
export interface ServerStats {
  /** chronyc: "NTP packets received". Here: every datagram handed to the server, well formed or not. */
  readonly ntpPacketsReceived: number;
  /** chronyc: "NTP packets dropped" (chronyd counts only rate-limit drops there; this is every drop, see droppedByReason). */
  readonly ntpPacketsDropped: number;
  readonly ntpPacketsReplied: number;
  readonly commandPacketsReceived: number;
  readonly commandPacketsDropped: number;
  /** Client records replaced by another address in the bounded table. */
  readonly clientLogRecordsDropped: number;
  /** 0 until withNtsKeStats() adds the KE servers' figures (the responder serves no KE). */
  readonly ntsKeConnectionsAccepted: number;
  readonly ntsKeConnectionsDropped: number;
  /** NTS-KE connections dropped, by reason (`timeout`: closed by the session deadline). */
  readonly ntsKeDroppedByReason: Readonly<Record<NtsKeDropReason, number>>;
  readonly authenticatedNtpPackets: number;
  /** Replies sent in interleaved mode. */
  readonly interleavedNtpPackets: number;
  /** Receive/transmit pairs kept for interleaved mode. */
  readonly ntpTimestampsHeld: number;
  /** Seconds from the oldest held receive timestamp to the newest. */
  readonly ntpTimestampSpan: number;
  readonly droppedByReason: Readonly<Record<DropReason, number>>;
  readonly kodSent: Readonly<Record<ServerKissCode, number>>;
  /** Authenticated requests that failed, by reason (dropped or answered with a NAK). */
  readonly authFailed: Readonly<Record<AuthFailureReason, number>>;
  readonly cryptoNakSent: number;
  /** Mode 6 queries (ntpq), counted apart from the NTP packets: all zero where none are served. */
  readonly queries: QueryStats;
}

export interface TableFigures {
  readonly recordsDropped: number;
  readonly timestampsHeld: number;
  readonly timestampSpan: number;
}

const NO_NTS_KE_DROPS: Readonly<Record<NtsKeDropReason, number>> = Object.freeze(Object.fromEntries(NTS_KE_DROP_REASONS.map((r) => [r, 0])) as Record<NtsKeDropReason, number>);

export function snapshotServerStats(c: ServerCounters, table: TableFigures): ServerStats {
  let dropped = 0;
  for (const r of DROP_REASONS) dropped += c.dropped[r];
  return Object.freeze({
    ntpPacketsReceived: c.received,
    ntpPacketsDropped: dropped,
    ntpPacketsReplied: c.replied,
    commandPacketsReceived: 0,
    commandPacketsDropped: 0,
    clientLogRecordsDropped: table.recordsDropped,
    ntsKeConnectionsAccepted: 0,
    ntsKeConnectionsDropped: 0,
    ntsKeDroppedByReason: NO_NTS_KE_DROPS,
    authenticatedNtpPackets: c.authenticated,
    interleavedNtpPackets: c.interleaved,
    ntpTimestampsHeld: table.timestampsHeld,
    ntpTimestampSpan: table.timestampSpan,
    droppedByReason: Object.freeze({ ...c.dropped }),
    kodSent: Object.freeze({ ...c.kodSent }),
    authFailed: Object.freeze({ ...c.authFailed }),
    cryptoNakSent: c.cryptoNakSent,
    queries: NO_QUERIES,
  });
}

/** The NTP server's statistics with the mode 6 responder's figures in place of the zeros. */
export function withQueryStats(s: ServerStats, q: QueryStats): ServerStats {
  return Object.freeze({ ...s, queries: q });
}

/**
 * The NTP server's statistics with the NTS-KE servers' figures in place of
 * the zeros: the one reading every report (control, metrics, dashboard,
 * `ntpkit server`) shows.
 */
export function withNtsKeStats(s: ServerStats, ke: NtsKeStats): ServerStats {
  const droppedBy = Object.fromEntries(NTS_KE_DROP_REASONS.map((r) => [r, ke.droppedBy[r] ?? 0])) as Record<NtsKeDropReason, number>;
  return Object.freeze({
    ...s,
    ntsKeConnectionsAccepted: ke.accepted,
    ntsKeConnectionsDropped: ke.dropped,
    ntsKeDroppedByReason: Object.freeze(droppedBy),
  });
}

/** The statistics with the daemon's control requests counted in (the responder sees none). */
export function withCommandCounts(s: ServerStats, counts: Readonly<CommandCounts>): ServerStats {
  return Object.freeze({ ...s, commandPacketsReceived: counts.received, commandPacketsDropped: counts.dropped });
}

/** chronyc pads labels to 27 columns: "NTP packets received       : 6". */
const LABEL_WIDTH = 27;

function line(label: string, value: number): string {
  return `${label.padEnd(LABEL_WIDTH)}: ${value}`;
}

/**
 * The text of `chronyc serverstats` (chronyd 4.3's eleven lines, same labels
 * and layout), followed by ours: replies, then every drop reason, kiss code,
 * authentication failure and NTS-KE drop reason with a non-zero count (all of
 * them with `all`).
 */
export function formatServerStats(s: ServerStats, opts: { readonly all?: boolean; readonly chronydOnly?: boolean } = {}): string[] {
  const out = [
    line('NTP packets received', s.ntpPacketsReceived),
    line('NTP packets dropped', s.ntpPacketsDropped),
    line('Command packets received', s.commandPacketsReceived),
    line('Command packets dropped', s.commandPacketsDropped),
    line('Client log records dropped', s.clientLogRecordsDropped),
    line('NTS-KE connections accepted', s.ntsKeConnectionsAccepted),
    line('NTS-KE connections dropped', s.ntsKeConnectionsDropped),
    line('Authenticated NTP packets', s.authenticatedNtpPackets),
    line('Interleaved NTP packets', s.interleavedNtpPackets),
    line('NTP timestamps held', s.ntpTimestampsHeld),
    line('NTP timestamp span', Math.floor(s.ntpTimestampSpan)),
    line('NTP packets replied', s.ntpPacketsReplied),
  ];
  // chronyd's eleven counters alone: what its protocol carries.
  if (opts.chronydOnly) return out.slice(0, 11);
  for (const r of DROP_REASONS) {
    if (opts.all || s.droppedByReason[r] > 0) out.push(line(`Dropped ${r}`, s.droppedByReason[r]));
  }
  for (const k of SERVER_KISS_CODES) {
    if (opts.all || s.kodSent[k] > 0) out.push(line(`KoD ${k} sent`, s.kodSent[k]));
  }
  for (const r of AUTH_FAILURE_REASONS) {
    if (opts.all || s.authFailed[r] > 0) out.push(line(`Auth failed ${r}`, s.authFailed[r]));
  }
  if (opts.all || s.cryptoNakSent > 0) out.push(line('Crypto-NAKs sent', s.cryptoNakSent));
  for (const r of NTS_KE_DROP_REASONS) {
    if (opts.all || s.ntsKeDroppedByReason[r] > 0) out.push(line(`NTS-KE ${r}`, s.ntsKeDroppedByReason[r]));
  }
  const q = s.queries;
  if (opts.all || q.received > 0) {
    out.push(line('Mode 6 queries received', q.received), line('Mode 6 queries answered', q.answered), line('Mode 6 queries refused', q.refused));
  }
  for (const r of QUERY_DROP_REASONS) {
    if (opts.all || q.droppedByReason[r] > 0) out.push(line(`Mode 6 drop ${r}`, q.droppedByReason[r]));
  }
  return out;
}

/** The JSON form (`--json`): the snapshot's fields, plain numbers and objects. */
export function serverStatsToJson(s: ServerStats): Record<string, unknown> {
  return {
    ntpPacketsReceived: s.ntpPacketsReceived,
    ntpPacketsDropped: s.ntpPacketsDropped,
    ntpPacketsReplied: s.ntpPacketsReplied,
    commandPacketsReceived: s.commandPacketsReceived,
    commandPacketsDropped: s.commandPacketsDropped,
    clientLogRecordsDropped: s.clientLogRecordsDropped,
    ntsKeConnectionsAccepted: s.ntsKeConnectionsAccepted,
    ntsKeConnectionsDropped: s.ntsKeConnectionsDropped,
    ntsKeDroppedByReason: { ...s.ntsKeDroppedByReason },
    authenticatedNtpPackets: s.authenticatedNtpPackets,
    interleavedNtpPackets: s.interleavedNtpPackets,
    ntpTimestampsHeld: s.ntpTimestampsHeld,
    ntpTimestampSpan: s.ntpTimestampSpan,
    droppedByReason: { ...s.droppedByReason },
    kodSent: { ...s.kodSent },
    authFailed: { ...s.authFailed },
    cryptoNakSent: s.cryptoNakSent,
    queries: { received: s.queries.received, answered: s.queries.answered, refused: s.queries.refused, droppedByReason: { ...s.queries.droppedByReason } },
  };
}
