/** The ICMD layer (§6.1, §6.2, §4.5). */
export * from './constants.js';
export * from './icmd.js';
export * from './poll.js';
