// The burn scenarios of bench/burn.mjs on the simulated ConnectX-4 Lx (docs/performance.md):
// a fresh FW 14.14.1100 card, then the legacy failsafe burns of the ~2.5 MiB 14.32.1908 catalog
// image (docs/burning.md) one after the other, with a warm reset in between:
//   blank  — 14.32 into slot 1 (0x400000), which is blank on a fresh card;
//   full   — 14.32 again (force) into slot 0, which holds 14.14 (its magic zeroed by `blank`):
//            every sector changes and needs an erase;
//   same   — 14.32 again (force) into slot 1, which holds exactly this image with only its
//            first dword zeroed (`full` invalidated it): the identical re-burn.
// Each burn runs on a freshly opened Device over the same card, measured from just before
// burnImage to just after it (the device open is not counted).
import { createSimDevice, DEFAULT_TIME_MODEL } from '../../dist/sim/index.js';
import { burnImage, catalogImage, openDevice, parseFs3, virtualClock } from '../../dist/index.js';

export const IMAGE_NAME = 'cx4lx-14.32.1908';
export const CARD = 'cx4lx@14.14.1100';

let cached;
/** The image bytes and their parse (built once per process). */
export function image() {
  if (!cached) {
    const bytes = catalogImage(IMAGE_NAME);
    cached = { bytes, img: parseFs3(bytes) };
  }
  return cached;
}

/** Every time-model constant at 0 (the CPU benchmark: nothing but the code runs). */
export const ZERO_TIME = Object.freeze(Object.fromEntries(Object.keys(DEFAULT_TIME_MODEL).map((k) => [k, 0])));

/** The device options fs3burn uses (what connect() / the CLI pass), unless a run overrides them. */
export function fs3burnDeviceOptions() {
  return { clock: virtualClock(), icmd: { holdVsecPerCommand: true, sessions: true } };
}

/** A transport over the sim that a Device may close without closing the card. */
function keepOpen(sim, wrap) {
  const t = { name: sim.name, read32: (o) => sim.read32(o), write32: (o, v) => sim.write32(o, v), close() {} };
  return wrap ? wrap(t) : t;
}

/** A fresh card with its own options (time model, knobs). */
export function freshCard(simOpts = {}) {
  return createSimDevice({ personality: CARD, ...simOpts });
}

function delta(a, b) {
  const time = {};
  for (const k of Object.keys(b.time)) time[k] = b.time[k] - a.time[k];
  const erases = Object.values(b.flash.erases).reduce((x, y) => x + y, 0) - Object.values(a.flash.erases).reduce((x, y) => x + y, 0);
  return {
    configReads: b.config.reads - a.config.reads,
    configWrites: b.config.writes - a.config.writes,
    config: b.config.reads + b.config.writes - a.config.reads - a.config.writes,
    icmdCommands: b.icmd.commands - a.icmd.commands,
    erases,
    pagePrograms: b.flash.pagePrograms - a.flash.pagePrograms,
    bytesProgrammed: b.flash.bytesProgrammed - a.flash.bytesProgrammed,
    bytesRead: b.flash.bytesRead - a.flash.bytesRead,
    time,
  };
}

/**
 * The physics floor of what a burn changed on flash (§4.2/§4.3 and src/sim/time.ts): every
 * 4 KiB sector whose bytes changed and in which some bit went 0 → 1 needs one 4 KiB erase;
 * every 128-byte MFBA block of a changed sector that must be programmed needs one page program
 * (after an erase: the blocks that are not all 0xFF; without: the blocks that differ). The
 * FW-access path cannot program more than 128 B at once (§4.3), so that is its floor;
 * `pages256` is the chip's own floor (256-B pages), for reference.
 */
export function physicsFloor(before, after, tm = DEFAULT_TIME_MODEL) {
  let changed = 0;
  let erase = 0;
  let blocks = 0;
  const pages = new Set();
  for (let s = 0; s < after.length; s += 0x1000) {
    let diff = false;
    let needErase = false;
    for (let i = s; i < s + 0x1000; i++) {
      if (before[i] !== after[i]) {
        diff = true;
        if ((before[i] & after[i]) !== after[i]) {
          needErase = true;
          break;
        }
      }
    }
    if (!diff) continue;
    changed++;
    if (needErase) erase++;
    for (let b = s; b < s + 0x1000; b += 128) {
      let need = false;
      for (let i = b; i < b + 128; i++) {
        if (needErase ? after[i] !== 0xff : before[i] !== after[i]) {
          need = true;
          break;
        }
      }
      if (need) {
        blocks++;
        pages.add(b >>> 8);
      }
    }
  }
  const us = erase * tm.erase4kUs + blocks * tm.pageProgramUs;
  return { changedSectors: changed, erasedSectors: erase, blocks, pages256: pages.size, us, pages256Us: erase * tm.erase4kUs + pages.size * tm.pageProgramUs };
}

/**
 * Run the three burns on one fresh card. `deviceOptions` are passed to openDevice for each
 * burn; `wrapTransport` may wrap the config transport (to record it); `only` stops after that burn.
 */
export async function runScenario({ simOpts = {}, deviceOptions = fs3burnDeviceOptions, wrapTransport, only, floor = true } = {}) {
  const { bytes } = image();
  const sim = freshCard(simOpts);
  const out = {};
  const burns = [
    ['blank', { noFwCtrl: true }],
    ['full', { noFwCtrl: true, force: true }],
    ['same', { noFwCtrl: true, force: true }],
  ];
  for (const [name, opts] of burns) {
    const dev = openDevice(keepOpen(sim, name === only ? wrapTransport : undefined), deviceOptions());
    const before = floor ? sim.model.flash.dump() : undefined;
    const s0 = sim.model.stats();
    const t0 = performance.now();
    const result = await burnImage(dev, bytes, { ...opts, log: () => undefined });
    const wallMs = performance.now() - t0;
    const s1 = sim.model.stats();
    const after = floor ? sim.model.flash.dump() : undefined;
    out[name] = {
      result,
      wallMs,
      ...delta(s0, s1),
      device: dev.stats(),
      ...(floor ? { floor: physicsFloor(before, after, sim.model.timeModel) } : {}),
    };
    dev.close();
    if (name === only) break;
    sim.model.reset('warm');
  }
  out.sim = sim;
  return out;
}
