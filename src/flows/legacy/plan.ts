/**
 * What the legacy FS3 burn writes, and where (fs3-facts.md §2.2–§2.3), as data: the new image
 * from contiguous 0 with its 16-byte magic left erased (step 1: header + ITOC from 0x10),
 * every non-device-data section (step 2), the signature (step 3: the 16 magic bytes, noerase)
 * and the invalidation of the old image(s) (step 5: 4 zero bytes over the old magic, noerase).
 * Pure: the device is not touched here.
 */
import { Fs3BurnError } from '../../errors.js';
import { FS3_MAGIC } from '../../image/format.js';
import type { Fs3Image } from '../../image/fs3.js';
import type { WriteRegion } from '../writer.js';
import { contToPhys, planSlots, type Convertor, type SlotPlan } from './convertor.js';
import { imageExtent, keepDeviceData, type DeviceItoc, type PreparedImage } from './itoc.js';

/** A region of the body with the contiguous address flint would name in its messages (§4.4). */
export interface BodyRegion extends WriteRegion {
  /** Contiguous (image-relative) address; undefined for an absolute section. */
  cont?: number;
  name: string;
}

export interface Invalidation {
  /** Physical address of the old image's first dword. */
  addr: number;
  /** The address flint names: contiguous 0 through the convertor (failsafe), or the start itself (nofs). */
  cont: number;
  /** Whether flint prints "physical " (a convertor is active, §4.4). */
  physical: boolean;
}

export interface LegacyPlan {
  failsafe: boolean;
  slots: SlotPlan;
  prepared: PreparedImage;
  /** Step 1 + 2: header and ITOC (magic erased) then the sections. */
  body: BodyRegion[];
  /** Step 3: the magic at the new start. */
  signature: WriteRegion;
  /** Step 5: what to zero. */
  invalidations: Invalidation[];
  /** Slot-relative end of what the new image occupies. */
  extent: number;
  /** flint's progress total: Σ section sizes + itocAddr + 0x1000 − 0x10 (§2.3 step 2). */
  progressTotal: number;
}

export interface PlanInputs {
  imageBytes: Uint8Array;
  image: Fs3Image;
  /** The device image (first start) and its ITOC. */
  device: { image: Fs3Image; itoc: DeviceItoc };
  /** Every image start holding the magic on the device (§1.2). */
  deviceStarts: readonly number[];
  nofs?: boolean;
  /** The flash is written through the direct gateway from the start (flint -ocr, §2.2, §2.4). */
  ocr?: boolean;
  /** Override the slot choice (resume: finishing a burn whose new image is already the first start). */
  slots?: SlotPlan;
  flashSize: number;
}

export const MAGIC_BYTES: Uint8Array = (() => {
  const b = new Uint8Array(16);
  const v = new DataView(b.buffer);
  FS3_MAGIC.forEach((w, i) => v.setUint32(i * 4, w, false)); // §1.2 BE dwords
  return b;
})();

function conflict(message: string, data: Record<string, unknown>): Fs3BurnError {
  return new Fs3BurnError('BURN_SLOT_CONFLICT', `${message}. Nothing was written: the card is left as it was and stays bootable.`, {
    hint: 'the new image does not fit next to the old one; check the image (its chunk size) against the card',
    data,
  });
}

/** §2.2 slot choice for the device and image at hand. */
export function chooseSlots(image: Fs3Image, deviceImage: Fs3Image, nofs = false, ocr = false): SlotPlan {
  return planSlots({
    oldStart: deviceImage.imageStart,
    imageLog2: image.bootVersion.effectiveLog2Chunk,
    deviceLog2: deviceImage.bootVersion.effectiveLog2Chunk,
    nofs,
    ocr,
  });
}

/** Slot plan for finishing a burn whose new image already sits at `newStart`, the old one at `oldStart`. */
export function finishSlots(image: Fs3Image, deviceLog2: number, newStart: number, oldStart: number): SlotPlan {
  const base = planSlots({ oldStart, imageLog2: image.bootVersion.effectiveLog2Chunk, deviceLog2 });
  const write: Convertor = newStart === 0x800000 ? { log2Chunk: 0x17, odd: true } : { log2Chunk: image.bootVersion.effectiveLog2Chunk, odd: newStart !== 0 };
  return { ...base, newStart, write };
}

export function planLegacy(p: PlanInputs): LegacyPlan {
  const failsafe = !p.nofs;
  const slots = p.slots ?? chooseSlots(p.image, p.device.image, p.nofs, p.ocr);
  const prepared = keepDeviceData(p.imageBytes, p.image, p.device.itoc);
  const L = slots.write.log2Chunk;
  const chunk = 2 ** L;
  const extent = prepared.bytes.length;
  if (extent > chunk) {
    throw conflict(`the image needs 0x${extent.toString(16)} bytes but its slots are 0x${chunk.toString(16)} bytes (log2 chunk 0x${L.toString(16)})`, { extent, chunk });
  }
  const phys = (cont: number) => contToPhys(cont, slots.write);
  const newEnd = slots.newStart + extent;
  if (newEnd > p.flashSize) throw conflict(`the new image would end at 0x${newEnd.toString(16)}, past the flash (0x${p.flashSize.toString(16)})`, { newEnd });
  // device data (absolute sections of the device image) must stay outside the new slot
  for (const e of p.device.image.entries) {
    if (e.relativeAddr || e.size === 0) continue;
    if (e.address < newEnd && e.address + e.size > slots.newStart) {
      throw conflict(`the new image at 0x${slots.newStart.toString(16)}..0x${newEnd.toString(16)} would overwrite the device's ${e.name} at 0x${e.address.toString(16)}`, { section: e.name });
    }
  }
  if (failsafe && slots.newStart !== slots.oldStart) {
    const oldEnd = slots.oldStart + imageExtent(p.device.image);
    if (slots.oldStart < newEnd && oldEnd > slots.newStart) {
      throw conflict(`the new image at 0x${slots.newStart.toString(16)} would overlap the running image at 0x${slots.oldStart.toString(16)}; a failsafe burn needs the other slot free`, {
        oldStart: slots.oldStart,
        newStart: slots.newStart,
      });
    }
  }

  // step 1: [0, itocEnd) with the magic left erased (flint writes from contiguous 0x10 and the
  // sector's erase leaves 0..0xF at 0xFF, §2.3 step 1)
  const head = prepared.bytes.slice(0, prepared.itocEnd);
  head.fill(0xff, 0, 16);
  const body: BodyRegion[] = [{ addr: phys(0), bytes: head, cont: 0, name: 'header+ITOC' }];
  let sizes = 0;
  // step 2: every section that is not device data (§2.2: those are the device's own and stay)
  for (const e of p.image.entries) {
    if (e.deviceData || e.size === 0) continue;
    sizes += e.size;
    if (e.relativeAddr) {
      body.push({ addr: phys(e.address), bytes: prepared.bytes.subarray(e.address, e.address + e.size), cont: e.address, name: e.name });
    } else {
      body.push({ addr: e.address, bytes: p.imageBytes.subarray(e.bufferOffset, e.bufferOffset + e.size), name: e.name });
    }
  }

  const invalidations: Invalidation[] = [];
  if (failsafe) {
    // §2.3 step 5: contiguous 0 through the old slot's convertor
    if (slots.oldStart !== slots.newStart) {
      if (slots.invalidateAt !== slots.oldStart) {
        throw conflict(`the old image's convertor maps contiguous 0 to 0x${slots.invalidateAt.toString(16)}, not to the old start 0x${slots.oldStart.toString(16)}`, {
          oldStart: slots.oldStart,
          invalidateAt: slots.invalidateAt,
        });
      }
      invalidations.push({ addr: slots.invalidateAt, cont: 0, physical: true });
    }
  } else {
    // §2.3 step 5, nofs: every other start holding the magic, no convertor
    for (const s of p.deviceStarts) if (s !== slots.newStart) invalidations.push({ addr: s, cont: s, physical: false });
  }
  return {
    failsafe,
    slots,
    prepared,
    body,
    signature: { addr: slots.newStart, bytes: MAGIC_BYTES },
    invalidations,
    extent,
    progressTotal: sizes + p.image.itoc.address + 0x1000 - 0x10,
  };
}

