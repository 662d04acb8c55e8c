/** The control layer: protocol, server, client and built-in commands (docs/control.md). */
export * from './client.js';
export * from './commands.js';
export * from './errors.js';
export * from './protocol.js';
export * from './server.js';
