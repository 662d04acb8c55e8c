/**
 * What an NTS-KE exchange (RFC 8915 §4) gives an NTS client: where to send
 * NTP requests, the negotiated AEAD, the two keys exported from the TLS
 * session (§5.1) and the first cookies. The NTP-level client (nts-client)
 * consumes it; src/net/nts-ke-client.ts produces it.
 */
export interface NtsKeResult {
  /** NTP server: the one the KE server named (§4.1.7), else the KE server's own host. */
  readonly server: string;
  /** NTP port: the one the KE server named (§4.1.8), else 123. */
  readonly port: number;
  readonly aeadId: number;
  /** Client-to-server key: the client seals requests with it. */
  readonly c2s: Uint8Array;
  /** Server-to-client key: the server seals replies with it. */
  readonly s2c: Uint8Array;
  readonly cookies: readonly Uint8Array[];
}
