/**
 * A network path with chrony's comparison delays, as a process: it relays
 * NTP between a client and a server, holding each datagram `base` plus
 * `jitter` times an Exp(1) draw, in each direction. It runs on the host side
 * of a User-mode Linux tap (bench/uml-closedloop), where the kernel has no
 * netem, so the daemon in the guest sees the path the simulator models.
 *
 *   node dist/testing/path-relay.js LISTEN_ADDR:PORT TARGET_ADDR:PORT BASE_US JITTER_US
 *
 * It prints `relaying` once listening and runs until SIGTERM.
 */
import { fileURLToPath } from 'node:url';
import { startUdpRelay } from './udp-relay.js';

/** One way's delay, ms: base + jitter * Exp(1), from a uniform draw in (0, 1]. */
export function pathDelayMs(baseUs: number, jitterUs: number, uniform: number): number {
  return (baseUs - jitterUs * Math.log(uniform)) / 1000;
}

function endpoint(text: string): { address: string; port: number } {
  const i = text.lastIndexOf(':');
  const port = Number(text.slice(i + 1));
  if (i <= 0 || !Number.isInteger(port) || port <= 0 || port > 65535) throw new Error(`Cannot relay: ${JSON.stringify(text)} is not ADDRESS:PORT`);
  return { address: text.slice(0, i), port };
}

async function main(argv: readonly string[]): Promise<void> {
  const [listen, target, base, jitter] = argv;
  if (listen === undefined || target === undefined || base === undefined || jitter === undefined) {
    throw new Error('usage: path-relay LISTEN_ADDR:PORT TARGET_ADDR:PORT BASE_US JITTER_US');
  }
  const baseUs = Number(base);
  const jitterUs = Number(jitter);
  if (!(baseUs >= 0) || !(jitterUs >= 0)) throw new Error(`Cannot relay: delays must be >= 0 us (got ${base}, ${jitter})`);
  const relay = await startUdpRelay({
    listen: endpoint(listen),
    target: endpoint(target),
    precise: true,
    maxRecords: 1000,
    // 1 - random(): (0, 1], so the log is finite.
    delayMs: () => pathDelayMs(baseUs, jitterUs, 1 - Math.random()),
  });
  console.log(`relaying ${relay.address}:${relay.port} -> ${target}, ${baseUs} us + ${jitterUs} us * Exp(1) each way`);
  process.once('SIGTERM', () => void relay.stop().then(() => process.exit(0)));
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  main(process.argv.slice(2)).catch((e: unknown) => {
    console.error(`path-relay: ${(e as Error).message}`);
    process.exitCode = 1;
  });
}
