/**
 * The environment switches, read once at the CLI's edge into the options of
 * what it composes; nothing below the CLI reads the environment for them.
 * Library users pass the same options themselves.
 */
import { type RealtimeSourceChoice, useRealtimeSource } from '../clock/realtime.js';
import type { UdpPreferences } from '../net/udp-socket.js';

/** `dgram` forces node:dgram for every UDP socket. */
export const UDP_TRANSPORT_ENV = 'NTPKIT_UDP';
/** `hrtime` forces the calibrated hrtime fallback for realtime(). */
export const CLOCK_SOURCE_ENV = 'NTPKIT_CLOCK_SOURCE';
/** `off` stops the server compensating its transmit timestamps for the measured latency. */
export const TX_COMPENSATION_ENV = 'NTPKIT_TX_COMPENSATION';

type Env = Readonly<Record<string, string | undefined>>;

export interface EnvironmentSwitches {
  readonly udp: UdpPreferences;
  readonly realtimeSource: RealtimeSourceChoice;
  /** NtpServerOptions.transmitCompensation. */
  readonly transmitCompensation: boolean;
}

export function environmentSwitches(env: Env = process.env): EnvironmentSwitches {
  return {
    udp: env[UDP_TRANSPORT_ENV] === 'dgram' ? { forceDgram: `${UDP_TRANSPORT_ENV}=dgram forces it` } : {},
    realtimeSource: env[CLOCK_SOURCE_ENV] === 'hrtime' ? { source: 'hrtime', reason: `${CLOCK_SOURCE_ENV}=hrtime forces the fallback` } : { source: 'auto' },
    transmitCompensation: env[TX_COMPENSATION_ENV] !== 'off',
  };
}

/** Reads the switches and applies the process-wide one (the realtime() source); returns the rest for the options. */
export function applyEnvironmentSwitches(env: Env = process.env): EnvironmentSwitches {
  const s = environmentSwitches(env);
  useRealtimeSource(s.realtimeSource);
  return s;
}
