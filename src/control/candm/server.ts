/**
 * chronyd's command endpoints served by the daemon, so that the real
 * chronyc works against it: the Unix datagram socket (every command; the
 * reply goes to the path the client bound) and the UDP port (127.0.0.1 and
 * ::1 by default; other addresses only as cmdallow permits, and only the
 * monitoring requests chronyd opens to the network). Each datagram goes
 * through the codec's checks, and a reply is sent only when it is no
 * larger than its request.
 */
import { createSocket, type Socket } from 'node:dgram';
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

/**
 * Opens the endpoints. One that cannot be opened (no permission, the port
 * taken by a chronyd) is logged and left out, as chronyd goes on without
 * it; the daemon keeps synchronizing either way.
 */
export async function startCandmServer(o: CandmServerOptions): Promise<CandmServer> {
  const access = 'mayUse' in o.access ? o.access : cmdAccess(o.access);
  const mayUse = (address: string): boolean => access.mayUse(address);
  const counts = o.counts;
  const ctx: CandmContext = { ...o.context, cmdAllowed: (address) => access.allowed(address), ...(counts ? { commandCounts: () => ({ received: counts.received, dropped: counts.dropped }) } : {}) };
  const listening: string[] = [];

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

  let unix: UnixDgramHandle | null = null;
  const path = o.endpoints.socketPath;
  if (path !== null) {
    const problem = socketDirProblem(dirname(path));
    if (problem !== null) o.log(`Could not open chronyc's command socket ${path}: ${problem}`);
    else {
      try {
        const u: UnixDgramHandle = openUnixDgram(path, (data, from) => {
          // An unbound client cannot be answered (chronyc always binds).
          if (from === '') return;
          void handle(data, true, (r) => { u.send(r, from); });
        });
        unix = u;
        listening.push(path);
      } catch (e) {
        o.log(`Could not open chronyc's command socket ${path}: ${(e as Error).message}`);
      }
    }
  }

  const udp: Socket[] = [];
  for (const address of o.endpoints.udpAddresses) {
    const s = createSocket({ type: address.includes(':') ? 'udp6' : 'udp4', ipv6Only: address.includes(':') });
    try {
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject);
        s.bind(o.endpoints.port, address, () => { s.off('error', reject); resolve(); });
      });
    } catch (e) {
      s.close();
      o.log(`Could not open the command port ${address.includes(':') ? `[${address}]` : address}:${o.endpoints.port}: ${(e as Error).message}`);
      continue;
    }
    s.on('error', () => {});
    s.on('message', (data, rinfo) => {
      // As chronyd: a host neither local nor allowed gets no answer at all.
      if (!mayUse(rinfo.address.replace(/^::ffff:/, ''))) return;
      void handle(data, false, (r) => { s.send(r, rinfo.port, rinfo.address); });
    });
    udp.push(s);
    const p = s.address();
    listening.push(p.family === 'IPv6' ? `[${p.address}]:${p.port}` : `${p.address}:${p.port}`);
  }

  return {
    listening,
    async close() {
      if (unix !== null) {
        unix.close();
        try { unlinkSync(path as string); } catch { /* already gone */ }
      }
      await Promise.all(udp.map((s) => new Promise<void>((r) => { s.close(() => r()); })));
    },
  };
}
