/**
 * The ntpkit library. Nothing here touches the system clock, so all of it is
 * safe inside containers, which must not run a clock daemon of their own.
 */

// One-shot queries (ntpkit query).
export { queryServer, queryServers, QUERY_DEFAULTS, MIN_SERVERS_FOR_VERDICT } from './net/query.js';
export type { FailureCode, QueryOptions, QueryReport, SampleRecord, ServerFailure, ServerResult } from './net/query.js';
export { parseTarget, formatEndpoint } from './net/target.js';
export type { Target } from './net/target.js';

// The NTP server (ntpkit server).
export { startNtpServer } from './daemon/ntp-server.js';
export type { NtpServerOptions, RunningNtpServer, ServedClock } from './daemon/ntp-server.js';
export { loadServerConfig } from './config/load.js';
export { parseServerConfig } from './config/parse-server-config.js';
export type { ServerConfig, AccessRuleConfig, LocalConfig } from './config/server-config.js';
export { ConfigError, formatDiagnostic } from './config/diagnostics.js';
export type { ConfigDiagnostic } from './config/diagnostics.js';
export { NtpResponder, serverConfig } from './core/server/server.js';
export type { ServerAction, RequestInput } from './core/server/server.js';
export { localReferenceState, synchronizedState, unsynchronizedState } from './core/system.js';
export type { SystemState } from './core/system.js';
export { formatServerStats, serverStatsToJson } from './core/server/server-stats.js';
export type { ServerStats, DropReason } from './core/server/server-stats.js';
export type { UdpTransportInfo, UdpTransportKind } from './net/udp-transport.js';

// Reading the clock precisely.
export { realtime, realtimeInfo, realtimeUnixNanos } from './clock/realtime.js';
export type { RealtimeInfo, RealtimeSourceKind } from './clock/realtime.js';
export { readClockNs, clockResolutionNs } from './clock/native.js';
export type { ClockName } from './clock/native.js';
export { readKernelTimeStatus } from './clock/kernel-status.js';
export type { KernelTimeStatus } from './clock/kernel-status.js';

// Exact time.
export * from './time/instant.js';
export * from './time/timestamp.js';
export * from './time/short.js';

// The wire protocol.
export * from './proto/index.js';

// Sans-IO algorithms.
export { computeSample, rootDistance, offsetJitter, PHI, MINDISP, MAXDISP } from './core/sample.js';
export type { Sample, Timestamps } from './core/sample.js';
export { intersect, combine } from './core/intervals.js';
export type { Candidate, IntersectionResult } from './core/intervals.js';
export { buildClientRequest } from './core/client-request.js';
export { evaluateReply } from './core/reply-validation.js';
export { estimateServer, combineServers } from './core/tools/server-estimate.js';
export type { ReplyRejection, ReplyVerdict } from './core/reply-validation.js';
export type { ServerEstimate, CombinedVerdict } from './core/tools/server-estimate.js';

// The library: the daemon's engine in-process on a virtual clock, and friendly fronts.
export { createSyncedClock, SyncedClock } from './daemon/synced-clock.js';
export type { SyncedClockOptions, SyncedClockServer, SyncedClockEvents } from './daemon/synced-clock.js';
export { createServer } from './daemon/create-server.js';
export type { CreateServerOptions } from './daemon/create-server.js';
export { queryServers as query } from './net/query.js';
export type { DaemonSnapshot, SourceSnapshot, TrackingSnapshot, SourceVerdict } from './core/engine/snapshot.js';
export type { SourceOptions, SourceKind } from './core/engine/source-options.js';
export type { DisciplineOptions, EngineEvent } from './core/engine/engine-api.js';
export { VirtualClock } from './clock/virtual-clock.js';
export type { Clock, ClockKind, ClockStatus } from './clock/clock.js';
export { loadConfig, parseConfigText } from './config/parse-config.js';
export type { Config, ConfiguredSource, ConfigResult } from './config/config.js';
