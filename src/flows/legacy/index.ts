/** The legacy failsafe FS3 burn (fs3-facts.md §2). */
export { burnLegacy, nextStepText, type LegacyInputs } from './flow.js';
export { contToPhys, physToCont, newImageStart, oddFlag, writeConvertor, invalidateConvertor, planSlots, IDENTITY, SLOT1_8M, type Convertor, type SlotInputs, type SlotPlan } from './convertor.js';
export { keepDeviceData, deviceItocFrom, imageExtent, type DeviceItoc, type PreparedImage } from './itoc.js';
export { planLegacy, chooseSlots, finishSlots, MAGIC_BYTES, type LegacyPlan, type BodyRegion, type Invalidation, type PlanInputs } from './plan.js';
export { updateBootAddress, MFRL_WARM_BOOT, type BootAddressOptions, type BootAddressResult } from './boot-address.js';
export { mfErrorName, flashWriteFailed, BOOT_ADDRESS_WARNING } from './flint-messages.js';
export { leftState, type Stage } from './failure.js';
