/**
 * The simulated servers and the network path to each, keyed by address and
 * port as the client's requests name them.
 */
import { Path } from './network.js';
import type { Random } from './random.js';
import type { TrueTime } from './sim-clock.js';
import { SimServer, type ServerCountersSim, type ServerSpec } from './sim-server.js';
import type { SimContext } from './scenario.js';

export class ServerFarm {
  private readonly servers = new Map<string, SimServer>();
  private readonly paths = new Map<SimServer, Path>();

  /** `leap`: the scenario's leap second, which every server applies unless its spec says not to. */
  constructor(specs: readonly ServerSpec[], time: TrueTime, rng: Random, leap: 'insert' | 'delete' | undefined) {
    for (const spec of specs) {
      const key = `${spec.address.toLowerCase()}|${spec.port ?? 123}`;
      if (this.servers.has(key)) throw new RangeError(`Cannot simulate two servers at ${spec.address} port ${spec.port ?? 123}`);
      const s = new SimServer(spec, time, rng.fork(`server:${key}`));
      if (leap && spec.leap !== false) s.clock.setStatus({ synchronized: true, leap, estError: 0, maxError: 0 });
      this.servers.set(key, s);
      this.paths.set(s, new Path(spec.path ?? {}, rng.fork(`path:${key}`)));
    }
  }

  all(): IterableIterator<SimServer> {
    return this.servers.values();
  }

  /** The server at `address:port` and the path to it, or null: no server has that address. */
  route(address: string, port: number): { readonly server: SimServer; readonly path: Path } | null {
    const server = this.servers.get(`${address.toLowerCase()}|${port}`);
    return server === undefined ? null : { server, path: this.paths.get(server) as Path };
  }

  /** For scenario hooks (SimContext.server). */
  byAddress: SimContext['server'] = (address) => {
    for (const s of this.servers.values()) if (s.address === address) return s;
    throw new RangeError(`Cannot find simulated server ${address}`);
  };

  /** Per server address: what its responder did, and when requests came. */
  tallies(): { counters: Record<string, ServerCountersSim>; requestTimes: Record<string, readonly number[]> } {
    const counters: Record<string, ServerCountersSim> = {};
    const requestTimes: Record<string, readonly number[]> = {};
    for (const s of this.servers.values()) {
      counters[s.address] = { ...s.counters };
      requestTimes[s.address] = s.requestTimes;
    }
    return { counters, requestTimes };
  }
}
