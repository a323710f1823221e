/**
 * fs3burn library entry point. Other Node tools import from here:
 *   import { parseFs3, verifyFs3, describeImage, openImage } from 'fs3burn';
 * Errors are Fs3BurnError with a stable `code` (see errors.ts and docs/cli.md).
 */
export { ErrorCodes, ExitCode, Fs3BurnError, isFs3BurnError } from './errors.js';
export type { ErrorCode, ExitCodeValue, Fs3BurnErrorJSON } from './errors.js';
export { crc16 } from './image/crc16.js';
export { detectFormat, FS3_MAGIC, IMAGE_STARTS } from './image/format.js';
export type { FormatDetection, ImageFormat } from './image/format.js';
export { formatFwVersion, parseFs3, scanFs3 } from './image/fs3.js';
export type {
  Boot2,
  BootVersion,
  DevInfo,
  Fs3Image,
  Fs3Scan,
  FwVersion,
  ImageInfo,
  ItocEntry,
  ItocHeader,
  MfgInfo,
  SecurityInfo,
  UidEntry,
} from './image/fs3.js';
export { describeImage } from './image/query.js';
export type { ImageQuery, UidView } from './image/query.js';
export { SectionType, sectionName } from './image/sections.js';
export { verifyFs3 } from './image/verify.js';
export type { SectionStatus, VerifyLine, VerifyReport } from './image/verify.js';
export { openImage, openImageSource, requireFs3 } from './io/open-image.js';
export { memorySource, toSource } from './image/source.js';
export type { ByteSource, ImageInput } from './image/source.js';
export type { OpenedImage, OpenedImageSource } from './io/open-image.js';
export type { PciConfigTransport } from './transport/types.js';
export * from './image/build/index.js';
export { CATALOG_NAMES, catalogEntries, catalogImage, catalogParams, isCatalogName } from './image/catalog.js';
export {
  extractMfa1Image,
  findMfa1Entry,
  isMfa1,
  readMfa1ImageBytes,
  readMfa1Index,
  type Mfa1Entry,
  type Mfa1Index,
} from './mfa/index.js';
export * from './transport/index.js';
export * from './device/index.js';
export { connect, withDevice, type Connection } from './device/connect.js';
export { realClock, virtualClock, type Clock, type VirtualClock } from './vsec/clock.js';
export * from './flows/index.js';
