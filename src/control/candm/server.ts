/**
 * chronyd's command endpoints served by the daemon, so that the real
 * chronyc works against it: the Unix datagram socket (every command; the
 * reply goes to the path the client bound) and the UDP port (127.0.0.1 and
 * ::1 by default; other addresses only as cmdallow permits, and only the
 * monitoring requests chronyd opens to the network). Each datagram goes
 * through the codec's checks, and a reply is sent only when it is no
 * larger than its request.
 */
import { createSocket } from 'node:dgram';
import { mkdirSync, statSync, unlinkSync } from 'node:fs';
import { dirname } from 'node:path';
import type { CommandEndpoints } from '../../config/command-endpoints.js';
import type { CommandCounts } from '../../core/server/server-stats.js';
import type { AccessRule } from '../../core/server/access.js';
import { cmdAccess, type CmdAccess } from '../../core/server/cmd-access.js';
import { encodeReply, OPEN_REQUESTS, parseRequest, STT } from '../../proto/candm/index.js';
import { openUnixDgram, type UnixDgramHandle } from '../../net/unix-dgram.js';
import { answerRequest, type CandmContext } from './replies.js';

export interface CandmServerOptions {
  readonly endpoints: CommandEndpoints;
  /**
   * cmdallow/cmddeny rules, in order (chronyd's default: none, so only
   * localhost), or the daemon's live verdicts, which cmdallow/cmddeny change at run time.
   */
  readonly access: readonly AccessRule[] | CmdAccess;
  readonly context: Omit<CandmContext, 'cmdAllowed'>;
  readonly counts?: CommandCounts;
  readonly log: (line: string) => void;
}

export interface CandmServer {
  /** What is open: the socket path and UDP addresses with their ports. */
  readonly listening: readonly string[];
  /** cmdallow/cmddeny's verdict for an address, as the endpoints apply it now. */
  cmdAllowed(address: string): boolean;
  /**
   * Moves to other endpoints and rules (a reload): the endpoints kept stay
   * open as they are, the new ones are opened first, and only when all of
   * them open are the dropped ones closed. When one cannot be opened, the
   * ones just opened are closed again, everything stays as it was, and this
   * rejects naming the endpoint and why.
   */
  reconfigure(endpoints: CommandEndpoints, access: readonly AccessRule[]): Promise<void>;
  close(): Promise<void>;
}

/** The directory rule of chronyd's CNF_CreateDirs: created 0770, and refused when others can reach it. */
function socketDirProblem(dir: string): string | null {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o770 });
    const mode = statSync(dir).mode & 0o777;
    if ((mode & 0o007) !== 0) return `${dir} is open to other users (mode ${mode.toString(8)}); chronyd disables its command socket there too`;
    return null;
  } catch (e) {
    return `cannot create ${dir}: ${(e as Error).message}`;
  }
}

/** One open endpoint: what it is called in logs and `listening`, and how to close it. */
interface Open {
  readonly key: string;
  readonly label: string;
  close(): Promise<void>;
}

function udpLabel(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

/** The endpoints a configuration names, each by a key that says whether a reload keeps it. */
function wanted(e: CommandEndpoints): { key: string; path?: string; address?: string; port: number }[] {
  return [
    ...(e.socketPath !== null ? [{ key: `unix:${e.socketPath}`, path: e.socketPath, port: 0 }] : []),
    ...e.udpAddresses.map((address) => ({ key: `udp:${udpLabel(address, e.port)}`, address, port: e.port })),
  ];
}

/**
 * Opens the endpoints. One that cannot be opened (no permission, the port
 * taken by a chronyd) is logged and left out, as chronyd goes on without
 * it; the daemon keeps synchronizing either way.
 */
export async function startCandmServer(o: CandmServerOptions): Promise<CandmServer> {
  // A live verdict (the daemon's, which chronyc cmdallow/cmddeny and reloads change) is kept as given; plain rules are ours to replace at a reload.
  const live = 'mayUse' in o.access;
  let access: CmdAccess = 'mayUse' in o.access ? o.access : cmdAccess(o.access);
  const counts = o.counts;
  const ctx: CandmContext = {
    ...o.context, cmdAllowed: (a) => access.allowed(a), ...(counts ? { commandCounts: () => ({ received: counts.received, dropped: counts.dropped }) } : {}),
  };

  async function handle(data: Uint8Array, fromUnix: boolean, send: (reply: Uint8Array) => void): Promise<void> {
    const v = parseRequest(data);
    if (v.kind === 'drop') return;
    if (o.counts) o.counts.received++;
    if (v.kind === 'status') {
      send(encodeReply(v.header, v.status));
      return;
    }
    const req = v.request;
    const header = { command: req.command, sequence: req.sequence };
    // chronyd 4.3: only the Unix socket may change anything (and read clients, serverstats, ntpdata...).
    const a = !fromUnix && !OPEN_REQUESTS.has(req.command) ? { status: STT.UNAUTH } : await answerRequest(req, ctx).catch(() => ({ status: STT.FAILED }));
    const reply = encodeReply(header, a.status, 'body' in a ? a.body : undefined);
    if (reply.length <= data.length) send(reply);
  }

  /** Opens one endpoint; throws with the reason when it cannot. */
  async function open(w: { key: string; path?: string; address?: string; port: number }): Promise<Open> {
    if (w.path !== undefined) {
      const path = w.path;
      const problem = socketDirProblem(dirname(path));
      if (problem !== null) throw new Error(`Could not open chronyc's command socket ${path}: ${problem}`);
      let u: UnixDgramHandle;
      try {
        u = openUnixDgram(path, (data, from) => {
          // An unbound client cannot be answered (chronyc always binds).
          if (from === '') return;
          void handle(data, true, (r) => { u.send(r, from); });
        });
      } catch (e) {
        throw new Error(`Could not open chronyc's command socket ${path}: ${(e as Error).message}`);
      }
      return {
        key: w.key, label: path,
        close: async () => {
          u.close();
          try { unlinkSync(path); } catch { /* already gone */ }
        },
      };
    }
    const address = w.address as string;
    const s = createSocket({ type: address.includes(':') ? 'udp6' : 'udp4', ipv6Only: address.includes(':') });
    try {
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject);
        s.bind(w.port, address, () => { s.off('error', reject); resolve(); });
      });
    } catch (e) {
      s.close();
      throw new Error(`Could not open the command port ${udpLabel(address, w.port)}: ${(e as Error).message}`);
    }
    s.on('error', () => {});
    s.on('message', (data, rinfo) => {
      // As chronyd: a host neither local nor allowed gets no answer at all.
      if (!access.mayUse(rinfo.address.replace(/^::ffff:/, ''))) return;
      void handle(data, false, (r) => { s.send(r, rinfo.port, rinfo.address); });
    });
    const p = s.address();
    return { key: w.key, label: udpLabel(p.address, p.port), close: () => new Promise<void>((r) => { s.close(() => r()); }) };
  }

  let opened: Open[] = [];
  for (const w of wanted(o.endpoints)) {
    try {
      opened.push(await open(w));
    } catch (e) {
      o.log((e as Error).message);
    }
  }

  return {
    get listening() { return opened.map((x) => x.label); },
    cmdAllowed: (a) => access.allowed(a),
    async reconfigure(endpoints, rules) {
      const next = wanted(endpoints);
      const fresh: Open[] = [];
      for (const w of next) {
        if (opened.some((x) => x.key === w.key)) continue;
        try {
          fresh.push(await open(w));
        } catch (e) {
          await Promise.all(fresh.map((x) => x.close()));
          throw e;
        }
      }
      const keys = new Set(next.map((w) => w.key));
      const dropped = opened.filter((x) => !keys.has(x.key));
      opened = [...opened.filter((x) => keys.has(x.key)), ...fresh];
      if (!live) access = cmdAccess(rules);
      await Promise.all(dropped.map((x) => x.close()));
    },
    async close() {
      await Promise.all(opened.map((x) => x.close()));
      opened = [];
    },
  };
}
