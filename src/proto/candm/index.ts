export * from './float.js';
export * from './layout.js';
export * from './messages.js';
export * from './codec.js';
