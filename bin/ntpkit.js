#!/usr/bin/env node
// Thin shim: the CLI lives in dist/cli/main.js so it can be run in-process by tests.
import { run } from '../dist/cli/main.js';

process.exitCode = await run(process.argv.slice(2));
