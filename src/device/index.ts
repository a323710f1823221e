/** Device operations: what the burn flows call (identify, flash, FSM registers). */
export * from './device.js';
export * from './image-read.js';
export * from './open.js';
export * from './types.js';
