#!/usr/bin/env node
// bin/ntpkit.js from another compiled tree: `node ntpkit-cli.mjs DIST ARGS...`,
// so run.mjs --dist can bench a build other than dist/.
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const [dist, ...args] = process.argv.slice(2);
if (dist === undefined) throw new Error('usage: ntpkit-cli.mjs DIST_DIR ARGS...');
const { run } = await import(pathToFileURL(join(resolve(dist), 'cli', 'main.js')).href);
process.exitCode = await run(args);
