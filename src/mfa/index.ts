/**
 * MFA1 firmware archives: list the images, extract one by PSID (docs/mfa.md).
 * Importing this module loads no xz decoder; one is loaded when an archive is decoded.
 */
export {
  MFA1_MAGIC,
  extractMfa1Image,
  findMfa1Entry,
  formatMfa1Version,
  isMfa1,
  readMfa1ImageBytes,
  readMfa1Index,
  type Mfa1Entry,
  type Mfa1ExtractOptions,
  type Mfa1ExtractResult,
  type Mfa1Index,
  type Mfa1Section,
  type Mfa1Version,
} from './mfa1.js';
export { xzBackends, type XzBackendInfo, type XzBackendName } from './xz.js';
