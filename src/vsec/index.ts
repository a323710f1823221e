/** The VSEC layer: config-space access to the card's address spaces (§5.2, §5.3). */
export * from './block.js';
export * from './bytes.js';
export * from './clock.js';
export * from './constants.js';
export * from './counting.js';
export * from './find.js';
export * from './legacy-gateway.js';
export * from './open.js';
export * from './pid-semaphore.js';
export * from './stats.js';
export * from './vsec-access.js';
export type { AddressSpaceAccess } from '../transport/mst/address-space.js';
