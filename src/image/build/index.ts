/** The FS3 image builder (docs/image-builder.md). */
export {
  buildFs3Image,
  buildFs3ImageDetailed,
  planFs3Image,
  placeInSlot,
  DEVICE_DATA_LAYOUT,
  DEVICE_DATA_END,
  FLASH_SIZE,
  type Fs3BuildResult,
  type Fs3Layout,
  type PlannedSection,
} from './fs3-builder.js';
export {
  resolveBuildParams,
  parseUid,
  parseSectionType,
  CX4LX,
  DEFAULT_SECTIONS,
  TEXT_LIMITS,
  type Fs3BuildParams,
  type ResolvedFs3BuildParams,
  type BuildSectionSpec,
  type Fs3Version,
  type Fs3Date,
  type Fs3Time,
  type UidInput,
} from './params.js';
