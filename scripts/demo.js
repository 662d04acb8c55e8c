#!/usr/bin/env node
// `npm start`: ntpkit's main job with its built-in defaults, entirely on loopback.
// Starts three chronyd servers (`chronyd -x`: they never touch the clock) and a
// fourth under `faketime +2.5s`, each on its own 127.0.0.x:123, runs
// `ntpkit query` against all four, and stops every chronyd it started.
import { run } from '../dist/cli/main.js';
import { missingTools, startChronydServer } from '../dist/testing/index.js';

const missing = missingTools('chronyd', 'libfaketime');
if (missing.length > 0) {
  console.error(`ntpkit demo: needs ${missing.join(', ')} (Debian packages chrony and faketime); run \`bash .ci/run\` first.`);
  process.exit(1);
}
if (process.getuid?.() !== 0) {
  console.error('ntpkit demo: needs root to bind port 123 on 127.0.0.x.');
  process.exit(1);
}

console.log('Starting 3 chronyd servers and 1 under faketime +2.5s on loopback...');
const started = await Promise.allSettled([
  startChronydServer(), startChronydServer(), startChronydServer(),
  startChronydServer({ fakeOffsetSeconds: 2.5 }),
]);
const servers = started.filter((s) => s.status === 'fulfilled').map((s) => s.value);
let code = 1;
try {
  const failed = started.find((s) => s.status === 'rejected');
  if (failed) throw failed.reason;
  const fake = servers[3];
  console.log(`Servers: ${servers.map((s) => s.address).join(', ')} (${fake.address} runs 2.5 s fast)\n`);
  console.log(`$ ntpkit query ${servers.map((s) => s.address).join(' ')}`);
  code = await run(['query', ...servers.map((s) => s.address)]);
} finally {
  await Promise.all(servers.map((s) => s.stop()));
}
process.exitCode = code;
