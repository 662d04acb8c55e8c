/**
 * The interop test harness: real chronyd and ntpdig on loopback, a recording
 * UDP relay, loopback address allocation. Test-only; nothing in src/ outside
 * tests may import it (src/layering.test.ts).
 */
export * from './chronyd.js';
export * from './loopback.js';
export * from './ntp-probe.js';
export * from './ntpdig.js';
export * from './process.js';
export * from './scripted-ntp-server.js';
export * from './spoofed-udp.js';
export * from './tmpfs.js';
export * from './tools.js';
export * from './udp-relay.js';
export * from './uml.js';
export * from './ntpkit-process.js';
export * from './chronyc-run.js';
