/**
 * chrony's command protocol, version 6 (candm.h, pktlength.c of chrony
 * 4.3): the request and reply codes, one layout per request and per reply
 * body, and the length rules. A request's length is its header and body;
 * version 6 adds padding up to the length of the reply it asks for, so that
 * no reply is larger than its request (no amplification).
 */
import { type Layout, layoutSize } from './layout.js';

export const PROTO_VERSION = 6;
/** Versions this old still get a BADPKTVERSION reply rather than silence (PROTO_VERSION_MISMATCH_COMPAT_SERVER). */
export const PROTO_VERSION_MISMATCH_COMPAT_SERVER = 5;
export const PKT_TYPE_CMD_REQUEST = 1;
export const PKT_TYPE_CMD_REPLY = 2;
export const REQUEST_HEADER_LENGTH = 20;
export const REPLY_HEADER_LENGTH = 28;
export const DEFAULT_CANDM_PORT = 323;
export const MAX_CLIENT_ACCESSES = 8;
export const MAX_MANUAL_LIST_SAMPLES = 16;

/** Status codes (STT_*). */
export const STT = Object.freeze({
  SUCCESS: 0, FAILED: 1, UNAUTH: 2, INVALID: 3, NOSUCHSOURCE: 4, INVALIDTS: 5, NOTENABLED: 6, BADSUBNET: 7,
  ACCESSALLOWED: 8, ACCESSDENIED: 9, NOHOSTACCESS: 10, SOURCEALREADYKNOWN: 11, TOOMANYSOURCES: 12, NORTC: 13,
  BADRTCFILE: 14, INACTIVE: 15, BADSAMPLE: 16, INVALIDAF: 17, BADPKTVERSION: 18, BADPKTLENGTH: 19, INVALIDNAME: 21,
});

/** Request codes (REQ_*). */
export const REQ = Object.freeze({
  NULL: 0, ONLINE: 1, OFFLINE: 2, BURST: 3, MODIFY_MINPOLL: 4, MODIFY_MAXPOLL: 5, DUMP: 6, MODIFY_MAXDELAY: 7,
  MODIFY_MAXDELAYRATIO: 8, MODIFY_MAXUPDATESKEW: 9, LOGON: 10, SETTIME: 11, LOCAL: 12, MANUAL: 13, N_SOURCES: 14,
  SOURCE_DATA: 15, REKEY: 16, ALLOW: 17, ALLOWALL: 18, DENY: 19, DENYALL: 20, CMDALLOW: 21, CMDALLOWALL: 22,
  CMDDENY: 23, CMDDENYALL: 24, ACCHECK: 25, CMDACCHECK: 26, ADD_SERVER: 27, ADD_PEER: 28, DEL_SOURCE: 29,
  WRITERTC: 30, DFREQ: 31, DOFFSET: 32, TRACKING: 33, SOURCESTATS: 34, RTCREPORT: 35, TRIMRTC: 36, CYCLELOGS: 37,
  SUBNETS_ACCESSED: 38, CLIENT_ACCESSES: 39, CLIENT_ACCESSES_BY_INDEX: 40, MANUAL_LIST: 41, MANUAL_DELETE: 42,
  MAKESTEP: 43, ACTIVITY: 44, MODIFY_MINSTRATUM: 45, MODIFY_POLLTARGET: 46, MODIFY_MAXDELAYDEVRATIO: 47,
  RESELECT: 48, RESELECTDISTANCE: 49, MODIFY_MAKESTEP: 50, SMOOTHING: 51, SMOOTHTIME: 52, REFRESH: 53,
  SERVER_STATS: 54, CLIENT_ACCESSES_BY_INDEX2: 55, LOCAL2: 56, NTP_DATA: 57, ADD_SERVER2: 58, ADD_PEER2: 59,
  ADD_SERVER3: 60, ADD_PEER3: 61, SHUTDOWN: 62, ONOFFLINE: 63, ADD_SOURCE: 64, NTP_SOURCE_NAME: 65,
  RESET_SOURCES: 66, AUTH_DATA: 67, CLIENT_ACCESSES_BY_INDEX3: 68, SELECT_DATA: 69, RELOAD_SOURCES: 70, DOFFSET2: 71,
});
export const N_REQUEST_TYPES = 72;

/** Reply codes (RPY_*). */
export const RPY = Object.freeze({
  NULL: 1, N_SOURCES: 2, SOURCE_DATA: 3, MANUAL_TIMESTAMP: 4, TRACKING: 5, SOURCESTATS: 6, RTC: 7, ACTIVITY: 12,
  SMOOTHING: 13, NTP_DATA: 16, MANUAL_TIMESTAMP2: 17, MANUAL_LIST2: 18, NTP_SOURCE_NAME: 19, AUTH_DATA: 20,
  CLIENT_ACCESSES_BY_INDEX3: 21, SELECT_DATA: 23, SERVER_STATS3: 24,
});

// ---- request bodies ----
const ADDRESS_MASK: Layout = [['mask', 'ip'], ['address', 'ip']];
const ADDRESS_INT = (field: string): Layout => [['address', 'ip'], [field, 'i32']];
const ADDRESS_FLOAT = (field: string): Layout => [['address', 'ip'], [field, 'float']];
const IP_ONLY: Layout = [['ip', 'ip']];

export const REQUEST_LAYOUTS = Object.freeze({
  null: [] as Layout,
  online: ADDRESS_MASK,
  burst: [...ADDRESS_MASK, ['n_good_samples', 'i32'], ['n_total_samples', 'i32']] as Layout,
  modify_minpoll: ADDRESS_INT('new_minpoll'),
  modify_maxpoll: ADDRESS_INT('new_maxpoll'),
  dump: [['pad', 'i32']] as Layout,
  modify_maxdelay: ADDRESS_FLOAT('new_max_delay'),
  modify_maxdelayratio: ADDRESS_FLOAT('new_max_delay_ratio'),
  modify_maxdelaydevratio: ADDRESS_FLOAT('new_max_delay_dev_ratio'),
  modify_minstratum: ADDRESS_INT('new_min_stratum'),
  modify_polltarget: ADDRESS_INT('new_poll_target'),
  modify_maxupdateskew: [['new_max_update_skew', 'float']] as Layout,
  modify_makestep: [['limit', 'i32'], ['threshold', 'float']] as Layout,
  logon: [['ts', 'timespec']] as Layout,
  settime: [['ts', 'timespec']] as Layout,
  local: [['on_off', 'i32'], ['stratum', 'i32'], ['distance', 'float'], ['orphan', 'i32']] as Layout,
  manual: [['option', 'i32']] as Layout,
  source_data: [['index', 'i32']] as Layout,
  allow_deny: [['ip', 'ip'], ['subnet_bits', 'i32']] as Layout,
  ac_check: IP_ONLY,
  ntp_source: [
    ['type', 'u32'], ['name', { bytes: 256 }], ['port', 'u32'], ['minpoll', 'i32'], ['maxpoll', 'i32'],
    ['presend_minpoll', 'i32'], ['min_stratum', 'u32'], ['poll_target', 'u32'], ['version', 'u32'],
    ['max_sources', 'u32'], ['min_samples', 'i32'], ['max_samples', 'i32'], ['authkey', 'u32'], ['nts_port', 'u32'],
    ['max_delay', 'float'], ['max_delay_ratio', 'float'], ['max_delay_dev_ratio', 'float'], ['min_delay', 'float'],
    ['asymmetry', 'float'], ['offset', 'float'], ['flags', 'u32'], ['filter_length', 'i32'], ['cert_set', 'u32'],
    ['max_delay_quant', 'float'], ['reserved', 'u32'],
  ] as Layout,
  del_source: IP_ONLY,
  dfreq: [['dfreq', 'float']] as Layout,
  doffset: [['doffset', 'float']] as Layout,
  sourcestats: [['index', 'u32']] as Layout,
  client_accesses_by_index: [['first_index', 'u32'], ['n_clients', 'u32'], ['min_hits', 'u32'], ['reset', 'u32']] as Layout,
  manual_delete: [['index', 'i32']] as Layout,
  reselect_distance: [['distance', 'float']] as Layout,
  smoothtime: [['option', 'i32']] as Layout,
  ntp_data: IP_ONLY,
  ntp_source_name: IP_ONLY,
  auth_data: IP_ONLY,
  select_data: [['index', 'u32']] as Layout,
});
export type RequestBodyName = keyof typeof REQUEST_LAYOUTS;

// ---- reply bodies ----
const CLIENT: Layout = [
  ['ip', 'ip'], ['ntp_hits', 'u32'], ['nke_hits', 'u32'], ['cmd_hits', 'u32'], ['ntp_drops', 'u32'], ['nke_drops', 'u32'],
  ['cmd_drops', 'u32'], ['ntp_interval', 'i8'], ['nke_interval', 'i8'], ['cmd_interval', 'i8'],
  ['ntp_timeout_interval', 'i8'], ['last_ntp_hit_ago', 'u32'], ['last_nke_hit_ago', 'u32'], ['last_cmd_hit_ago', 'u32'],
];
const MANUAL_SAMPLE: Layout = [['when', 'timespec'], ['slewed_offset', 'float'], ['orig_offset', 'float'], ['residual', 'float']];

export const REPLY_LAYOUTS = Object.freeze({
  null: [] as Layout,
  n_sources: [['n_sources', 'u32']] as Layout,
  source_data: [
    ['ip_addr', 'ip'], ['poll', 'i16'], ['stratum', 'u16'], ['state', 'u16'], ['mode', 'u16'], ['flags', 'u16'],
    ['reachability', 'u16'], ['since_sample', 'u32'], ['orig_latest_meas', 'float'], ['latest_meas', 'float'],
    ['latest_meas_err', 'float'],
  ] as Layout,
  manual_timestamp: [['offset', 'float'], ['dfreq_ppm', 'float'], ['new_afreq_ppm', 'float']] as Layout,
  tracking: [
    ['ref_id', 'u32'], ['ip_addr', 'ip'], ['stratum', 'u16'], ['leap_status', 'u16'], ['ref_time', 'timespec'],
    ['current_correction', 'float'], ['last_offset', 'float'], ['rms_offset', 'float'], ['freq_ppm', 'float'],
    ['resid_freq_ppm', 'float'], ['skew_ppm', 'float'], ['root_delay', 'float'], ['root_dispersion', 'float'],
    ['last_update_interval', 'float'],
  ] as Layout,
  sourcestats: [
    ['ref_id', 'u32'], ['ip_addr', 'ip'], ['n_samples', 'u32'], ['n_runs', 'u32'], ['span_seconds', 'u32'], ['sd', 'float'],
    ['resid_freq_ppm', 'float'], ['skew_ppm', 'float'], ['est_offset', 'float'], ['est_offset_err', 'float'],
  ] as Layout,
  rtc: [
    ['ref_time', 'timespec'], ['n_samples', 'u16'], ['n_runs', 'u16'], ['span_seconds', 'u32'],
    ['rtc_seconds_fast', 'float'], ['rtc_gain_rate_ppm', 'float'],
  ] as Layout,
  client_accesses_by_index: [
    ['n_indices', 'u32'], ['next_index', 'u32'], ['n_clients', 'u32'], ['clients', { array: CLIENT, count: MAX_CLIENT_ACCESSES }],
  ] as Layout,
  server_stats: [
    ['ntp_hits', 'u32'], ['nke_hits', 'u32'], ['cmd_hits', 'u32'], ['ntp_drops', 'u32'], ['nke_drops', 'u32'],
    ['cmd_drops', 'u32'], ['log_drops', 'u32'], ['ntp_auth_hits', 'u32'], ['ntp_interleaved_hits', 'u32'],
    ['ntp_timestamps', 'u32'], ['ntp_span_seconds', 'u32'],
  ] as Layout,
  manual_list: [['n_samples', 'u32'], ['samples', { array: MANUAL_SAMPLE, count: MAX_MANUAL_LIST_SAMPLES }]] as Layout,
  activity: [['online', 'i32'], ['offline', 'i32'], ['burst_online', 'i32'], ['burst_offline', 'i32'], ['unresolved', 'i32']] as Layout,
  smoothing: [
    ['flags', 'u32'], ['offset', 'float'], ['freq_ppm', 'float'], ['wander_ppm', 'float'], ['last_update_ago', 'float'],
    ['remaining_time', 'float'],
  ] as Layout,
  ntp_data: [
    ['remote_addr', 'ip'], ['local_addr', 'ip'], ['remote_port', 'u16'], ['leap', 'u8'], ['version', 'u8'], ['mode', 'u8'],
    ['stratum', 'u8'], ['poll', 'i8'], ['precision', 'i8'], ['root_delay', 'float'], ['root_dispersion', 'float'],
    ['ref_id', 'u32'], ['ref_time', 'timespec'], ['offset', 'float'], ['peer_delay', 'float'], ['peer_dispersion', 'float'],
    ['response_time', 'float'], ['jitter_asymmetry', 'float'], ['flags', 'u16'], ['tx_tss_char', 'u8'],
    ['rx_tss_char', 'u8'], ['total_tx_count', 'u32'], ['total_rx_count', 'u32'], ['total_valid_count', 'u32'],
    ['total_good_count', 'u32'], ['reserved', { bytes: 12 }],
  ] as Layout,
  ntp_source_name: [['name', { bytes: 256 }]] as Layout,
  auth_data: [
    ['mode', 'u16'], ['key_type', 'u16'], ['key_id', 'u32'], ['key_length', 'u16'], ['ke_attempts', 'u16'],
    ['last_ke_ago', 'u32'], ['cookies', 'u16'], ['cookie_length', 'u16'], ['nak', 'u16'], ['pad', 'u16'],
  ] as Layout,
  select_data: [
    ['ref_id', 'u32'], ['ip_addr', 'ip'], ['state_char', 'u8'], ['authentication', 'u8'], ['leap', 'u8'], ['pad', 'u8'],
    ['conf_options', 'u16'], ['eff_options', 'u16'], ['last_sample_ago', 'u32'], ['score', 'float'], ['lo_limit', 'float'],
    ['hi_limit', 'float'],
  ] as Layout,
});
export type ReplyBodyName = keyof typeof REPLY_LAYOUTS;

/** Each reply code's body, for the codes chrony 4.3 still sends. */
export const REPLY_BODY: Readonly<Partial<Record<number, ReplyBodyName>>> = Object.freeze({
  [RPY.NULL]: 'null', [RPY.N_SOURCES]: 'n_sources', [RPY.SOURCE_DATA]: 'source_data', [RPY.TRACKING]: 'tracking',
  [RPY.SOURCESTATS]: 'sourcestats', [RPY.RTC]: 'rtc', [RPY.ACTIVITY]: 'activity', [RPY.SMOOTHING]: 'smoothing',
  [RPY.NTP_DATA]: 'ntp_data', [RPY.MANUAL_TIMESTAMP2]: 'manual_timestamp', [RPY.MANUAL_LIST2]: 'manual_list',
  [RPY.NTP_SOURCE_NAME]: 'ntp_source_name', [RPY.AUTH_DATA]: 'auth_data',
  [RPY.CLIENT_ACCESSES_BY_INDEX3]: 'client_accesses_by_index', [RPY.SELECT_DATA]: 'select_data',
  [RPY.SERVER_STATS3]: 'server_stats',
});

/** What a request code carries and which reply body its padding makes room for (pktlength.c's table); absent: not served in version 6 (STT_INVALID). */
interface RequestSpec { readonly body: RequestBodyName; readonly reply: ReplyBodyName }
const R = (body: RequestBodyName, reply: ReplyBodyName = 'null'): RequestSpec => ({ body, reply });

export const REQUEST_SPECS: Readonly<Partial<Record<number, RequestSpec>>> = Object.freeze({
  [REQ.NULL]: R('null'), [REQ.ONLINE]: R('online'), [REQ.OFFLINE]: R('online'), [REQ.BURST]: R('burst'),
  [REQ.MODIFY_MINPOLL]: R('modify_minpoll'), [REQ.MODIFY_MAXPOLL]: R('modify_maxpoll'), [REQ.DUMP]: R('dump'),
  [REQ.MODIFY_MAXDELAY]: R('modify_maxdelay'), [REQ.MODIFY_MAXDELAYRATIO]: R('modify_maxdelayratio'),
  [REQ.MODIFY_MAXUPDATESKEW]: R('modify_maxupdateskew'), [REQ.LOGON]: R('logon'),
  [REQ.SETTIME]: R('settime', 'manual_timestamp'), [REQ.MANUAL]: R('manual'), [REQ.N_SOURCES]: R('null', 'n_sources'),
  [REQ.SOURCE_DATA]: R('source_data', 'source_data'), [REQ.REKEY]: R('null'), [REQ.ALLOW]: R('allow_deny'),
  [REQ.ALLOWALL]: R('allow_deny'), [REQ.DENY]: R('allow_deny'), [REQ.DENYALL]: R('allow_deny'),
  [REQ.CMDALLOW]: R('allow_deny'), [REQ.CMDALLOWALL]: R('allow_deny'), [REQ.CMDDENY]: R('allow_deny'),
  [REQ.CMDDENYALL]: R('allow_deny'), [REQ.ACCHECK]: R('ac_check'), [REQ.CMDACCHECK]: R('ac_check'),
  [REQ.DEL_SOURCE]: R('del_source'), [REQ.WRITERTC]: R('null'), [REQ.DFREQ]: R('dfreq'),
  [REQ.TRACKING]: R('null', 'tracking'), [REQ.SOURCESTATS]: R('sourcestats', 'sourcestats'),
  [REQ.RTCREPORT]: R('null', 'rtc'), [REQ.TRIMRTC]: R('null'), [REQ.CYCLELOGS]: R('null'),
  [REQ.MANUAL_LIST]: R('null', 'manual_list'), [REQ.MANUAL_DELETE]: R('manual_delete'), [REQ.MAKESTEP]: R('null'),
  [REQ.ACTIVITY]: R('null', 'activity'), [REQ.MODIFY_MINSTRATUM]: R('modify_minstratum'),
  [REQ.MODIFY_POLLTARGET]: R('modify_polltarget'), [REQ.MODIFY_MAXDELAYDEVRATIO]: R('modify_maxdelaydevratio'),
  [REQ.RESELECT]: R('null'), [REQ.RESELECTDISTANCE]: R('reselect_distance'), [REQ.MODIFY_MAKESTEP]: R('modify_makestep'),
  [REQ.SMOOTHING]: R('null', 'smoothing'), [REQ.SMOOTHTIME]: R('smoothtime'), [REQ.REFRESH]: R('null'),
  [REQ.SERVER_STATS]: R('null', 'server_stats'), [REQ.LOCAL2]: R('local'), [REQ.NTP_DATA]: R('ntp_data', 'ntp_data'),
  [REQ.SHUTDOWN]: R('null'), [REQ.ONOFFLINE]: R('null'), [REQ.ADD_SOURCE]: R('ntp_source'),
  [REQ.NTP_SOURCE_NAME]: R('ntp_source_name', 'ntp_source_name'), [REQ.RESET_SOURCES]: R('null'),
  [REQ.AUTH_DATA]: R('auth_data', 'auth_data'),
  [REQ.CLIENT_ACCESSES_BY_INDEX3]: R('client_accesses_by_index', 'client_accesses_by_index'),
  [REQ.SELECT_DATA]: R('select_data', 'select_data'), [REQ.RELOAD_SOURCES]: R('null'), [REQ.DOFFSET2]: R('doffset'),
});

/**
 * Which commands the UDP port serves: chronyd 4.3 allows only these
 * (PERMIT_OPEN) from the network; everything else works only through the
 * Unix socket and gets STT_UNAUTH over UDP.
 */
export const OPEN_REQUESTS: ReadonlySet<number> = new Set([
  REQ.NULL, REQ.LOGON, REQ.N_SOURCES, REQ.SOURCE_DATA, REQ.TRACKING, REQ.SOURCESTATS, REQ.RTCREPORT, REQ.MANUAL_LIST,
  REQ.ACTIVITY, REQ.SMOOTHING, REQ.NTP_SOURCE_NAME,
]);

/** A request's body length without padding (0: not served). */
export function requestBodyLength(command: number): number {
  const spec = REQUEST_SPECS[command];
  return spec === undefined ? 0 : layoutSize(REQUEST_LAYOUTS[spec.body]);
}

/** The padding a version 6 request of this command carries. */
export function requestPadding(command: number): number {
  const spec = REQUEST_SPECS[command];
  if (spec === undefined) return 0;
  const req = REQUEST_HEADER_LENGTH + layoutSize(REQUEST_LAYOUTS[spec.body]);
  const rpy = REPLY_HEADER_LENGTH + layoutSize(REPLY_LAYOUTS[spec.reply]);
  return Math.max(0, rpy - req);
}

/** The whole length a version 6 request of this command must have (0: not served). */
export function requestLength(command: number): number {
  const spec = REQUEST_SPECS[command];
  return spec === undefined ? 0 : REQUEST_HEADER_LENGTH + requestBodyLength(command) + requestPadding(command);
}

/** The largest request chronyd reads (sizeof CMD_Request: header, its largest body with the EOR word, and the longest padding). */
export const MAX_REQUEST_LENGTH = REQUEST_HEADER_LENGTH + layoutSize(REQUEST_LAYOUTS.ntp_source) + 4 + 484;
