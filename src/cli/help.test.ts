/**
 * Every visible `ntpkit` command has a description, help for each option and
 * argument, and a `--help` that prints its usage and exits 0. The commands
 * are walked from buildProgram(), so commands added later are covered too.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Command } from 'commander';
import { WORKER_COMMAND } from '../daemon/server-workers.js';
import { buildProgram, COMMAND_NAMES, run, SERVER_WORKER } from './main.js';

const quietIo = { out: () => {}, err: () => {}, setExitCode: () => {} };

async function cli(args: readonly string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await run(args, { out: (t) => { out += t; }, err: (t) => { err += t; }, setExitCode: () => {} });
  return { code, out, err };
}

/** Commander wraps help text to the terminal width; compare words, not lines. */
const flat = (s: string): string => s.replace(/\s+/g, ' ').trim();

async function visibleCommands(): Promise<Command[]> {
  const program = await buildProgram(quietIo);
  return program.createHelp().visibleCommands(program).filter((c) => c.name() !== 'help');
}

test('ntpkit has commands to walk', async () => {
  const names = (await visibleCommands()).map((c) => c.name());
  for (const n of ['query', 'server', 'validate', 'tracking', 'sources', 'daemon', 'check']) assert.ok(names.includes(n), `${n} in ${names.join(' ')}`);
  assert.ok(!names.includes('server-worker'), 'hidden commands stay out of the help');
});

test('every command has a description and help for every option and argument', async () => {
  const missing: string[] = [];
  for (const cmd of await visibleCommands()) {
    if (cmd.description().trim() === '') missing.push(`${cmd.name()}: no description`);
    for (const o of cmd.options) if (o.description.trim() === '') missing.push(`${cmd.name()} ${o.flags}: no description`);
    for (const a of cmd.registeredArguments) if (a.description.trim() === '') missing.push(`${cmd.name()} <${a.name()}>: no description`);
  }
  assert.deepEqual(missing, []);
});

test('ntpkit NAME --help prints the usage and the description and exits 0, for every command', async () => {
  for (const cmd of await visibleCommands()) {
    const name = cmd.name();
    const r = await cli([name, '--help']);
    assert.equal(r.code, 0, `${name} --help exited ${r.code}: ${r.err}`);
    assert.match(r.out, new RegExp(`^Usage: ntpkit ${name}( |$)`, 'm'), `${name} --help:\n${r.out}`);
    assert.ok(flat(r.out).includes(flat(cmd.description())), `${name} --help lacks its description:\n${r.out}`);
    for (const o of cmd.options) assert.ok(r.out.includes(o.long ?? o.short ?? o.flags), `${name} --help lacks ${o.flags}`);
    // `ntpkit help NAME` says the same.
    const viaHelp = await cli(['help', name]);
    assert.equal(viaHelp.code, 0, `help ${name}`);
    assert.equal(viaHelp.out, r.out, `help ${name}`);
  }
});

test('ntpkit --help and ntpkit help list every command with its description', async () => {
  const cmds = await visibleCommands();
  for (const args of [['--help'], ['help']]) {
    const r = await cli(args);
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.err}`);
    assert.match(r.out, /^Usage: ntpkit /m);
    for (const cmd of cmds) {
      assert.match(r.out, new RegExp(`^  ${cmd.name()}\\b`, 'm'), `${args.join(' ')} lacks ${cmd.name()}`);
      // The listing shows the description's start (commander may wrap the rest).
      const start = flat(cmd.description()).split(' ').slice(0, 3).join(' ');
      assert.ok(flat(r.out).includes(start), `${args.join(' ')} lacks the description of ${cmd.name()}: ${start}`);
    }
  }
});

test('the lazy command table: each name loads the command of that name, and only it', async () => {
  assert.deepEqual((await visibleCommands()).map((c) => c.name()), COMMAND_NAMES);
  for (const name of COMMAND_NAMES) {
    const program = await buildProgram(quietIo, [name]);
    assert.deepEqual(program.commands.map((c) => c.name()), [name]);
  }
  // Anything else (help, a typo) gets every command, so commander can list them and suggest one.
  for (const argv of [[], ['help'], ['--help'], ['trackin']]) {
    assert.deepEqual((await buildProgram(quietIo, argv)).commands.map((c) => c.name()), [...COMMAND_NAMES, WORKER_COMMAND], argv.join(' '));
  }
  assert.equal(SERVER_WORKER, WORKER_COMMAND);
  assert.deepEqual((await buildProgram(quietIo, [WORKER_COMMAND])).commands.map((c) => c.name()), [WORKER_COMMAND]);
});

test('a typo gets a suggestion and the usage exit code', async () => {
  const r = await cli(['trackin']);
  assert.equal(r.code, 2);
  assert.match(r.err, /Did you mean tracking\?/);
});
