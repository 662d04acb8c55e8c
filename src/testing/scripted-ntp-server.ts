/**
 * An NTP server whose answers a test changes while it runs: a clock offset,
 * a kiss-o'-death with any code and any poll field (chronyd serves neither
 * DENY nor a made-up poll), or silence. Built on ntpkit's own codec; it
 * keeps the time of every request, so a test can tell when the client under
 * test asked.
 */
import dgram from 'node:dgram';
import { realtime } from '../clock/realtime.js';
import { Leap, Mode } from '../proto/constants.js';
import { encodeHeader, parseHeader, type NtpHeader } from '../proto/header.js';
import { refIdFromCode } from '../proto/refid.js';
import { addSeconds } from '../time/instant.js';
import { secondsToShort } from '../time/short.js';
import { toNtpTimestamp } from '../time/timestamp.js';

export interface ScriptedAnswer {
  /** Seconds added to this machine's clock in the replies (default 0). */
  readonly offset?: number;
  /** Answer with this kiss code (stratum 0, leap 3), or null for the time (default null). */
  readonly kiss?: string | null;
  /** The poll field of the replies (default: the request's). */
  readonly poll?: number;
  /** Answer nothing. */
  readonly silent?: boolean;
  /** The leap indicator of time replies (default no warning): a leap second announced. */
  readonly leap?: Leap;
}

export interface ScriptedNtpServer {
  readonly address: string;
  readonly port: number;
  /** Date.now() of every request received, and how it was answered. */
  readonly requests: readonly { readonly at: number; readonly answer: string }[];
  /** Changes the answers from now on. */
  set(answer: ScriptedAnswer): void;
  close(): Promise<void>;
}

export async function startScriptedNtpServer(o: { address: string; port?: number; answer?: ScriptedAnswer }): Promise<ScriptedNtpServer> {
  let answer: ScriptedAnswer = o.answer ?? {};
  const requests: { at: number; answer: string }[] = [];
  const sock = dgram.createSocket(o.address.includes(':') ? 'udp6' : 'udp4');
  sock.on('message', (msg, rinfo) => {
    const t2 = realtime();
    const req = parseHeader(msg);
    if (!req.ok || req.value.mode !== Mode.Client) return;
    const a = answer;
    requests.push({ at: Date.now(), answer: a.silent === true ? 'silent' : a.kiss ?? 'time' });
    if (a.silent === true) return;
    const kiss = a.kiss ?? null;
    const rx = addSeconds(t2, a.offset ?? 0);
    const reply: NtpHeader = {
      leap: kiss !== null ? Leap.Unsynchronized : a.leap ?? Leap.NoWarning, version: req.value.version, mode: Mode.Server,
      stratum: kiss !== null ? 0 : 1, poll: a.poll ?? req.value.poll, precision: -20,
      rootDelay: 0, rootDispersion: secondsToShort(0.0001),
      referenceId: refIdFromCode(kiss ?? 'GPS'),
      referenceTimestamp: toNtpTimestamp(addSeconds(rx, -1)),
      originTimestamp: req.value.transmitTimestamp,
      receiveTimestamp: toNtpTimestamp(rx),
      transmitTimestamp: toNtpTimestamp(addSeconds(realtime(), a.offset ?? 0)),
    };
    sock.send(encodeHeader(reply), rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve, reject) => {
    sock.once('error', reject);
    sock.bind(o.port ?? 0, o.address, () => { sock.off('error', reject); resolve(); });
  });
  return {
    address: o.address,
    port: sock.address().port,
    requests,
    set: (next) => { answer = next; },
    close: () => new Promise((resolve) => { sock.close(() => resolve()); }),
  };
}
