/**
 * The one place that decides between the addon's socket and node:dgram. A
 * caller names what it needs (UdpNeeds) and gets the best socket that
 * provides it; `info.reason` says why when that is node:dgram. What the
 * composition root prefers (UdpPreferences) comes in as an argument: nothing
 * here reads the environment.
 */
import { realtimeInfo } from '../clock/realtime.js';
import { loadNativeUdp } from './native-udp.js';
import { dgramHasReusePort, openDgramUdpSocket } from './udp-socket-dgram.js';
import { openNativeUdpSocket } from './udp-socket-native.js';
import type { UdpNeeds, UdpPreferences, UdpSocket, UdpSocketHandlers, UdpSocketSetup, UdpTransportInfo } from './udp-socket.js';

/**
 * Which backend `needs` gets here, and why when it is node:dgram: the
 * caller's own reason first, then the preference, then what the addon lacks,
 * then (for `realtimeScale`) a real-time clock that is not CLOCK_REALTIME.
 */
export function chooseUdpBackend(needs: UdpNeeds = {}, prefs: UdpPreferences = {}): UdpTransportInfo {
  const reason = needs.dgramBecause ?? nativeUdpUnavailable(prefs)
    ?? (needs.realtimeScale === true && realtimeInfo().kind !== 'clock_gettime' ? 'the real-time clock is the hrtime fallback' : null);
  return reason === null ? { kind: 'native-kernel-timestamps' } : { kind: 'dgram', reason };
}

/** Why the native socket cannot be used (a preference, or the addon lacks it), or null when it can. */
export function nativeUdpUnavailable(prefs: UdpPreferences = {}): string | null {
  if (prefs.forceDgram !== undefined) return prefs.forceDgram;
  const load = loadNativeUdp();
  return load.ok ? null : load.reason;
}

/**
 * A socket of `family` that provides `setup.needs`. Throws when socket() or
 * a native bind fails, and when reusePort or a bound device is needed and
 * neither backend has it; a node:dgram bind error rejects `ready`.
 */
export function openUdpSocket(family: 4 | 6, handlers: UdpSocketHandlers, setup: UdpSocketSetup = {}): UdpSocket {
  const info = chooseUdpBackend(setup.needs, setup.preferences);
  if (info.kind === 'native-kernel-timestamps') return openNativeUdpSocket(family, handlers, setup);
  if (setup.needs?.reusePort === true && !dgramHasReusePort()) {
    throw Object.assign(new Error(`several workers need SO_REUSEPORT: the native UDP socket (unavailable: ${info.reason ?? 'unknown'}) or Node 22.12+ (this is ${process.version})`), { code: 'ERR_NTPKIT_NO_REUSEPORT' });
  }
  if (setup.bind?.device !== undefined) {
    throw Object.assign(new Error(`binding a socket to ${setup.bind.device} (SO_BINDTODEVICE) needs the native UDP socket (unavailable: ${info.reason ?? 'unknown'})`), { code: 'ERR_NTPKIT_NO_BINDTODEVICE' });
  }
  return openDgramUdpSocket(family, handlers, setup, info);
}

/** openUdpSocket(), settled once bound; a failed bind closes the socket and rejects. */
export async function openBoundUdpSocket(family: 4 | 6, handlers: UdpSocketHandlers, setup: UdpSocketSetup): Promise<UdpSocket> {
  const sock = openUdpSocket(family, handlers, setup);
  try {
    await sock.ready;
  } catch (e) {
    await sock.close();
    throw e;
  }
  return sock;
}
