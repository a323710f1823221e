/** Access registers over ICMD (§6.3) and their layouts (§3.3, §4.3, §8). */
export * from './access.js';
export * from './cr-space.js';
export * from './fields.js';
export * from './ids.js';
export * from './mcam.js';
export * from './mcc.js';
export * from './mcda.js';
export * from './mcqi.js';
export * from './mcqs.js';
export * from './mfai.js';
export * from './mfba.js';
export * from './mfbe.js';
export * from './mfpa.js';
export * from './mfrl.js';
export * from './mgir.js';
export * from './status.js';
export * from './tlv.js';
