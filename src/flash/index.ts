/** Flash access: FW access over MFBA / MFBE and the direct HW gateway (§4.1–§4.3). */
export * from './fw-access.js';
export * from './gateway-access.js';
export * from './gateway-constants.js';
export * from './select.js';
export * from './types.js';
export { checkRange, checkSectorAligned } from './checks.js';
