/** Burn flows (docs/burning.md): burnImage, the legacy failsafe FS3 burn, the chunked writer, guards, resume. */
export * from './types.js';
export { burnImage, deviceOptionsOf } from './burn.js';
export { checkGuards, checkImage, compareVersions, type GuardDecision } from './guards.js';
export { findUnfinishedBurn, type UnfinishedBurn } from './resume.js';
export { ChunkedWriter, sectorJobs, type WriteRegion, type EraseMode, type WriteCallOptions, type WriterOptions, type WriterStats, type WriteReport, type CompareReport } from './writer.js';
export { isTransient, isIcmdStall, resolveRetry, DEFAULT_RETRY, NO_RETRY, TRANSIENT_CODES, type RetryPolicy } from './writer-retry.js';
export { needsErase, programSpans } from './writer-sector.js';
export * from './legacy/index.js';
export { selectFlow, identifyForFlow, type FlowIdentity } from './select.js';
export { burnFwManaged } from './fw-managed/index.js';
export { planBurn, type BurnPlan, type PlanRisk, type PlanStep, type PlanTime } from './plan.js';
export { planUpgradePath, type AvailableImage, type UpgradeHop, type UpgradePath } from './upgrade-path.js';
export { UPGRADE_RULES } from './upgrade-rules.js';
