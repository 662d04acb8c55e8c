/**
 * Captures golden NTP packets from real chronyd 4.3 and ntpdig on loopback
 * and writes them to src/proto/fixtures/ (one JSON file per scenario).
 *
 *     npx tsc -p tsconfig.json --outDir dist-harness
 *     node dist-harness/testing/capture-golden.js [--only a,b] [--out DIR] [--list]
 *
 * Every scenario puts a recording UDP relay between the parties, so the bytes
 * are exactly what the producers sent. A scenario checks that what it
 * captured is what it claims (a MAC of the right length, an interleaved
 * reply, a kiss code...) with the harness's own decoder, and fails instead of
 * writing a fixture that does not show the thing it is named after.
 *
 * Every chronyd runs with -x (never touches the clock) and is stopped by PID.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ChronydProcess, startChronydClient, startChronydServer } from './chronyd.js';
import { freeUdpPort, type LoopbackBlock, reserveLoopbackBlock } from './loopback.js';
import { decodeProbeHeader, type ProbeHeader } from './ntp-probe.js';
import { runNtpdig } from './ntpdig.js';
import { runIfMain } from './process.js';
import { missingTools, type ToolName, toolPath } from './tools.js';
import { type RelayRecord, startUdpRelay, type UdpRelay } from './udp-relay.js';

/** One captured datagram as stored in a fixture. */
export interface GoldenPacket {
  readonly index: number;
  /** Request/reply pairs share an exchange number; broadcasts get their own. */
  readonly exchange: number;
  readonly description: string;
  readonly producer: string;
  readonly direction: 'client-to-server' | 'server-to-client' | 'broadcast';
  readonly capturedAt: string;
  readonly length: number;
  readonly hex: string;
}

/** One fixture file. */
export interface GoldenFixture {
  readonly scenario: string;
  readonly description: string;
  readonly capturedAt: string;
  /** How to re-create this file. */
  readonly command: string;
  /** What ran: configs (temp dirs shown as {dir}), command lines, key files. */
  readonly setup: Readonly<Record<string, string>>;
  readonly packets: readonly GoldenPacket[];
}

/** Test-only key material: fixed so that MACs in the fixtures can be verified later. */
export const GOLDEN_KEYS = {
  /** chrony keyfile syntax. */
  chrony: [
    '1 SHA1 HEX:0123456789ABCDEF0123456789ABCDEF01234567',
    '2 MD5 HEX:00112233445566778899AABBCCDDEEFF',
    '3 AES128 HEX:7EA62AE64D190114D46D5A082F948EC1',
  ].join('\n') + '\n',
  /** NTPsec keys file syntax (what ntpdig -k reads): the same keys. */
  ntpsec: [
    '1 SHA1 0123456789abcdef0123456789abcdef01234567',
    '2 MD5 00112233445566778899aabbccddeeff',
    '3 AES-128 7ea62ae64d190114d46d5a082f948ec1',
  ].join('\n') + '\n',
} as const;

const FAKE_OFFSET = 2.5;

interface Versions {
  readonly chronyd: string;
  readonly ntpdig: string;
}

interface Ctx {
  readonly addresses: readonly string[];
  readonly versions: Versions;
  readonly command: string;
  /** Registers cleanup to run (in reverse order) when the scenario ends, even on failure. */
  defer(fn: () => Promise<void> | void): void;
  readonly tmp: string;
}

interface Scenario {
  readonly name: string;
  readonly description: string;
  readonly needs: readonly ToolName[];
  readonly addresses: number;
  run(ctx: Ctx): Promise<GoldenFixture>;
}

function hex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}

function fail(scenario: string, what: string): never {
  throw new Error(`${scenario}: capture does not show what the scenario needs: ${what}`);
}

/** The config as written, with the temp dir replaced so fixtures do not carry random paths. */
function shownConfig(p: ChronydProcess): string {
  return p.configText.replaceAll(p.dir, '{dir}');
}

/** Pairs records into exchanges: a to-server datagram opens one; a to-client one joins the latest of its client. */
function toPackets(
  records: readonly RelayRecord[],
  describe: (r: RelayRecord, h: ProbeHeader) => { description: string; producer: string },
): GoldenPacket[] {
  const open = new Map<string, number>();
  let next = 0;
  return records.map((r, index) => {
    const key = `${r.client.address}|${r.client.port}`;
    let exchange: number;
    if (r.direction === 'to-server') {
      exchange = next++;
      open.set(key, exchange);
    } else {
      exchange = open.get(key) ?? next++;
    }
    const h = decodeProbeHeader(r.bytes);
    if (!h) throw new Error(`captured a ${r.bytes.length}-byte datagram that is not NTP`);
    const { description, producer } = describe(r, h);
    return {
      index,
      exchange,
      description,
      producer,
      direction: r.direction === 'to-server' ? 'client-to-server' : 'server-to-client',
      capturedAt: r.receivedAt.toISOString(),
      length: r.bytes.length,
      hex: hex(r.bytes),
    };
  });
}

async function waitForReplies(relay: UdpRelay, n: number, timeoutMs = 20_000): Promise<void> {
  const count = (): number => relay.records().filter((r) => r.direction === 'to-client').length;
  if (count() >= n) return;
  await relay.waitFor(() => count() >= n, timeoutMs);
}

/** Keeps whole exchanges only: the first `n` replies and the requests before them. */
function firstExchanges(relay: UdpRelay, n: number): RelayRecord[] {
  const out: RelayRecord[] = [];
  let replies = 0;
  for (const r of relay.records()) {
    if (replies >= n) break;
    out.push(r);
    if (r.direction === 'to-client') replies++;
  }
  return out;
}

function modeName(m: number): string {
  return ['reserved', 'symmetric active', 'symmetric passive', 'client', 'server', 'broadcast', 'control', 'private'][m] ?? '?';
}

function basicDescription(who: string, h: ProbeHeader, extra = ''): string {
  return `${who}: NTPv${h.version} mode ${h.mode} (${modeName(h.mode)})${extra}`;
}

function trailer(r: RelayRecord): string {
  const n = r.bytes.length - 48;
  return n === 0 ? '' : `, ${n} bytes after the header`;
}

async function server(ctx: Ctx, opts: Parameters<typeof startChronydServer>[0]): Promise<Awaited<ReturnType<typeof startChronydServer>>> {
  const s = await startChronydServer(opts);
  ctx.defer(() => s.stop());
  return s;
}

async function relayTo(ctx: Ctx, listen: string, listenPort: number, target: { address: string; port: number }): Promise<UdpRelay> {
  const r = await startUdpRelay({ listen: { address: listen, port: listenPort }, target });
  ctx.defer(() => r.stop());
  return r;
}

async function client(ctx: Ctx, opts: Parameters<typeof startChronydClient>[0]): Promise<ChronydProcess> {
  const c = await startChronydClient(opts);
  ctx.defer(() => c.stop());
  return c;
}

/** chronyd client through a relay to a chronyd server: the common shape of most scenarios. */
async function chronydPair(
  ctx: Ctx,
  name: string,
  serverOptions: string,
  replies: number,
  extra: { serverConfig?: string[]; clientConfig?: string[]; files?: Record<string, string> } = {},
): Promise<{ relay: UdpRelay; records: RelayRecord[]; setup: Record<string, string> }> {
  const [a, b] = ctx.addresses as [string, string];
  const s = await server(ctx, { address: a, extraConfig: extra.serverConfig, files: extra.files });
  const relay = await relayTo(ctx, b, 0, { address: a, port: s.port });
  const c = await client(ctx, {
    servers: [{ address: relay.address, port: relay.port, options: serverOptions }],
    extraConfig: extra.clientConfig,
    files: extra.files,
  });
  try {
    await waitForReplies(relay, replies);
  } catch (e) {
    throw new Error(`${name}: ${(e as Error).message}\nclient logs:\n${c.logs()}\nserver logs:\n${s.logs()}`);
  }
  return {
    relay,
    records: firstExchanges(relay, replies),
    setup: {
      server: `chronyd -x -d -4 -u root -f {dir}/chrony.conf\n${shownConfig(s)}`,
      client: `chronyd -x -d -4 -u root -f {dir}/chrony.conf\n${shownConfig(c)}`,
      relay: `UDP relay ${relay.address}:{port} -> ${a}:${s.port}`,
    },
  };
}

function chronydDescribe(versions: Versions, clientLabel: string, note?: (r: RelayRecord, h: ProbeHeader) => string) {
  return (r: RelayRecord, h: ProbeHeader): { description: string; producer: string } => ({
    producer: versions.chronyd,
    description: basicDescription(r.direction === 'to-server' ? clientLabel : 'chronyd server reply', h, trailer(r) + (note?.(r, h) ?? '')),
  });
}

function fixture(ctx: Ctx, name: string, description: string, setup: Record<string, string>, packets: GoldenPacket[]): GoldenFixture {
  return { scenario: name, description, capturedAt: new Date().toISOString(), command: ctx.command, setup, packets };
}

function macScenario(keyId: number, alg: string, digestLength: number): Scenario {
  const name = `chronyd-mac-${alg.toLowerCase()}`;
  const description = `chronyd client with \`key ${keyId}\` (${alg}) against a chronyd server with the same keyfile: every packet ends in a MAC of 4 + ${digestLength} bytes (RFC 5905 §7.3)`;
  return {
    name,
    description,
    needs: ['chronyd'],
    addresses: 2,
    async run(ctx) {
      const files = { keys: GOLDEN_KEYS.chrony };
      const { records, setup } = await chronydPair(ctx, name, `iburst minpoll 0 maxpoll 0 key ${keyId}`, 2, {
        serverConfig: ['keyfile {dir}/keys'],
        clientConfig: ['keyfile {dir}/keys'],
        files,
      });
      for (const r of records) {
        if (r.bytes.length !== 48 + 4 + digestLength) fail(name, `packet of ${r.bytes.length} bytes, expected ${48 + 4 + digestLength}`);
        if (new DataView(r.bytes.buffer, r.bytes.byteOffset).getUint32(48) !== keyId) fail(name, 'MAC key id');
      }
      const packets = toPackets(records, chronydDescribe(ctx.versions, 'chronyd client request', () => `: MAC key ${keyId}, ${alg} digest of ${digestLength} bytes`));
      return fixture(ctx, name, description, { ...setup, keyfile: GOLDEN_KEYS.chrony }, packets);
    },
  };
}

/** ntpdig asks, chronyd answers. */
function ntpdigDescribe(ctx: Ctx): (r: RelayRecord, h: ProbeHeader) => { description: string; producer: string } {
  return (r, h) =>
    r.direction === 'to-server'
      ? { producer: ctx.versions.ntpdig, description: basicDescription('ntpdig request', h, trailer(r)) }
      : { producer: ctx.versions.chronyd, description: basicDescription('chronyd server reply', h, trailer(r)) };
}

const SCENARIOS: readonly Scenario[] = [
  {
    name: 'ntpdig-chronyd',
    description: 'ntpdig (one run, 2 samples) against chronyd `local stratum 1`: NTPv4 mode 3 requests and mode 4 replies',
    needs: ['chronyd', 'ntpdig'],
    addresses: 2,
    async run(ctx) {
      const [a, b] = ctx.addresses as [string, string];
      const s = await server(ctx, { address: a });
      const relay = await relayTo(ctx, b, 123, { address: a, port: 123 });
      const r = await runNtpdig({ server: b, samples: 2, gapMs: 100 });
      if (!r.ok) fail('ntpdig-chronyd', `ntpdig failed: ${r.stderr}`);
      await waitForReplies(relay, 2);
      const packets = toPackets(firstExchanges(relay, 2), ntpdigDescribe(ctx));
      return fixture(ctx, 'ntpdig-chronyd', this.description, { server: shownConfig(s), client: r.command, relay: `UDP relay ${b}:123 -> ${a}:123` }, packets);
    },
  },
  {
    name: 'ntpdig-mac',
    description: 'ntpdig with -a 1 (SHA1), -a 2 (MD5) and -a 3 (AES-128 CMAC) against chronyd with the same keys: requests and replies with a trailing MAC',
    needs: ['chronyd', 'ntpdig'],
    addresses: 2,
    async run(ctx) {
      const [a, b] = ctx.addresses as [string, string];
      const s = await server(ctx, { address: a, files: { keys: GOLDEN_KEYS.chrony }, extraConfig: ['keyfile {dir}/keys'] });
      const relay = await relayTo(ctx, b, 123, { address: a, port: 123 });
      const keyfile = join(ctx.tmp, 'ntpsec.keys');
      writeFileSync(keyfile, GOLDEN_KEYS.ntpsec, { mode: 0o600 });
      const commands: string[] = [];
      for (const keyId of [1, 2, 3]) {
        const r = await runNtpdig({ server: b, keyId, keyfile });
        if (!r.ok || !/MAC verification on reply .* succeeded/.test(r.stderr)) fail('ntpdig-mac', `ntpdig -a ${keyId}: ${r.stderr}`);
        commands.push(r.command.replace(keyfile, '{dir}/ntpsec.keys'));
        await waitForReplies(relay, keyId);
      }
      const expected = [20, 20, 16, 16, 16, 16];
      const records = firstExchanges(relay, 3);
      records.forEach((r, i) => {
        if (r.bytes.length !== 48 + 4 + (expected[i] as number)) fail('ntpdig-mac', `packet ${i} has ${r.bytes.length} bytes`);
      });
      const alg = ['SHA1', 'MD5', 'AES-128-CMAC'];
      const packets = toPackets(records, (r, h) => {
        const keyId = new DataView(r.bytes.buffer, r.bytes.byteOffset).getUint32(48);
        const base = ntpdigDescribe(ctx)(r, h);
        return { ...base, description: `${base.description}: MAC key ${keyId} (${alg[keyId - 1] ?? '?'}), digest ${r.bytes.length - 52} bytes` };
      });
      return fixture(ctx, 'ntpdig-mac', this.description, { server: shownConfig(s), client: commands.join('\n'), keyfile: GOLDEN_KEYS.chrony, ntpsecKeys: GOLDEN_KEYS.ntpsec }, packets);
    },
  },
  {
    name: 'chronyd-client',
    description: 'chronyd as a client (`server ... iburst minpoll 0 maxpoll 0`) against chronyd `local stratum 1`: basic client/server mode',
    needs: ['chronyd'],
    addresses: 2,
    async run(ctx) {
      const { records, setup } = await chronydPair(ctx, 'chronyd-client', 'iburst minpoll 0 maxpoll 0', 4);
      const packets = toPackets(records, chronydDescribe(ctx.versions, 'chronyd client request'));
      return fixture(ctx, 'chronyd-client', this.description, setup, packets);
    },
  },
  {
    name: 'chronyd-client-v3',
    description: 'chronyd client with `version 3` against chronyd: NTPv3 requests; the server answers in the version it was asked in',
    needs: ['chronyd'],
    addresses: 2,
    async run(ctx) {
      const { records, setup } = await chronydPair(ctx, 'chronyd-client-v3', 'iburst minpoll 0 maxpoll 0 version 3', 2);
      for (const r of records) if (((r.bytes[0] as number) >> 3 & 7) !== 3) fail('chronyd-client-v3', 'a packet that is not NTPv3');
      const packets = toPackets(records, chronydDescribe(ctx.versions, 'chronyd client request'));
      return fixture(ctx, 'chronyd-client-v3', this.description, setup, packets);
    },
  },
  {
    name: 'chronyd-xleave',
    description:
      'chronyd client with `xleave` against chronyd: interleaved client/server mode. The first exchanges are basic; later replies have origin = the request\'s receive timestamp and carry the transmit timestamp of the previous reply',
    needs: ['chronyd'],
    addresses: 2,
    async run(ctx) {
      const { records, setup } = await chronydPair(ctx, 'chronyd-xleave', 'iburst minpoll 0 maxpoll 0 xleave', 6);
      const reqs = new Map<string, ProbeHeader>();
      let interleaved = 0;
      const packets = toPackets(records, (r, h) => {
        const key = `${r.client.port}`;
        if (r.direction === 'to-server') {
          reqs.set(key, h);
          const xl = h.originTimestamp !== 0n ? ': interleaved request (origin = receive timestamp of the previous reply)' : ': basic request';
          return { producer: ctx.versions.chronyd, description: basicDescription('chronyd client request', h, xl) };
        }
        const q = reqs.get(key);
        const isXl = q !== undefined && h.originTimestamp === q.receiveTimestamp && h.originTimestamp !== q.transmitTimestamp;
        if (isXl) interleaved++;
        const note = isXl
          ? ': interleaved reply (origin = request receive field; transmit = previous reply\'s transmit time)'
          : ': basic reply (origin = request transmit)';
        return { producer: ctx.versions.chronyd, description: basicDescription('chronyd server reply', h, note) };
      });
      if (interleaved < 2) fail('chronyd-xleave', `only ${interleaved} interleaved replies`);
      return fixture(ctx, 'chronyd-xleave', this.description, setup, packets);
    },
  },
  macScenario(1, 'SHA1', 20),
  macScenario(2, 'MD5', 16),
  macScenario(3, 'AES128', 16),
  {
    name: 'chronyd-extfield',
    description: 'chronyd client with `extfield F323` against chronyd: requests and replies carry chrony\'s experimental NTPv5-draft extension field 0xF323 (28 bytes, RFC 7822 format)',
    needs: ['chronyd'],
    addresses: 2,
    async run(ctx) {
      const { records, setup } = await chronydPair(ctx, 'chronyd-extfield', 'iburst minpoll 0 maxpoll 0 extfield F323', 2);
      for (const r of records) {
        const v = new DataView(r.bytes.buffer, r.bytes.byteOffset);
        if (r.bytes.length < 52 || v.getUint16(48) !== 0xf323) fail('chronyd-extfield', 'a packet without the F323 field');
      }
      const packets = toPackets(records, chronydDescribe(ctx.versions, 'chronyd client request', () => ': extension field 0xF323'));
      return fixture(ctx, 'chronyd-extfield', this.description, setup, packets);
    },
  },
  {
    name: 'chronyd-extfield-mac',
    description: 'chronyd client with `extfield F323 key 1` (SHA1): extension field 0xF323 followed by a 24-byte MAC (RFC 7822 §7.5)',
    needs: ['chronyd'],
    addresses: 2,
    async run(ctx) {
      const files = { keys: GOLDEN_KEYS.chrony };
      const { records, setup } = await chronydPair(ctx, 'chronyd-extfield-mac', 'iburst minpoll 0 maxpoll 0 extfield F323 key 1', 2, {
        serverConfig: ['keyfile {dir}/keys'],
        clientConfig: ['keyfile {dir}/keys'],
        files,
      });
      for (const r of records) {
        const v = new DataView(r.bytes.buffer, r.bytes.byteOffset);
        if (v.getUint16(48) !== 0xf323 || r.bytes.length !== 48 + v.getUint16(50) + 24) fail('chronyd-extfield-mac', `a ${r.bytes.length}-byte packet`);
      }
      const packets = toPackets(records, chronydDescribe(ctx.versions, 'chronyd client request', () => ': extension field 0xF323, then MAC key 1 (SHA1, 20-byte digest)'));
      return fixture(ctx, 'chronyd-extfield-mac', this.description, { ...setup, keyfile: GOLDEN_KEYS.chrony }, packets);
    },
  },
  {
    name: 'chronyd-nts',
    description:
      'chronyd NTS client against a chronyd NTS server (self-signed certificate made for the capture; NTS-KE over TCP straight to the server, NTP through the relay via `ntsntpserver`): NTS-protected requests (Unique Identifier 0x0104, Cookie 0x0204, Authenticator 0x0404) and replies (Unique Identifier, Authenticator with encrypted cookies), RFC 8915',
    needs: ['chronyd', 'openssl'],
    addresses: 2,
    async run(ctx) {
      const [a, b] = ctx.addresses as [string, string];
      const files = makeCert(ctx, a);
      const s = await server(ctx, {
        address: a,
        files,
        extraConfig: ['ntsservercert {dir}/cert.pem', 'ntsserverkey {dir}/key.pem', 'ntsprocesses 0', `ntsntpserver ${b}`],
      });
      const relay = await relayTo(ctx, b, 123, { address: a, port: 123 });
      const c = await client(ctx, {
        servers: [{ address: a, options: 'nts iburst minpoll 0 maxpoll 0' }],
        extraConfig: ['ntstrustedcerts {dir}/cert.pem'],
        files: { 'cert.pem': files['cert.pem'] },
      });
      try {
        await waitForReplies(relay, 2);
      } catch (e) {
        throw new Error(`chronyd-nts: ${(e as Error).message}\nclient logs:\n${c.logs()}\nserver logs:\n${s.logs()}`);
      }
      const records = firstExchanges(relay, 2);
      for (const r of records) {
        const types = efTypes(r.bytes);
        const want = r.direction === 'to-server' ? [0x0104, 0x0204, 0x0404] : [0x0104, 0x0404];
        if (!want.every((t) => types.includes(t))) fail('chronyd-nts', `extension fields ${types.map((t) => t.toString(16)).join(',')}`);
      }
      const packets = toPackets(records, chronydDescribe(ctx.versions, 'chronyd NTS client request', (r) => `: extension fields ${efTypes(r.bytes).map((t) => `0x${t.toString(16).padStart(4, '0')}`).join(', ')}`));
      return fixture(ctx, 'chronyd-nts', this.description, {
        server: shownConfig(s),
        client: shownConfig(c),
        relay: `UDP relay ${b}:123 -> ${a}:123 (the client learns ${b} from the NTS-KE NTPv4 Server Negotiation record)`,
        certificate: `openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 -subj /CN=${a} -addext subjectAltName=IP:${a}`,
      }, packets);
    },
  },
  {
    name: 'chronyd-nts-nak',
    description:
      'A hand-built NTS request with a cookie the server cannot decrypt, sent to a chronyd NTS server: chronyd answers with the NTS NAK kiss-o\'-death (stratum 0, refid "NTSN", RFC 8915 §5.7) echoing the Unique Identifier field. Only the reply is chronyd\'s; the request is the capture script\'s own',
    needs: ['chronyd', 'openssl'],
    addresses: 2,
    async run(ctx) {
      const [a, b] = ctx.addresses as [string, string];
      const s = await server(ctx, {
        address: a,
        files: makeCert(ctx, a),
        extraConfig: ['ntsservercert {dir}/cert.pem', 'ntsserverkey {dir}/key.pem', 'ntsprocesses 0'],
      });
      const relay = await relayTo(ctx, b, 123, { address: a, port: 123 });
      const req = handBuiltNtsRequest();
      await sendFrom(b, req, relay.address, relay.port);
      await waitForReplies(relay, 1, 5000);
      const records = firstExchanges(relay, 1);
      const reply = decodeProbeHeader((records[1] as RelayRecord).bytes) as ProbeHeader;
      if (reply.stratum !== 0 || reply.referenceIdText !== 'NTSN') fail('chronyd-nts-nak', `reply stratum ${reply.stratum} refid ${reply.referenceIdText}`);
      const packets = toPackets(records, (r, h) =>
        r.direction === 'to-server'
          ? { producer: 'ntpkit capture-golden (hand-built)', description: basicDescription('hand-built NTS request with an undecryptable cookie', h, ': extension fields 0x0104 (32-byte unique id), 0x0204 (100-byte random cookie), 0x0404 (16-byte nonce, 16-byte ciphertext)') }
          : { producer: ctx.versions.chronyd, description: basicDescription('chronyd NTS NAK kiss-o\'-death', h, `: leap ${h.leap}, stratum 0, kiss code NTSN, extension field 0x0104 echoing the request's unique identifier`) },
      );
      return fixture(ctx, 'chronyd-nts-nak', this.description, { server: shownConfig(s), client: 'capture-golden.ts handBuiltNtsRequest()' }, packets);
    },
  },
  {
    name: 'chronyd-faketime',
    description: `ntpdig against chronyd run under libfaketime (FAKETIME=+${FAKE_OFFSET}): the reply's receive and transmit timestamps are ${FAKE_OFFSET} s ahead of ntpdig's (real-time) transmit timestamp`,
    needs: ['chronyd', 'ntpdig', 'libfaketime'],
    addresses: 2,
    async run(ctx) {
      const [a, b] = ctx.addresses as [string, string];
      const s = await server(ctx, { address: a, fakeOffsetSeconds: FAKE_OFFSET });
      const relay = await relayTo(ctx, b, 123, { address: a, port: 123 });
      const r = await runNtpdig({ server: b });
      if (!r.ok || Math.abs((r.offset as number) - FAKE_OFFSET) > 0.05) fail('chronyd-faketime', `ntpdig offset ${r.offset}: ${r.stderr}`);
      await waitForReplies(relay, 1);
      const packets = toPackets(firstExchanges(relay, 1), (rec, h) => {
        const base = ntpdigDescribe(ctx)(rec, h);
        return rec.direction === 'to-server' ? base : { ...base, description: `${base.description}: served time shifted by +${FAKE_OFFSET} s` };
      });
      return fixture(ctx, 'chronyd-faketime', this.description, {
        server: `LD_PRELOAD=libfaketime.so.1 FAKETIME=+${FAKE_OFFSET} FAKETIME_DONT_FAKE_MONOTONIC=1 chronyd -x -d ...\n${shownConfig(s)}`,
        client: r.command,
        measured: `ntpdig offset ${r.offset} s`,
      }, packets);
    },
  },
  {
    name: 'chronyd-peer',
    description: 'chronyd with `peer` (symmetric active, mode 1) against a chronyd server, which answers in symmetric passive mode (mode 2). Once synchronized, the active side sends stratum 2 with its source\'s IPv4 address as refid',
    needs: ['chronyd'],
    addresses: 3,
    async run(ctx) {
      const [a, b, c] = ctx.addresses as [string, string, string];
      const s = await server(ctx, { address: a });
      const relay = await relayTo(ctx, b, 0, { address: a, port: 123 });
      // A peer sends from its server socket, so this chronyd needs a port of its own.
      const peerPort = await freeUdpPort(c);
      const p = await client(ctx, {
        servers: [{ directive: 'peer', address: relay.address, port: relay.port, options: 'minpoll 0 maxpoll 0' }],
        extraConfig: [`bindaddress ${c}`, `port ${peerPort}`],
      });
      // Up to and including the reply to the first packet the peer sent once synchronized (stratum 2).
      const end = (): number => {
        const all = relay.records();
        const firstSynced = all.findIndex((r) => r.direction === 'to-server' && decodeProbeHeader(r.bytes)?.stratum === 2);
        return firstSynced < 0 ? -1 : all.findIndex((r, i) => i > firstSynced && r.direction === 'to-client');
      };
      try {
        await relay.waitFor(() => end() >= 0, 20_000);
      } catch (e) {
        throw new Error(`chronyd-peer: ${(e as Error).message}\npeer logs:\n${p.logs()}`);
      }
      const records = relay.records().slice(0, end() + 1);
      const packets = toPackets(records, (r, h) => ({
        producer: ctx.versions.chronyd,
        description: basicDescription(r.direction === 'to-server' ? 'chronyd peer' : 'chronyd server', h, `: stratum ${h.stratum}, refid ${h.referenceIdText || "0"}`),
      }));
      return fixture(ctx, 'chronyd-peer', this.description, { server: shownConfig(s), peer: shownConfig(p), relay: `UDP relay ${b}:{port} -> ${a}:123` }, packets);
    },
  },
  {
    name: 'chronyd-broadcast',
    description: 'chronyd `broadcast 1 <addr> <port>` with `local stratum 1`: broadcast-mode packets (mode 5), origin and receive timestamps zero',
    needs: ['chronyd'],
    addresses: 2,
    async run(ctx) {
      const [a, b] = ctx.addresses as [string, string];
      const port = await freeUdpPort(b);
      const got: { bytes: Uint8Array; at: Date }[] = [];
      const sock = dgram.createSocket('udp4');
      sock.on('message', (m) => got.push({ bytes: new Uint8Array(m), at: new Date() }));
      await new Promise<void>((r) => sock.bind(port, b, r));
      ctx.defer(() => new Promise<void>((r) => sock.close(() => r())));
      const s = await server(ctx, { address: a, extraConfig: [`broadcast 1 ${b} ${port}`] });
      const deadline = Date.now() + 10_000;
      while (got.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      if (got.length < 2) fail('chronyd-broadcast', `${got.length} broadcast packets in 10 s`);
      const packets: GoldenPacket[] = got.slice(0, 2).map((g, i) => {
        const h = decodeProbeHeader(g.bytes) as ProbeHeader;
        if (h.mode !== 5) fail('chronyd-broadcast', `mode ${h.mode}`);
        return {
          index: i,
          exchange: i,
          description: basicDescription('chronyd broadcast', h),
          producer: ctx.versions.chronyd,
          direction: 'broadcast',
          capturedAt: g.at.toISOString(),
          length: g.bytes.length,
          hex: hex(g.bytes),
        };
      });
      return fixture(ctx, 'chronyd-broadcast', this.description, { server: shownConfig(s), receiver: `UDP socket on ${b}:{port}` }, packets);
    },
  },
];

/**
 * Not a fixture: checks whether chronyd 4.3 sends a RATE kiss-o'-death when
 * rate limiting (it has no `kod` option for `ratelimit`; later chrony
 * versions added one). Reports what happened.
 */
async function probeRateLimitKod(ctx: Ctx): Promise<string> {
  const [a, b] = ctx.addresses as [string, string];
  await server(ctx, { address: a, extraConfig: ['ratelimit interval 4 burst 1 leak 1'] });
  const relay = await relayTo(ctx, b, 123, { address: a, port: 123 });
  const sock = dgram.createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
  ctx.defer(() => new Promise<void>((r) => sock.close(() => r())));
  for (let i = 0; i < 20; i++) {
    const req = new Uint8Array(48);
    req[0] = 0x23;
    req.set(randomBytes(8), 40);
    sock.send(req, relay.port, relay.address);
    await new Promise((r) => setTimeout(r, 20));
  }
  await new Promise((r) => setTimeout(r, 500));
  const replies = relay.records().filter((r) => r.direction === 'to-client');
  const kods = replies.filter((r) => decodeProbeHeader(r.bytes)?.stratum === 0);
  return `ratelimit interval 4 burst 1 leak 1: 20 requests, ${replies.length} replies, ${kods.length} kiss-o'-death (${kods.map((k) => decodeProbeHeader(k.bytes)?.referenceIdText).join(',') || 'none'})`;
}

function efTypes(b: Uint8Array): number[] {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const out: number[] = [];
  for (let o = 48; o + 4 <= b.length; ) {
    const len = v.getUint16(o + 2);
    if (len < 16 || o + len > b.length) break;
    out.push(v.getUint16(o));
    o += len;
  }
  return out;
}

function ef(type: number, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + body.length);
  const v = new DataView(out.buffer);
  v.setUint16(0, type);
  v.setUint16(2, out.length);
  out.set(body, 4);
  return out;
}

/** An NTS request (RFC 8915 §5.7) with a random, hence undecryptable, cookie. */
function handBuiltNtsRequest(): Uint8Array {
  const header = new Uint8Array(48);
  header[0] = 0x23; // LI 0, VN 4, mode 3
  header.set(randomBytes(8), 40);
  const auth = new Uint8Array(4 + 16 + 16);
  new DataView(auth.buffer).setUint16(0, 16); // nonce length
  new DataView(auth.buffer).setUint16(2, 16); // ciphertext length
  auth.set(randomBytes(32), 4);
  const parts = [header, ef(0x0104, randomBytes(32)), ef(0x0204, randomBytes(100)), ef(0x0404, auth)];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

async function sendFrom(source: string, bytes: Uint8Array, address: string, port: number): Promise<void> {
  const sock = dgram.createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, source, r));
  await new Promise<void>((resolve, reject) => sock.send(bytes, port, address, (e) => (e ? reject(e) : resolve())));
  // Keep the socket open briefly so the reply is not met by an ICMP unreachable (cosmetic only).
  setTimeout(() => sock.close(), 2000).unref();
}

/** A throwaway self-signed certificate for `address` (IP SAN, so chronyd's client accepts it by address). */
function makeCert(ctx: Ctx, address: string): { 'cert.pem': string; 'key.pem': string } {
  const dir = mkdtempSync(join(ctx.tmp, 'cert-'));
  execFileSync(toolPath('openssl'), [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1',
    '-subj', `/CN=${address}`, '-addext', `subjectAltName=IP:${address}`,
  ], { stdio: 'ignore' });
  return { 'cert.pem': readFileSync(join(dir, 'cert.pem'), 'utf8'), 'key.pem': readFileSync(join(dir, 'key.pem'), 'utf8') };
}

function versions(): Versions {
  const c = execFileSync(toolPath('chronyd'), ['-v'], { encoding: 'utf8' });
  const chronyd = /version (\S+)/.exec(c)?.[1] ?? 'unknown';
  let ntpdig = 'unknown';
  try {
    const n = execFileSync(toolPath('ntpdig'), ['-V'], { encoding: 'utf8' });
    ntpdig = /ntpsec-(\S+)/.exec(n)?.[1] ?? 'unknown';
  } catch {
    // ntpdig missing: its scenarios will be skipped
  }
  return { chronyd: `chronyd ${chronyd}`, ntpdig: `ntpdig (ntpsec ${ntpdig})` };
}

async function runScenario(sc: Scenario, block: LoopbackBlock, base: Omit<Ctx, 'defer' | 'addresses' | 'tmp'>, fn: (ctx: Ctx) => Promise<unknown>): Promise<unknown> {
  const cleanups: (() => Promise<void> | void)[] = [];
  const tmp = mkdtempSync(join(tmpdir(), 'ntpkit-capture-'));
  const ctx: Ctx = { ...base, addresses: block.addresses.slice(0, sc.addresses), defer: (f) => cleanups.push(f), tmp };
  try {
    return await fn(ctx);
  } finally {
    for (const f of cleanups.reverse()) {
      try {
        await f();
      } catch (e) {
        process.stderr.write(`cleanup in ${sc.name} failed: ${(e as Error).message}\n`);
      }
    }
    rmSync(tmp, { recursive: true, force: true });
  }
}

async function main(argv: readonly string[]): Promise<number> {
  const arg = (name: string): string | undefined => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  if (argv.includes('--list')) {
    for (const s of SCENARIOS) process.stdout.write(`${s.name}\t${s.description}\n`);
    return 0;
  }
  const only = arg('--only')?.split(',');
  const outDir = arg('--out') ?? fileURLToPath(new URL('../../src/proto/fixtures/', import.meta.url));
  const unknown = only?.filter((n) => !SCENARIOS.some((s) => s.name === n)) ?? [];
  if (unknown.length) {
    process.stderr.write(`unknown scenario(s): ${unknown.join(', ')} (see --list)\n`);
    return 2;
  }
  mkdirSync(outDir, { recursive: true });
  const base = {
    versions: versions(),
    command: `node dist-harness/testing/capture-golden.js --only <scenario>   (build first: npx tsc -p tsconfig.json --outDir dist-harness)`,
  };
  const block = await reserveLoopbackBlock('capture-golden', 3);
  let failures = 0;
  try {
    for (const sc of SCENARIOS) {
      if (only && !only.includes(sc.name)) continue;
      const missing = missingTools(...sc.needs);
      if (missing.length) {
        process.stderr.write(`SKIP ${sc.name}: missing ${missing.join(', ')}\n`);
        continue;
      }
      try {
        const fx = (await runScenario(sc, block, { ...base, command: base.command.replace('<scenario>', sc.name) }, (ctx) => sc.run(ctx))) as GoldenFixture;
        const file = join(outDir, `${sc.name}.json`);
        writeFileSync(file, `${JSON.stringify(fx, null, 2)}\n`);
        process.stdout.write(`wrote ${relative(process.cwd(), file)} (${fx.packets.length} packets)\n`);
      } catch (e) {
        failures++;
        process.stderr.write(`FAIL ${sc.name}: ${(e as Error).message}\n`);
      }
    }
    if (!only) {
      const note = (await runScenario({ ...(SCENARIOS[0] as Scenario), name: 'ratelimit-kod', addresses: 2 }, block, base, probeRateLimitKod)) as string;
      process.stdout.write(`note: ${note}\n`);
    }
  } finally {
    block.release();
  }
  return failures ? 1 : 0;
}

runIfMain(import.meta.url, main);
