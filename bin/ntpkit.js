#!/usr/bin/env node
// Thin shim: the CLI lives in dist/cli/main.js so it can be run in-process by tests.
import { run } from '../dist/cli/main.js';

// `ntpkit sources | head`: the reader went away, which is no error of ours (as for any Unix tool).
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw e;
  });
}

process.exitCode = await run(process.argv.slice(2));
