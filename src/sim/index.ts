/**
 * The simulated ConnectX-4 Lx (docs/device-model.md): a PciConfigTransport whose model
 * behaves like the card as fs3-facts.md describes it, for testing every flow without one.
 *
 *   const dev = createSimDevice('sim:cx4lx@14.14.1100?state=/tmp/card.sim');
 *   dev.read32(0);             // 0x101515b3
 *   dev.model.flash.dump();    // the flash
 *   dev.model.stats();         // operation counts and modelled time
 */
import { catalogImage } from '../image/catalog.js';
import { createSimDeviceWith, type SimDevice, type SimOptions } from './device.js';

/** Create a simulated card from a spec (`[sim:]cx4lx@VERSION[?state=FILE][&fault=…]`) or options. */
export function createSimDevice(spec: string | SimOptions): SimDevice {
  return createSimDeviceWith(spec, (name, o) => catalogImage(name, { ...(o?.guid !== undefined ? { guid: o.guid } : {}), ...(o?.mac !== undefined ? { mac: o.mac } : {}) }));
}

export { SimDevice, createSimDeviceWith, type SimOptions, type CatalogImageFn } from './device.js';
export { SimModel, type SimModelOptions, type SimStats, type ResetKind, type VolatileState, type RunningFw } from './model.js';
export { SpiFlash, type FlashCounters } from './flash.js';
export {
  FaultPlan,
  parseFault,
  describeFault,
  FAULT_OPS,
  type Fault,
  type FaultSpec,
  type FaultEffect,
  type FaultKind,
  type FaultOp,
  type FiredFault,
} from './faults.js';
export { DEFAULT_KNOBS, resolveKnobs, type Knobs } from './knobs.js';
export { DEFAULT_TIME_MODEL, type TimeModel, type TimeKind } from './time.js';
export {
  PERSONALITIES,
  CX4LX,
  findPersonality,
  personalityForVersion,
  versionString,
  type Personality,
  type DeviceKind,
  type FwVersion,
} from './personality.js';
export { parseSimSpec, SPEC_FORM, type ParsedSpec } from './spec.js';
export { cardIdentity, type CardIdentity } from './identity.js';
export { encodeState, decodeState, readStateFile, writeStateFile } from './state.js';
export { makeMiniImage, makeMiniFlash, makeDevInfo, makeMfgInfo, type MiniImageOptions, type MiniFlashOptions } from './mini-image.js';
export * as SimConstants from './constants.js';
