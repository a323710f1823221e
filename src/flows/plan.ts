/**
 * planBurn: what a burn would do, without doing it — the flow and why (§3.1), the steps in
 * order, the risks, and the modelled time. Pure: it reads a DeviceIdentity and a parsed
 * image, never the device. The result is plain JSON (docs/planning.md).
 *
 * Modelled time uses the simulated card's time constants (src/sim/time.ts, imported as data)
 * and per-command config-access counts measured with this project's client on the simulator
 * (PLAN_COST_MODEL); it is an estimate of a real card, not a promise.
 */
import type { Fs3Image } from '../image/fs3.js';
import { formatFwVersion } from '../image/fs3.js';
import { DEFAULT_TIME_MODEL, type TimeModel } from '../sim/time.js';
import { fwManagedSteps, fwManagedWork, type IcmdWork, type PlanStepInfo } from './fw-managed/plan-steps.js';
import { KERNEL_POLL_INTERVAL_MS } from './fw-managed/options.js';
import { newImageStart } from './legacy/convertor.js';
import { selectFlow, type FlowIdentity } from './select.js';
import type { BurnOptions, FlowKind } from './types.js';

export type PlanStep = PlanStepInfo;

/** Config accesses per operation of this project's client (measured on the simulated card). */
export interface PlanCostModel {
  /** Config accesses of one ICMD command besides its mailbox (§5.3 locks, §6.2 handshake). */
  icmdBaseConfigAccesses: number;
  /** Config accesses per mailbox dword written or read (§5.3 block access: DATA + ADDR + FLAG poll). */
  icmdPerDwordConfigAccesses: number;
  /** Direct gateway (§4.2): config accesses per 256-byte page program, per 4 KiB erase, per 256 bytes read. */
  gatewayPageConfigAccesses: number;
  gatewayEraseConfigAccesses: number;
  gatewayRead256ConfigAccesses: number;
  /** Read each written block back (flint's default; --no_flash_verify skips it, §2.4). */
  readBack: boolean;
}

export const PLAN_COST_MODEL: Readonly<PlanCostModel> = Object.freeze({
  icmdBaseConfigAccesses: 115,
  icmdPerDwordConfigAccesses: 3,
  gatewayPageConfigAccesses: 1254,
  gatewayEraseConfigAccesses: 220,
  gatewayRead256ConfigAccesses: 1298,
  readBack: true,
});

export interface PlanTimePart {
  what: string;
  count: number;
  unitUs: number;
  us: number;
}

export interface PlanCounts {
  bytes: number;
  erases4k: number;
  erases64k: number;
  pagePrograms: number;
  bytesRead: number;
  icmdCommands: number;
  configAccesses: number;
}

export interface PlanTime {
  totalUs: number;
  totalSeconds: number;
  parts: PlanTimePart[];
  counts: PlanCounts;
  /** A reset to load the new FW, not included in the total. */
  resetUs: number;
  assumptions: string[];
}

export interface BurnPlan {
  flow: FlowKind;
  reasons: string[];
  device: { name: string; hwId: number; runningVersion?: string; flashedVersion?: string; psid?: string; accessMethod: string; imageStart?: number; flashSize: number };
  image: { version: string; psid?: string; chunkLog2: number; runFromAny: boolean; signed: boolean; fwManagedCapable: boolean; bytes: number };
  versions: { from?: string; to: string; change: 'upgrade' | 'downgrade' | 'same' | 'unknown' };
  /** Legacy flow: the slot written and the slot invalidated (§2.2). */
  slots?: { oldStart: number; newStart: number };
  steps: PlanStep[];
  risks: PlanRisk[];
  /** Some risk is blocking: the burn refuses without an override. */
  blocked: boolean;
  time: PlanTime;
}

export type PlanOptions = BurnOptions & { timeModel?: Partial<TimeModel>; costModel?: Partial<PlanCostModel>; pollIntervalMs?: number };

const PAGE = 256;
const SECTOR = 0x1000;
const MFBA_BLOCK = 128; // §4.3 CX4LX transfer size
const MFBA_HEADER = 12;
const TLV = 20; // §6.3 operation + register TLVs

interface LegacyWork {
  oldStart: number;
  newStart: number;
  bytes: number;
  sectors: number;
  blocks: number;
  pages: number;
}

/** §2.3 steps 1–2: header + ITOC from 0x10, then every section that is not device data. */
function legacyWork(identity: FlowIdentity, image: Fs3Image): LegacyWork {
  const oldStart = identity.image?.start ?? 0;
  // §2.2, the legacy flow's own rule (fs3burn has no -ocr burn)
  const imageLog2 = image.bootVersion.effectiveLog2Chunk;
  const newStart = newImageStart({ oldStart, imageLog2, deviceLog2: identity.image?.log2Chunk ?? imageLog2 });
  const regions: [number, number][] = [[0x10, image.itoc.address + 0x1000]];
  for (const e of image.entries) {
    if (e.deviceData || e.size === 0) continue;
    const rel = e.relativeAddr ? e.address : e.address - image.imageStart;
    regions.push([rel, rel + e.size]);
  }
  const sectors = new Set<number>();
  let bytes = 0;
  let blocks = 0;
  let pages = 0;
  for (const [a, b] of regions) {
    bytes += b - a;
    for (let s = Math.floor(a / SECTOR); s * SECTOR < b; s++) sectors.add(s);
    blocks += Math.ceil((b - Math.floor(a / MFBA_BLOCK) * MFBA_BLOCK) / MFBA_BLOCK);
    pages += Math.ceil((b - Math.floor(a / PAGE) * PAGE) / PAGE);
  }
  return { oldStart, newStart, bytes, sectors: sectors.size, blocks, pages };
}

function legacySteps(w: LegacyWork, opts: BurnOptions, method: string): PlanStep[] {
  const hex = (n: number) => `0x${n.toString(16)}`;
  const isfu = method === 'fw' && !opts.nofs;
  const write: PlanStep = { id: 'write', title: 'Write the image without its signature', detail: `Write ${w.bytes} bytes to the slot at ${hex(w.newStart)} (header and ITOC from offset 0x10, then every section that is not device data), erasing ${w.sectors} 4 KiB sectors on first touch; the slot's first 16 bytes stay 0xFF. The card's DEV_INFO / MFG_INFO / NV / VPD stay as they are.`, fact: '§2.2, §2.3 steps 1–2' };
  const restore: PlanStep = { id: 'restore-signature', title: 'Restore the signature', detail: `Write the 16-byte magic at ${hex(w.newStart)} without erasing: the new image becomes bootable.`, fact: '§2.3 step 3' };
  const invalidate: PlanStep = opts.nofs
    ? { id: 'invalidate-old', title: 'Invalidate every other image', detail: `Zero the first dword of every image start other than ${hex(w.newStart)} (nofs).`, fact: '§2.3 step 5' }
    : { id: 'invalidate-old', title: 'Invalidate the old signature', detail: `Zero the old image's first dword at ${hex(w.oldStart)}${opts.flintOrder ? '' : ' — before the boot-address step, so a FW that stops answering after the warm-boot request (§4.6) cannot leave it valid'}.`, fact: opts.flintOrder ? '§2.3 step 5' : '§2.3 step 5, §4.6 mitigation' };
  const boot: PlanStep = isfu
    ? { id: 'boot-address', title: 'Set the boot address and request a warm boot', detail: `MFAI {address = ${hex(w.newStart)}, use_address = 1}; read MFRL and send the warm-boot level (0x40) only if the card lists it. Errors here are warnings.`, fact: '§2.3 step 4, §8' }
    : { id: 'boot-address', title: 'Set the boot address (CR path)', detail: `CR 0xF0000 = ${hex(w.newStart)} << 8, then CR 0xF0204 bit 1 (reset flash on warm reboot).`, fact: '§2.3 step 4' };
  const checks: PlanStep = { id: 'checks', title: 'Check the image against the card', detail: 'Verify the image, check the HW id and PSID, compare versions' + (opts.nofs ? ' (nofs: no chunk / version / timestamp checks).' : ' and chunk sizes.'), fact: '§2.1, §2.4' };
  return opts.flintOrder ? [checks, write, restore, boot, invalidate] : [checks, write, restore, invalidate, boot];
}

function icmdCost(list: IcmdWork[], cost: PlanCostModel): { commands: number; accesses: number } {
  let commands = 0;
  let accesses = 0;
  for (const c of list) {
    const dwords = Math.ceil((TLV + c.writeBytes) / 4) + Math.ceil((TLV + c.readBytes) / 4);
    commands += c.count;
    accesses += c.count * (cost.icmdBaseConfigAccesses + cost.icmdPerDwordConfigAccesses * dwords);
  }
  return { commands, accesses };
}

function timeOf(counts: PlanCounts, extra: PlanTimePart[], tm: TimeModel, assumptions: string[]): PlanTime {
  const part = (what: string, count: number, unitUs: number): PlanTimePart => ({ what, count, unitUs, us: count * unitUs });
  const parts = [
    part('config-space accesses', counts.configAccesses, tm.configAccessUs),
    part('ICMD commands (FW overhead)', counts.icmdCommands, tm.icmdCommandUs),
    part('4 KiB sector erases', counts.erases4k, tm.erase4kUs),
    part('64 KiB block erases', counts.erases64k, tm.erase64kUs),
    part('page programs', counts.pagePrograms, tm.pageProgramUs),
    part('flash bytes read', counts.bytesRead, tm.flashReadPerByteUs),
    ...extra,
  ].filter((p) => p.count > 0);
  const totalUs = Math.round(parts.reduce((s, p) => s + p.us, 0));
  return { totalUs, totalSeconds: Math.round(totalUs / 1e4) / 100, parts, counts, resetUs: tm.resetUs, assumptions };
}

function legacyTime(w: LegacyWork, method: string, tm: TimeModel, cost: PlanCostModel): PlanTime {
  const readBack = cost.readBack;
  if (method === 'gateway') {
    const pages = w.pages + 2;
    const counts: PlanCounts = {
      bytes: w.bytes,
      erases4k: w.sectors,
      erases64k: 0,
      pagePrograms: pages,
      bytesRead: readBack ? w.pages * PAGE : 0,
      icmdCommands: 0,
      configAccesses: pages * cost.gatewayPageConfigAccesses + w.sectors * cost.gatewayEraseConfigAccesses + (readBack ? w.pages * cost.gatewayRead256ConfigAccesses : 0),
    };
    return timeOf(counts, [], tm, ['direct HW gateway (§4.2): 256-byte page programs, 4 KiB erases', readBack ? 'each page read back' : 'no read-back', 'CR-path boot address (no ICMD)']);
  }
  const icmd: IcmdWork[] = [
    { what: 'setup queries (MGIR, MCAM, MFPA, image info)', count: 8, writeBytes: 0xa0, readBytes: 0xa0 },
    { what: 'MFBE sector erases', count: w.sectors, writeBytes: MFBA_HEADER, readBytes: MFBA_HEADER },
    { what: 'MFBA writes', count: w.blocks + 2, writeBytes: MFBA_HEADER + MFBA_BLOCK, readBytes: MFBA_HEADER },
    { what: 'MFBA read-back', count: readBack ? w.blocks : 0, writeBytes: MFBA_HEADER, readBytes: MFBA_HEADER + MFBA_BLOCK },
    { what: 'MFAI + MFRL', count: 3, writeBytes: 0x10, readBytes: 0x10 },
  ];
  const c = icmdCost(icmd, cost);
  const counts: PlanCounts = {
    bytes: w.bytes,
    erases4k: w.sectors,
    erases64k: 0,
    pagePrograms: w.blocks + 2, // the FW programs each 128-byte MFBA block as one page program
    bytesRead: readBack ? w.blocks * MFBA_BLOCK : 0,
    icmdCommands: c.commands,
    configAccesses: c.accesses,
  };
  return timeOf(counts, [], tm, ['FW access (§4.3): 128-byte MFBA blocks over ICMD, 4 KiB MFBE erases', readBack ? 'each block read back (flint default)' : 'no read-back', 'ICMD cost: measured config accesses per command of this client']);
}

function versionsOf(identity: FlowIdentity, image: Fs3Image): BurnPlan['versions'] {
  const to = image.imageInfo ? formatFwVersion(image.imageInfo.fwVersion) : 'unknown';
  const fromV = identity.image?.fwVersion ?? identity.fwVersion;
  if (!fromV || !image.imageInfo) return { ...(fromV ? { from: fromV.text } : {}), to, change: 'unknown' };
  const a = image.imageInfo.fwVersion;
  const d = a.major - fromV.major || a.minor - fromV.minor || a.subminor - fromV.subminor;
  return { from: fromV.text, to, change: d > 0 ? 'upgrade' : d < 0 ? 'downgrade' : 'same' };
}

export interface PlanRisk {
  id: string;
  /** 'blocking': the burn refuses without an override; 'warning': it goes ahead; 'info': worth knowing. */
  level: 'blocking' | 'warning' | 'info';
  text: string;
  /** The fs3-facts.md section (or doc) the risk rests on. */
  fact: string;
  /** What fs3burn does about it, or what the user can do. */
  mitigation?: string;
}

/** FW older than 14.20 (§4.6: "a FW version below ~14.2x") may hang after the warm-boot request. */
const OLD_FW_MINOR = 20;

function planRisks(identity: FlowIdentity, image: Fs3Image, flow: FlowKind, versions: BurnPlan['versions'], opts: BurnOptions): PlanRisk[] {
  const out: PlanRisk[] = [];
  const ii = image.imageInfo;
  const hwIds = ii?.supportedHwIds.map((h) => h.hwId) ?? [];
  if (hwIds.length > 0 && !hwIds.includes(identity.hwId)) {
    out.push({ id: 'hw-id-mismatch', level: 'blocking', text: `Device/Image mismatch: the image supports HW id ${hwIds.map((h) => `0x${h.toString(16)}`).join(', ')}, the device is 0x${identity.hwId.toString(16)}.`, fact: '§1.7, §2.1' });
  }
  if (identity.psid && ii?.psid && identity.psid !== ii.psid) {
    out.push({ id: 'psid-mismatch', level: opts.allowPsidChange ? 'warning' : 'blocking', text: `The image PSID ${ii.psid} differs from the device's ${identity.psid}.`, fact: '§2.1, §2.4 --allow_psid_change', mitigation: opts.allowPsidChange ? 'allowPsidChange is set: the PSID changes' : 'use the image for this PSID, or allowPsidChange' });
  }
  if (versions.change === 'downgrade') {
    out.push({ id: 'downgrade', level: opts.allowDowngrade ? 'warning' : 'blocking', text: `FW ${versions.to} is older than the FW ${versions.from} on the card.`, fact: '§2.1', mitigation: opts.allowDowngrade ? 'allowDowngrade is set' : 'set allowDowngrade to go back' });
  }
  if (versions.change === 'same') {
    out.push({ id: 'same-version', level: 'info', text: `FW ${versions.to} is already on the card: the burn is skipped unless forced.`, fact: '§2.1' });
  }
  if (identity.flash.writeProtected) {
    out.push({ id: 'write-protected', level: 'blocking', text: 'The flash is write-protected (MFPA sector/subsector protection or status-register block-protect bits).', fact: '§4.3' });
  }
  if (opts.nofs) {
    out.push({ id: 'not-failsafe', level: 'warning', text: 'Burn process will not be failsafe. No checks will be performed. If this process fails, computer may remain in an inoperable state.', fact: '§2.4 -nofs' });
  }
  const run = identity.fwVersion;
  if (flow === 'legacy') {
    if (identity.accessMethod.method === 'fw' && run && run.major === 14 && run.minor < OLD_FW_MINOR) {
      out.push(
        opts.flintOrder
          ? { id: 'warm-boot-hang', level: 'warning', text: `FW ${run.text} may stop answering ICMD after the warm-boot request (MFAI + MFRL 0x40); in flint's order the old signature is invalidated after it, the step that failed in the field report ("Failed to invalidate old fw signature ... MFE_CMDIF_TIMEOUT_ERR").`, fact: '§4.4, §4.6', mitigation: 'drop flintOrder: fs3burn then invalidates the old image first' }
          : { id: 'warm-boot-hang', level: 'info', text: `FW ${run.text} may stop answering ICMD after the warm-boot request (§4.6); fs3burn invalidates the old image first and can finish through the direct gateway.`, fact: '§4.6', mitigation: 'old signature invalidated before MFAI/MFRL; MFAI/MFRL errors are warnings; generous ICMD poll budget' },
      );
    }
    if (identity.livefish) {
      out.push({ id: 'livefish', level: 'info', text: 'The card runs no FW (livefish): the flash is written through the direct HW gateway and the boot address through CR space; a power cycle loads the new FW.', fact: '§4.1, §7' });
    }
    out.push({ id: 'power-loss', level: 'info', text: 'A power loss before the signature is restored leaves the new slot without its magic: the card keeps booting the old image.', fact: '§2.3 steps 1–3' });
  } else {
    out.push({ id: 'activation', level: 'info', text: 'The card writes the inactive slot itself during ACTIVATE; a failure or power loss there leaves the old image booting.', fact: '§3.2, docs/device-model.md' });
    out.push({ id: 'pending-reset', level: 'info', text: 'After the update the card needs a reset to load the new FW; another update before it is refused ("pending reset", FSM error 9).', fact: '§8' });
  }
  return out;
}

/** Plan a burn of `image` on the card `identity` describes. */
export function planBurn(identity: FlowIdentity, image: Fs3Image, opts: PlanOptions = {}): BurnPlan {
  const tm: TimeModel = { ...DEFAULT_TIME_MODEL, ...opts.timeModel };
  const cost: PlanCostModel = { ...PLAN_COST_MODEL, ...opts.costModel };
  const sel = selectFlow(identity, image, opts);
  const method = identity.accessMethod.method;
  const versions = versionsOf(identity, image);
  let steps: PlanStep[];
  let time: PlanTime;
  let slots: BurnPlan['slots'];
  let bytes: number;
  if (sel.flow === 'fw-managed') {
    const w = fwManagedWork(image, tm, opts.pollIntervalMs ?? KERNEL_POLL_INTERVAL_MS);
    const c = icmdCost(w.icmd, cost);
    steps = fwManagedSteps(w);
    bytes = w.componentSize;
    const counts: PlanCounts = { bytes, erases4k: w.erases4k, erases64k: w.erases64k, pagePrograms: w.pagePrograms, bytesRead: 0, icmdCommands: c.commands, configAccesses: c.accesses };
    time = timeOf(counts, [{ what: 'FW work in INITIALIZE / VERIFY / ACTIVATE', count: 1, unitUs: w.fsmUs, us: w.fsmUs }], tm, [
      `MCDA blocks of ${w.blockSize} bytes; MCC polled every ${opts.pollIntervalMs ?? KERNEL_POLL_INTERVAL_MS} ms`,
      'the FW erases the inactive slot in 64 KiB blocks where it can and programs 256-byte pages (UNVERIFIED: the simulator\'s choice)',
    ]);
  } else {
    const w = legacyWork(identity, image);
    steps = legacySteps(w, opts, method);
    slots = { oldStart: w.oldStart, newStart: w.newStart };
    bytes = w.bytes;
    time = legacyTime(w, method, tm, cost);
  }
  const risks = planRisks(identity, image, sel.flow, versions, opts);
  const plan: BurnPlan = {
    flow: sel.flow,
    reasons: sel.reasons,
    device: {
      name: identity.name,
      hwId: identity.hwId,
      ...(identity.fwVersion ? { runningVersion: identity.fwVersion.text } : {}),
      ...(identity.image?.fwVersion ? { flashedVersion: identity.image.fwVersion.text } : {}),
      ...(identity.psid ? { psid: identity.psid } : {}),
      accessMethod: method,
      ...(identity.image ? { imageStart: identity.image.start } : {}),
      flashSize: identity.flash.sizeBytes,
    },
    image: {
      version: versions.to,
      ...(image.imageInfo?.psid ? { psid: image.imageInfo.psid } : {}),
      chunkLog2: image.bootVersion.effectiveLog2Chunk,
      runFromAny: image.imageInfo?.runFromAny ?? false,
      signed: image.security.hasSignature,
      fwManagedCapable: image.security.fwManagedCapable,
      bytes,
    },
    versions,
    ...(slots ? { slots } : {}),
    steps,
    risks,
    blocked: risks.some((r) => r.level === 'blocking'),
    time,
  };
  return plan;
}
