#!/usr/bin/env node
// ntpkit's NTS-KE server alone, for bench/nts/run.mjs: its own process, so its
// CPU is measured apart from the client loop. Prints "listening PORT".
// Usage: node ntpkit-ke-server.mjs DIST CERT KEY ADDRESS PORT
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const [dist, certPath, keyPath, address, port] = process.argv.slice(2);
const { startNtsKeServer } = await import(pathToFileURL(join(dist, 'daemon', 'nts-ke-server.js')).href);
const { CookieKeyRing } = await import(pathToFileURL(join(dist, 'crypto', 'nts-cookie.js')).href);
const server = await startNtsKeServer({
  cert: readFileSync(certPath), key: readFileSync(keyPath), cookies: CookieKeyRing.generate(0),
  address, port: Number(port), maxConnections: 100,
});
console.log(`listening ${server.port}`);
process.on('SIGTERM', () => { void server.close().then(() => process.exit(0)); });
