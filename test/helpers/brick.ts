/**
 * Shared machinery of the "can a burn brick the card?" tests (test/brick-power-cut.test.ts,
 * test/brick-faults.test.ts) and of the long on-demand sweep (bench/brick-sweep.mjs, which
 * loads this file through vite). docs/robustness.md describes what is checked and why.
 *
 * Everything runs on the simulated card with a virtual clock and small poll budgets: nothing
 * sleeps for real, and a scenario + a cut point (or a seed) replays a run exactly.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDevice, type Device, type DeviceOptions } from '../../src/device/index.js';
import { isFs3BurnError } from '../../src/errors.js';
import { burnImage, type BurnOptions, type BurnResult } from '../../src/flows/index.js';
import { buildFs3Image, placeInSlot, type BuildSectionSpec } from '../../src/image/build/index.js';
import { catalogImage } from '../../src/image/catalog.js';
import { parseFs3 } from '../../src/image/fs3.js';
import { verifyFs3 } from '../../src/image/verify.js';
import { createSimDevice, type SimDevice, type SimOptions } from '../../src/sim/index.js';
import { virtualClock } from '../../src/vsec/index.js';

// =============================================================================================
// Images and scenarios
// =============================================================================================

/** The card's own identity: lives in DEV_INFO / MFG_INFO, which no burn may change. */
export const CARD_ID = { guid: 0x248a07030042a5b0n, mac: 0x248a0742a5b0n, deviceVsd: 'brick-test card' } as const;

type Version = readonly [number, number, number];
const vtext = (v: Version) => `${v[0]}.${v[1]}.${String(v[2]).padStart(4, '0')}`;

/** Small payload sections (`kib` KiB in all, split over three code sections) for a fast sweep. */
export function smallSections(kib: number): BuildSectionSpec[] {
  const total = Math.max(12, kib) * 1024;
  const a = Math.floor((total * 0.7) / 4) * 4;
  const b = Math.floor((total * 0.2) / 4) * 4;
  const c = total - a - b;
  return [
    { type: 'PCI_CODE', size: b },
    { type: 'MAIN_CODE', size: a },
    { type: 'POST_IRON_BOOT_CODE', size: c },
  ];
}

/**
 * A small ConnectX-4 Lx FS3 image of `version`: `kib` KiB of payload, signed with mcc_en (the
 * FW-managed flow takes it) unless `signed` is false, with the card's identity in its
 * device data.
 */
export function smallImage(version: Version, opts: { kib: number; signed?: boolean; seed?: number }): Uint8Array {
  const signed = opts.signed ?? true;
  return buildFs3Image({
    fwVersion: { major: version[0], minor: version[1], subminor: version[2] },
    sections: smallSections(opts.kib),
    signed,
    mccEnable: signed,
    runFromAny: signed,
    seed: opts.seed ?? (version[0] * 1000003 + version[1] * 1009 + version[2]) >>> 0,
    guid: CARD_ID.guid,
    mac: CARD_ID.mac,
    deviceVsd: CARD_ID.deviceVsd,
  });
}

export type FlowName = 'legacy' | 'fw-managed';

export interface Scenario {
  /** Short name, printed with every failure (with the cut point or seed to replay it). */
  name: string;
  flow: FlowName;
  /** Personality of the card (its nominal FW). */
  personality: string;
  /** The whole 16 MiB flash before the burn. */
  flash: Uint8Array;
  /** The image file burned. */
  image: Uint8Array;
  oldVersion: string;
  newVersion: string;
  /** Where the old image is (slot 0 or 1). */
  oldStart: number;
}

export interface ScenarioOptions {
  /** Payload KiB of the small images; 'catalog' = the full catalog images (~2.5 MiB). */
  size: number | 'catalog';
  /** Which slot the running (old) image is in. The other slot holds an older, invalidated image. */
  oldSlot?: 0 | 1;
}

const OLD_LEGACY: Version = [14, 14, 1100];
const OLD_FWM: Version = [14, 25, 1020];
const NEW: Version = [14, 32, 1908];
const STALE: Version = [14, 12, 1220]; // what an earlier burn left in the other slot (invalidated)

/**
 * The legacy failsafe burn on the 14.14.1100 card (no MCAM: fs3burn takes the legacy flow,
 * docs/seed-case.md), or the FW-managed burn on a 14.25.1020 card (MCAM + a signed mcc_en
 * image, docs/fw-managed.md); both to 14.32.1908. The slot that does not run holds an older
 * image whose first dword is zeroed — what an earlier burn leaves — so the burn has to erase.
 */
export function scenario(flow: FlowName, opts: ScenarioOptions): Scenario {
  const oldV = flow === 'legacy' ? OLD_LEGACY : OLD_FWM;
  const oldSlot = opts.oldSlot ?? 0;
  let old: Uint8Array;
  let stale: Uint8Array;
  let image: Uint8Array;
  if (opts.size === 'catalog') {
    const id = { guid: CARD_ID.guid, mac: CARD_ID.mac, deviceVsd: CARD_ID.deviceVsd };
    old = catalogImage(flow === 'legacy' ? 'cx4lx-14.14.1100' : 'cx4lx-14.25.1020', id);
    stale = catalogImage('cx4lx-14.14.1100', { ...id, fwVersion: { major: STALE[0], minor: STALE[1], subminor: STALE[2] } });
    image = catalogImage('cx4lx-14.32.1908');
  } else {
    old = smallImage(oldV, { kib: opts.size, signed: flow !== 'legacy' });
    stale = smallImage(STALE, { kib: opts.size, signed: false });
    image = buildFs3Image({
      fwVersion: { major: NEW[0], minor: NEW[1], subminor: NEW[2] },
      sections: smallSections(opts.size),
      signed: true,
      mccEnable: true,
      runFromAny: true,
      seed: 0x14321908,
    });
  }
  const size = opts.size === 'catalog' ? 'catalog' : `${opts.size}k`;
  return {
    name: `${flow}/${size}/old-in-slot-${oldSlot}`,
    flow,
    personality: `cx4lx@${vtext(oldV)}`,
    flash: placeInSlot(old, oldSlot, { other: stale }),
    image,
    oldVersion: vtext(oldV),
    newVersion: vtext(NEW),
    oldStart: oldSlot === 0 ? 0 : 0x400000,
  };
}

// =============================================================================================
// Driving a burn
// =============================================================================================

/** Small budgets: a dead or hung card ends a wait after a few polls, on the virtual clock. */
export const DEVICE_OPTIONS: DeviceOptions = { icmd: { pollBudget: 32 }, vsec: { semRetries: 8, flagPolls: 64 } };

/** Fast retries (p-retry with no delay) and the scenario's flow. */
export function burnOptionsFor(sc: Scenario, extra: BurnOptions = {}): BurnOptions {
  return {
    retry: { retries: 3, minTimeoutMs: 0, maxTimeoutMs: 0 },
    ...(sc.flow === 'legacy' ? { noFwCtrl: true } : {}),
    ...extra,
  };
}

export function openSim(sim: SimDevice): Device {
  return openDevice(sim, { ...DEVICE_OPTIONS, clock: virtualClock() });
}

export function newCard(sc: Scenario, extra: Partial<SimOptions> = {}): SimDevice {
  return createSimDevice({ personality: sc.personality, flash: sc.flash, ...extra });
}

export type BurnAttempt =
  | { kind: 'ok'; result: BurnResult }
  | { kind: 'typed'; code: string; exitCode: number; message: string; stage?: string; cause?: string }
  | { kind: 'untyped'; message: string };

/** Run burnImage on a fresh Device over `sim`; never throws. */
export async function attemptBurn(sim: SimDevice, sc: Scenario, extra: BurnOptions = {}): Promise<BurnAttempt> {
  try {
    const result = await burnImage(openSim(sim), sc.image, burnOptionsFor(sc, extra));
    return { kind: 'ok', result };
  } catch (e) {
    if (isFs3BurnError(e)) {
      const stage = e.data?.stage ?? e.data?.phase;
      const cause = e.data?.causeCode;
      return {
        kind: 'typed',
        code: e.code,
        exitCode: e.exitCode,
        message: e.message,
        ...(typeof stage === 'string' ? { stage } : {}),
        ...(typeof cause === 'string' ? { cause } : {}),
      };
    }
    return { kind: 'untyped', message: e instanceof Error ? `${e.name}: ${e.message}\n${e.stack ?? ''}` : String(e) };
  }
}

export function describeAttempt(a: BurnAttempt): string {
  if (a.kind === 'ok') return `${a.result.flow}/${a.result.outcome}`;
  if (a.kind === 'typed') return `${a.code}${a.stage ? `@${a.stage}` : ''}${a.cause ? `(${a.cause})` : ''}`;
  return `untyped error ${a.message.split('\n')[0]}`;
}

// =============================================================================================
// What the card boots, and whether the flash is sound
// =============================================================================================

export interface BootCheck {
  running: { start: number; version: string; via: string } | null;
  /** Empty when sound. */
  problems: string[];
}

/**
 * After a reset: some image runs, its version is the old or the new one (or exactly `want`),
 * the first signed image of the flash is the one that runs and passes every CRC (verifyFs3:
 * what `mstflint v` checks), and the card's GUIDs / MACs / VSD are its own.
 */
export function checkBooted(sc: Scenario, sim: SimDevice, want?: 'old' | 'new'): BootCheck {
  const r = sim.model.running;
  const problems: string[] = [];
  if (!r) return { running: null, problems: ['no image boots (livefish)'] };
  const running = { start: r.start, version: r.versionString, via: r.bootedVia };
  const allowed = want === 'old' ? [sc.oldVersion] : want === 'new' ? [sc.newVersion] : [sc.oldVersion, sc.newVersion];
  if (!allowed.includes(r.versionString)) problems.push(`runs ${r.versionString} from 0x${r.start.toString(16)}; expected ${allowed.join(' or ')}`);
  const data = sim.model.flash.data;
  const v = verifyFs3(data);
  if (!v.bootable) problems.push(`verifyFs3: the first image (0x${v.imageStart.toString(16)}) fails: ${v.reason ?? '?'}`);
  else if (v.imageStart !== r.start && r.bootedVia === 'search') {
    problems.push(`verifyFs3 checks the image at 0x${v.imageStart.toString(16)} but the card booted 0x${r.start.toString(16)}`);
  }
  if (v.bootable) {
    const img = parseFs3(data);
    const dev = img.devInfo;
    if (!dev || dev.guid.uid !== CARD_ID.guid || dev.mac.uid !== CARD_ID.mac || dev.vsd !== CARD_ID.deviceVsd) {
      problems.push(`device data changed: guid ${dev?.guid.uid.toString(16)} mac ${dev?.mac.uid.toString(16)} vsd ${JSON.stringify(dev?.vsd)}`);
    }
  }
  return { running, problems };
}

// ---- mstflint -------------------------------------------------------------------------------

let mstflintAvailable: boolean | undefined;
/** mstflint is installed (CI installs it; a developer machine may not have it). */
export function haveMstflint(): boolean {
  mstflintAvailable ??= spawnSync('mstflint', ['--version'], { encoding: 'utf8' }).status === 0;
  return mstflintAvailable;
}

let dumpDir: string | undefined;
let dump: { file: string; fd: number; bytes: Uint8Array } | undefined;
const DUMP_CHUNK = 0x10000;

/**
 * Bring the dump file up to date with `flash`: one file per process, and only the 64 KiB
 * chunks that differ from what it holds are written (a sweep checks thousands of dumps that
 * differ in a few sectors; writing 16 MiB each time was most of its system time).
 */
function writeDump(flash: Uint8Array): string {
  dumpDir ??= mkdtempSync(join(tmpdir(), 'fs3burn-brick-'));
  if (!dump || dump.bytes.length !== flash.length) {
    if (dump) closeSync(dump.fd);
    const file = join(dumpDir, `dump-${process.pid}.bin`);
    writeFileSync(file, flash);
    dump = { file, fd: openSync(file, 'r+'), bytes: Uint8Array.from(flash) };
    return file;
  }
  const old = Buffer.from(dump.bytes.buffer, dump.bytes.byteOffset, dump.bytes.length);
  const now = Buffer.from(flash.buffer, flash.byteOffset, flash.length);
  for (let at = 0; at < flash.length; at += DUMP_CHUNK) {
    const end = Math.min(at + DUMP_CHUNK, flash.length);
    if (now.compare(old, at, end, at, end) === 0) continue;
    writeSync(dump.fd, now, at, end - at, at);
    old.set(now.subarray(at, end), at);
  }
  return dump.file;
}

/** `mstflint -i DUMP v` on the flash; undefined when it accepts it, else its output. */
export function mstflintRejects(flash: Uint8Array): string | undefined {
  const file = writeDump(flash);
  const r = spawnSync('mstflint', ['-i', file, 'v'], { encoding: 'utf8', timeout: 60_000 });
  const out = `${r.stdout ?? ''}${r.stderr ?? ''}`;
  if (r.status === 0 && out.includes('FW image verification succeeded. Image is bootable.')) return undefined;
  return `mstflint -i DUMP v exit ${r.status}: ${out.trim().split('\n').slice(-3).join(' | ')}`;
}

export function cleanupDumps(): void {
  if (dump) closeSync(dump.fd);
  dump = undefined;
  if (dumpDir) rmSync(dumpDir, { recursive: true, force: true });
  dumpDir = undefined;
}

// =============================================================================================
// Part 1: power cuts
// =============================================================================================

export interface BurnProfile {
  /** Flash operations (erase / page program) the whole burn sends to the chip. */
  flashOps: number;
  /** ICMD commands of the whole burn. */
  icmdCommands: number;
  /** Flash operation count when each phase was first seen (legacy: write, signature, invalidate, boot-address). */
  phaseStart: Record<string, number>;
  /** ICMD commands after the last flash operation (the boot-address step: MFRL, MFAI, …). */
  icmdAfterLastFlashOp: number;
  /** The critical window: every k that touches a signature, an invalidation or a boot switch. */
  window: number[];
  ms: number;
}

/** One clean burn, counting flash operations with the sim's counters, to know the range of k. */
export async function profileBurn(sc: Scenario): Promise<BurnProfile> {
  const sim = newCard(sc);
  const w0 = sim.model.writesToFlash;
  const c0 = sim.model.stats().icmd.commands;
  const phaseStart: Record<string, number> = {};
  let icmdAtLastOp = 0;
  let lastOps = -1;
  const t0 = performance.now();
  const onEvent = (e: { phase: string }) => {
    const ops = sim.model.writesToFlash - w0;
    if (!(e.phase in phaseStart)) phaseStart[e.phase] = ops;
    if (ops !== lastOps) {
      lastOps = ops;
      icmdAtLastOp = sim.model.stats().icmd.commands;
    }
  };
  const r = await burnImage(openSim(sim), sc.image, burnOptionsFor(sc, { onEvent }));
  const ms = performance.now() - t0;
  if (r.outcome !== 'burned') throw new Error(`${sc.name}: the clean burn ended ${r.outcome}`);
  const flashOps = sim.model.writesToFlash - w0;
  const icmdCommands = sim.model.stats().icmd.commands - c0;
  const window = new Set<number>();
  const add = (k: number) => k >= 1 && k <= flashOps && window.add(k);
  if (sc.flow === 'legacy') {
    // the last sectors of the body, the signature, the invalidation
    const sig = phaseStart.signature ?? flashOps;
    for (let k = sig - 8; k <= flashOps; k++) add(k);
    // the first sector of the new slot (a stale magic there would be the first thing erased)
    for (let k = 1; k <= 4; k++) add(k);
  } else {
    // ACTIVATE: the erase of the block with the stale magic, the last pages, the magic, the invalidation
    for (let k = 1; k <= 4; k++) add(k);
    for (let k = flashOps - 8; k <= flashOps; k++) add(k);
  }
  // the ICMD commands after the last flash op (legacy: MFRL GET, MFAI, MFRL SET 0x40; the FSM's
  // final polls and release) are cut as `op=icmd` points, counted from the end of the burn
  const after = lastOps === flashOps ? c0 + icmdCommands - icmdAtLastOp : 0;
  return { flashOps, icmdCommands, phaseStart, icmdAfterLastFlashOp: Math.max(0, after), window: [...window].sort((a, b) => a - b), ms };
}

/**
 * The cut points of a sweep: every k in `window`, plus `sample` others spread evenly over
 * 1..total (all of them when sample ≥ total).
 */
export function cutPlan(total: number, window: readonly number[], sample: number): number[] {
  const out = new Set<number>(window.filter((k) => k >= 1 && k <= total));
  if (sample >= total) for (let k = 1; k <= total; k++) out.add(k);
  else for (let i = 0; i < sample; i++) out.add(1 + Math.floor(((i + 0.5) * total) / sample));
  return [...out].sort((a, b) => a - b);
}

export interface CutPoint {
  /** flash-write: the power goes right after flash operation k; icmd: right before ICMD command k runs. */
  k: number;
  op: 'flash-write' | 'icmd';
  /** The operation itself is only partly done (a seeded 25–75 %). */
  half: boolean;
}

export const cutName = (sc: Scenario, c: CutPoint) =>
  c.op === 'icmd' ? `${sc.name} cut before ICMD command #${c.k}` : `${sc.name} cut after flash operation #${c.k}${c.half ? ' (half done)' : ''}`;

export interface CutOutcome {
  cut: CutPoint;
  fired: boolean;
  /** What the burn that lost its power said. */
  first: string;
  /** What ran after power came back. */
  booted: BootCheck['running'];
  /** The second burnImage. */
  second: string;
  /** A second power cut, during the second burn (when asked): whether it fired, what booted after it, what the third burn said. */
  double?: { k: number; fired: boolean; booted: BootCheck['running']; third: string };
  /** What ran after the burn that finished and a reset. */
  final: BootCheck['running'];
  /** How many dumps `mstflint -i DUMP v` checked (0, 1 or more). */
  mstflintChecked: number;
  /** Everything wrong; empty = the cut point passed. */
  problems: string[];
}

/** Which dumps of a cut point mstflint checks: none, the one after the cut(s), or also the one after the last burn. */
export type MstflintChecks = 'none' | 'cut' | 'all';

export interface RunCutOptions {
  /** true = 'all' (the older boolean form). */
  mstflint?: boolean | MstflintChecks;
  /** Cut the power again after the n-th flash operation of the second burn, then burn a third time. */
  secondCut?: number;
}

/**
 * Cut the power after operation `cut.k`, power on again (reset), check that an image boots and
 * the flash verifies (`mstflint` too when asked), burn again, reset, check the new version runs
 * — after a warm reset and after a power cycle — and the flash verifies. With `secondCut`, the
 * second burn loses its power too, and a third burn must finish.
 */
export async function runCut(sc: Scenario, cut: CutPoint, opts: RunCutOptions = {}): Promise<CutOutcome> {
  const checks: MstflintChecks = opts.mstflint === true ? 'all' : opts.mstflint === false || opts.mstflint === undefined ? 'none' : opts.mstflint;
  const fault = `power-cut${cut.half ? ':half' : ''},op=${cut.op},nth=${cut.k}`;
  const sim = newCard(sc, { faults: [fault] });
  const out: CutOutcome = { cut, fired: false, first: '', booted: null, second: '', final: null, mstflintChecked: 0, problems: [] };
  const mstflint = (when: string) => {
    out.mstflintChecked++;
    const m = mstflintRejects(sim.model.flash.data);
    if (m) out.problems.push(`${when}: ${m}`);
  };
  const first = await attemptBurn(sim, sc);
  out.first = describeAttempt(first);
  out.fired = sim.model.fired.length > 0;
  if (first.kind === 'untyped') out.problems.push(`the cut burn threw an untyped error: ${first.message}`);
  if (out.fired && first.kind === 'ok' && sim.model.dead) {
    // the cut came after the last flash write (the boot-address step, the FSM's last polls):
    // the flow may finish with warnings; what counts is what boots and what the second burn does
    out.first += ' (the flow did not see the cut)';
  }
  sim.model.reset('warm'); // power comes back: after a power loss only the §1.2 probe order counts
  const b = checkBooted(sc, sim);
  out.booted = b.running;
  out.problems.push(...b.problems.map((p) => `after the cut: ${p}`));
  if (checks !== 'none') mstflint('after the cut');
  if (!b.running) return out; // nothing boots: a re-burn has no device to talk to

  if (opts.secondCut !== undefined) sim.model.faults.add(`power-cut,op=flash-write,nth=${opts.secondCut},id=second-cut`);
  const second = await attemptBurn(sim, sc);
  out.second = describeAttempt(second);
  let last = second;
  if (opts.secondCut !== undefined) {
    const fired = sim.model.fired.some((f) => f.id === 'second-cut');
    const d: NonNullable<CutOutcome['double']> = { k: opts.secondCut, fired, booted: null, third: '' };
    out.double = d;
    if (second.kind === 'untyped') out.problems.push(`the second (cut) burn threw an untyped error: ${second.message}`);
    if (fired) {
      sim.model.reset('warm');
      const b2 = checkBooted(sc, sim);
      d.booted = b2.running;
      out.problems.push(...b2.problems.map((p) => `after the second cut: ${p}`));
      if (checks !== 'none') mstflint('after the second cut');
      if (!b2.running) return out;
      last = await attemptBurn(sim, sc);
      d.third = describeAttempt(last);
    }
  }
  const label = out.double?.fired ? 'the third burn' : 'the second burn';
  if (last.kind !== 'ok') out.problems.push(`${label} failed: ${last.kind === 'typed' ? `${last.code}: ${last.message}` : last.message}`);
  sim.model.reset('warm');
  const f = checkBooted(sc, sim, 'new');
  out.final = f.running;
  out.problems.push(...f.problems.map((p) => `after ${label} + reset: ${p}`));
  if (checks === 'all') mstflint(`after ${label}`);
  sim.model.reset('cold'); // a power cycle boots by the §1.2 probe order alone: the old image must be gone
  const cold = sim.model.running;
  if (cold?.versionString !== sc.newVersion) out.problems.push(`after ${label} a power cycle boots ${cold ? `${cold.versionString} at 0x${cold.start.toString(16)}` : 'nothing'}`);
  return out;
}

export interface SweepSummary {
  scenario: string;
  flashOps: number;
  tried: number;
  fired: number;
  booted: number;
  bootedOld: number;
  bootedNew: number;
  reburned: number;
  /** Cut points whose second burn lost its power too, how many of those cuts fired, and how many then booted. */
  doubleTried: number;
  doubleFired: number;
  doubleBooted: number;
  /** Dumps mstflint checked, and cut points with at least one dump checked. */
  mstflintDumps: number;
  mstflintChecked: number;
  /** What the burn that lost its power said, and what the second burn said (counts). */
  firstOutcomes: Record<string, number>;
  secondOutcomes: Record<string, number>;
  failures: { name: string; cut: CutPoint; secondCut?: number; problems: string[] }[];
  ms: number;
}

export interface SweepOptions {
  /** The cut points, in order. */
  points: readonly CutPoint[];
  /** Run mstflint on the dumps of these points (true = after the cut and after the last burn). */
  mstflint?: (c: CutPoint, index: number) => boolean | MstflintChecks;
  /** A second power cut during the second burn, after its n-th flash operation (undefined: none). */
  secondCut?: (c: CutPoint, index: number) => number | undefined;
  onCut?: (o: CutOutcome) => void;
}

/**
 * The cut points of one scenario: `flash` flash-op points cut clean, `half` of them also cut
 * half-done, and the last `icmdTail` ICMD commands of the burn (the boot-address step, the
 * FSM's last polls and release) cut before they run.
 */
export function cutPoints(profile: BurnProfile, o: { flash: readonly number[]; half?: readonly number[]; icmdTail?: number }): CutPoint[] {
  const pts: CutPoint[] = o.flash.map((k) => ({ k, op: 'flash-write' as const, half: false }));
  for (const k of o.half ?? []) pts.push({ k, op: 'flash-write', half: true });
  for (let j = 1; j <= (o.icmdTail ?? 0); j++) pts.push({ k: profile.icmdCommands - j + 1, op: 'icmd', half: false });
  return pts;
}

export function emptySweep(scenario: string, flashOps: number): SweepSummary {
  return {
    scenario,
    flashOps,
    tried: 0,
    fired: 0,
    booted: 0,
    bootedOld: 0,
    bootedNew: 0,
    reburned: 0,
    doubleTried: 0,
    doubleFired: 0,
    doubleBooted: 0,
    mstflintDumps: 0,
    mstflintChecked: 0,
    firstOutcomes: {},
    secondOutcomes: {},
    failures: [],
    ms: 0,
  };
}

/** Add `b`'s counts to `a` (the bench merges its workers' parts). */
export function mergeSweep(a: SweepSummary, b: SweepSummary): SweepSummary {
  for (const k of ['tried', 'fired', 'booted', 'bootedOld', 'bootedNew', 'reburned', 'doubleTried', 'doubleFired', 'doubleBooted', 'mstflintDumps', 'mstflintChecked', 'ms'] as const) a[k] += b[k];
  for (const [k, v] of Object.entries(b.firstOutcomes)) a.firstOutcomes[k] = (a.firstOutcomes[k] ?? 0) + v;
  for (const [k, v] of Object.entries(b.secondOutcomes)) a.secondOutcomes[k] = (a.secondOutcomes[k] ?? 0) + v;
  a.failures.push(...b.failures);
  return a;
}

/** One line of counts. */
export function sweepLine(s: SweepSummary): string {
  const double = s.doubleTried > 0 ? `; ${s.doubleFired} of ${s.doubleTried} second cuts (during the re-burn) fired, ${s.doubleBooted} booted` : '';
  return `${s.scenario}: ${s.flashOps} flash ops; ${s.tried} cut points tried, ${s.booted} booted (${s.bootedOld} old, ${s.bootedNew} new), ${s.reburned} re-burned to the new version${double}; ${s.mstflintChecked} checked by mstflint (${s.mstflintDumps} dumps); ${s.failures.length} failed (${(s.ms / 1000).toFixed(1)} s)`;
}

/** The failures, each with how to replay it. */
export function sweepFailures(s: SweepSummary, max = 20): string {
  return s.failures
    .slice(0, max)
    .map((f) => `${f.name} [replay: FS3BURN_CUT=${f.cut.op}:${f.cut.k}${f.cut.half ? ':half' : ''}${f.secondCut !== undefined ? `+${f.secondCut}` : ''}]\n    ${f.problems.join('\n    ')}`)
    .join('\n');
}

/**
 * `FS3BURN_CUT=op:k[:half][+k2]` replays one cut point (in every scenario a test runs); `+k2`
 * also cuts the second burn after its k2-th flash operation.
 */
export function cutFromEnv(): (CutPoint & { secondCut?: number }) | undefined {
  const v = process.env.FS3BURN_CUT;
  if (!v) return undefined;
  const m = /^(flash-write|icmd):(\d+)(:half)?(?:\+(\d+))?$/.exec(v.trim());
  if (!m) throw new Error(`FS3BURN_CUT=${v}: expected flash-write:K[:half][+K2] or icmd:K[+K2]`);
  return { op: m[1] as CutPoint['op'], k: Number(m[2]), half: m[3] !== undefined, ...(m[4] !== undefined ? { secondCut: Number(m[4]) } : {}) };
}

export async function sweep(sc: Scenario, profile: BurnProfile, o: SweepOptions): Promise<SweepSummary> {
  const t0 = performance.now();
  const s = emptySweep(sc.name, profile.flashOps);
  const useMstflint = haveMstflint();
  for (const [i, cut] of o.points.entries()) {
    const asked = o.mstflint?.(cut, i) ?? false;
    const checks: MstflintChecks = !useMstflint || asked === false || asked === 'none' ? 'none' : asked === true ? 'all' : asked;
    const secondCut = o.secondCut?.(cut, i);
    const r = await runCut(sc, cut, { mstflint: checks, ...(secondCut !== undefined ? { secondCut } : {}) });
    s.tried++;
    if (r.fired) s.fired++;
    if (r.booted) {
      s.booted++;
      if (r.booted.version === sc.oldVersion) s.bootedOld++;
      else if (r.booted.version === sc.newVersion) s.bootedNew++;
    }
    if (r.double) {
      s.doubleTried++;
      if (r.double.fired) s.doubleFired++;
      if (r.double.fired && r.double.booted) s.doubleBooted++;
    }
    if (r.final?.version === sc.newVersion && !r.problems.some((p) => / (second|third) burn/.test(p))) s.reburned++;
    s.mstflintDumps += r.mstflintChecked;
    if (r.mstflintChecked > 0) s.mstflintChecked++;
    s.firstOutcomes[r.first] = (s.firstOutcomes[r.first] ?? 0) + 1;
    if (r.second) s.secondOutcomes[r.second] = (s.secondOutcomes[r.second] ?? 0) + 1;
    if (!r.fired) r.problems.push('the power cut never fired (k beyond the burn)');
    if (r.problems.length > 0) s.failures.push({ name: cutName(sc, cut), cut, ...(secondCut !== undefined ? { secondCut } : {}), problems: r.problems });
    o.onCut?.(r);
  }
  s.ms = performance.now() - t0;
  return s;
}

/**
 * The second cut of the `i`-th point of a plan when every `every`-th point gets one (0: none):
 * after the re-burn's k2-th flash operation, k2 spread over the first 70 % of a burn (a resumed
 * re-burn may end before k2; then only the first cut fired).
 */
export function secondCutFor(p: BurnProfile, i: number, every: number): number | undefined {
  return every > 0 && i % every === 0 ? 1 + ((i * 7919) % Math.max(1, Math.floor(p.flashOps * 0.7))) : undefined;
}

/**
 * The CI plan of a scenario (`sample` = undefined: every k): every flash operation k in
 * the window cut clean and half-done, an even sample of `sample` other k cut clean (every k
 * when undefined, also half-done), the last ICMD commands, and `icmdSample` ICMD commands
 * spread over the whole burn (for the FW-managed flow most of the burn is ICMD traffic:
 * the component download has no flash operation at all).
 */
export function sweepPlan(p: BurnProfile, o: { sample?: number; icmdSample?: number }): CutPoint[] {
  const all = Array.from({ length: p.flashOps }, (_, i) => i + 1);
  const flash = o.sample === undefined ? all : cutPlan(p.flashOps, p.window, o.sample);
  const half = o.sample === undefined ? all : p.window;
  const pts = cutPoints(p, { flash, half, icmdTail: p.icmdAfterLastFlashOp + 3 });
  const seen = new Set(pts.filter((c) => c.op === 'icmd').map((c) => c.k));
  const n = o.icmdSample ?? 0;
  for (let i = 0; i < n; i++) {
    const k = 1 + Math.floor(((i + 0.5) * p.icmdCommands) / n);
    if (!seen.has(k)) {
      seen.add(k);
      pts.push({ k, op: 'icmd', half: false });
    }
  }
  return pts;
}

// =============================================================================================
// Part 2: seeded random faults
// =============================================================================================

/**
 * About 1 % of ICMD commands and of flash operations fail, each kind with its own seeded
 * draw (docs/robustness.md has the table). `scale` multiplies every probability.
 */
export function randomFaults(scale = 1): string[] {
  const p = (x: number) => +(x * scale).toPrecision(6);
  return [
    // ICMD (every command: register GETs and SETs, MCC, MCDA, …)
    `busy-stuck,op=icmd,p=${p(0.001)},id=icmd-timeout`,
    `ifc-busy,op=icmd,p=${p(0.003)},id=icmd-ifc-busy`,
    `icmd-status:5,op=icmd,p=${p(0.003)},id=icmd-status-5`,
    `write-ignored,op=icmd,method=set,p=${p(0.003)},id=icmd-write-lies`,
    `bit-flip,op=icmd,method=get,p=${p(0.003)},id=icmd-read-bit-flip`,
    // the ICMD semaphore and the VSEC semaphore found held by another owner (for one attempt)
    `sem-held:4242,op=sem-icmd,p=${p(0.002)},id=icmd-sem-held`,
    `sem-held:77,op=sem-vsec,p=${p(0.0005)},id=vsec-sem-held`,
    // flash operations (what reaches the chip: erase, page program, read)
    `write-ignored,op=flash-write,p=${p(0.005)},id=flash-write-lies`,
    `bit-flip,op=flash-read,p=${p(0.005)},id=flash-bit-flip`,
    `busy-stuck,op=gateway,p=${p(0.001)},id=gateway-timeout`,
    // any config-space read (VSEC semaphore, counter, status, data; ~10^5 per small burn): ~1 flip a burn
    `bit-flip,op=config-read,p=${p(0.00001)},id=config-read-bit-flip`,
  ];
}

export type FaultVerdict = 'new-image' | 'clean-failure' | 'failure-new-boots' | 'corrupt';

export interface FaultOutcome {
  scenario: string;
  seed: number;
  verdict: FaultVerdict;
  attempt: string;
  fired: Record<string, number>;
  booted: BootCheck['running'];
  mstflintChecked: boolean;
  problems: string[];
}

/**
 * One seeded run: a burn under random faults, then a reset. Sound outcomes: the burn said it
 * burned and the new image runs and verifies; or it failed with a typed Fs3BurnError and the
 * card boots a verified image (normally the old one). Anything else is corrupt.
 */
export async function runSeed(sc: Scenario, seed: number, opts: { scale?: number; mstflint?: boolean } = {}): Promise<FaultOutcome> {
  const sim = newCard(sc, { seed, faults: randomFaults(opts.scale ?? 1) });
  const a = await attemptBurn(sim, sc);
  const fired: Record<string, number> = {};
  for (const f of sim.model.fired) fired[f.id] = (fired[f.id] ?? 0) + 1;
  const out: FaultOutcome = { scenario: sc.name, seed, verdict: 'corrupt', attempt: describeAttempt(a), fired, booted: null, mstflintChecked: false, problems: [] };
  sim.model.faults.clear(); // the card itself is sound again: what is on flash decides
  sim.model.reset('warm');
  const want = a.kind === 'ok' ? 'new' : undefined;
  const b = checkBooted(sc, sim, want);
  out.booted = b.running;
  out.problems.push(...b.problems);
  if (a.kind === 'untyped') out.problems.push(`untyped error: ${a.message}`);
  if (opts.mstflint && b.running) {
    out.mstflintChecked = true;
    const m = mstflintRejects(sim.model.flash.data);
    if (m) out.problems.push(m);
  }
  // a power cycle (§1.2 probe order only: no MFAI / activation / CR boot request) must boot a
  // sound image too — the new one after a burn that claims success
  sim.model.reset('cold');
  const c = checkBooted(sc, sim, want);
  out.problems.push(...c.problems.map((p) => `after a power cycle: ${p}`));
  if (out.problems.length === 0) {
    if (a.kind === 'ok') out.verdict = 'new-image';
    else out.verdict = b.running?.version === sc.oldVersion ? 'clean-failure' : 'failure-new-boots';
  }
  return out;
}

export interface SeedSummary {
  scenario: string;
  seeds: number;
  newImage: number;
  cleanFailures: number;
  failureNewBoots: number;
  corrupt: number;
  faultsFired: number;
  failureCodes: Record<string, number>;
  mstflintChecked: number;
  bad: FaultOutcome[];
  ms: number;
}

export async function runSeeds(sc: Scenario, seeds: readonly number[], opts: { scale?: number; mstflint?: boolean; onSeed?: (o: FaultOutcome) => void } = {}): Promise<SeedSummary> {
  const t0 = performance.now();
  const s: SeedSummary = { scenario: sc.name, seeds: 0, newImage: 0, cleanFailures: 0, failureNewBoots: 0, corrupt: 0, faultsFired: 0, failureCodes: {}, mstflintChecked: 0, bad: [], ms: 0 };
  for (const seed of seeds) {
    const o = await runSeed(sc, seed, { ...(opts.scale !== undefined ? { scale: opts.scale } : {}), mstflint: opts.mstflint ?? false });
    s.seeds++;
    s.faultsFired += Object.values(o.fired).reduce((x, y) => x + y, 0);
    if (o.mstflintChecked) s.mstflintChecked++;
    if (o.verdict === 'new-image') s.newImage++;
    else if (o.verdict === 'clean-failure') s.cleanFailures++;
    else if (o.verdict === 'failure-new-boots') s.failureNewBoots++;
    else s.corrupt++;
    if (o.verdict !== 'new-image' && o.attempt !== '') s.failureCodes[o.attempt] = (s.failureCodes[o.attempt] ?? 0) + 1;
    if (o.verdict === 'corrupt') s.bad.push(o);
    opts.onSeed?.(o);
  }
  s.ms = performance.now() - t0;
  return s;
}

export function seedLine(s: SeedSummary): string {
  return `${s.scenario}: ${s.seeds} seeds, ${s.faultsFired} faults fired; ${s.newImage} new image verified, ${s.cleanFailures} clean failures (old image boots), ${s.failureNewBoots} failures with the new image booting, ${s.corrupt} corrupt; ${s.mstflintChecked} checked by mstflint (${(s.ms / 1000).toFixed(1)} s)`;
}

export function seedFailures(s: SeedSummary, max = 20): string {
  return s.bad
    .slice(0, max)
    .map((o) => `${o.scenario} seed ${o.seed} [replay: FS3BURN_SEED=${o.seed}]: ${o.attempt}; booted ${JSON.stringify(o.booted)}; faults ${JSON.stringify(o.fired)}\n    ${o.problems.join('\n    ')}`)
    .join('\n');
}

/** `FS3BURN_SEED=n` replays one seed; else 1..count. */
export function seedsFromEnv(count: number): number[] {
  const one = process.env.FS3BURN_SEED;
  if (one !== undefined && one !== '') return [Number.parseInt(one, 10)];
  return Array.from({ length: count }, (_, i) => i + 1);
}

export const LONG = process.env.FS3BURN_LONG === '1' || process.env.FS3BURN_LONG === 'true';
