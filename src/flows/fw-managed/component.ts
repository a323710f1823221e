/**
 * The component the FW-managed flow downloads (§3.2 step 1: `FwExtract4MBImage(mask magic +
 * device TOC)`, sent as component BOOT_IMG, "Boot image").
 *
 * - The bytes are the image from its start (§1.2) up to the end of the last section that is
 *   not device data (§1.8), i.e. the contents of one image slot. Device-data sections live at
 *   absolute addresses near the top of the flash (§1.8) and are never sent: the FW keeps the
 *   card's own (GUIDs, MACs, VSD, VPD), as a legacy failsafe burn does (§2.2).
 * - The 16-byte magic (§1.2) is masked to 0xFF; the FW writes it last, once the slot is
 *   complete (docs/device-model.md: the sim accepts a masked magic, knob fsmAcceptMaskedMagic).
 * - "Device TOC": FS3 has no DTOC (that is FS4, see the facts sheet's FS4 note), so there is
 *   nothing else to mask; the ITOC's device-data entries are sent as they are and the FW
 *   replaces them with its own.
 */
import { Fs3BurnError } from '../../errors.js';
import type { Fs3Image } from '../../image/fs3.js';

/** MCQS identifier of the boot image component (mstflint's COMPID_BOOT_IMG; the sim's too). */
export const COMPONENT_BOOT_IMG = 1;
export const COMPONENT_NAME = 'Boot image';
const MAGIC_LENGTH = 16;

export interface Component {
  /** Component bytes, magic masked. */
  data: Uint8Array;
  /** Offset of the image in the buffer it came from. */
  imageStart: number;
  /** The chunk (slot) size the image was built for: 1 << log2 chunk (§1.2). */
  slotSize: number;
}

/** End (image-relative) of everything the slot holds: header, BOOT2, ITOC, sections. */
export function componentLength(image: Fs3Image): number {
  let end = image.itoc.address + 0x20 * (image.entries.length + 2); // header + entries + end marker
  end = Math.max(end, image.boot2.offset + image.boot2.length);
  for (const e of image.entries) {
    if (e.deviceData) continue;
    const rel = e.relativeAddr ? e.address : e.address - image.imageStart;
    end = Math.max(end, rel + e.size);
  }
  return (end + 3) & ~3;
}

/** Build the BOOT_IMG component from an image file's bytes and its parsed model. */
export function extractComponent(imageBytes: Uint8Array, image: Fs3Image): Component {
  const slotSize = 2 ** image.bootVersion.effectiveLog2Chunk;
  for (const e of image.entries) {
    if (e.deviceData || e.relativeAddr) continue;
    const rel = e.address - image.imageStart;
    if (rel < 0 || rel + e.size > slotSize) {
      throw new Fs3BurnError('FW_MANAGED_COMPONENT_TOO_LARGE', `section ${e.name} at absolute address 0x${e.address.toString(16)} lies outside the image's ${slotSize >>> 20} MiB slot, so it cannot be sent as the ${COMPONENT_NAME} component. Nothing was written: the card still runs its old FW.`, {
        hint: 'burn this image with the legacy flow (noFwCtrl; flint --no_fw_ctrl)',
        data: { section: e.name, address: e.address, slotSize },
      });
    }
  }
  const length = componentLength(image);
  if (length > slotSize) {
    throw new Fs3BurnError('FW_MANAGED_COMPONENT_TOO_LARGE', `the image needs ${length} bytes, more than its ${slotSize >>> 20} MiB slot (§1.2 chunk). Nothing was written: the card still runs its old FW.`, {
      hint: 'check the image file (mstflint -i FILE v), or burn with the legacy flow (noFwCtrl)',
      data: { length, slotSize },
    });
  }
  if (image.imageStart + length > imageBytes.length) {
    throw new Fs3BurnError('IMAGE_CORRUPT', `the image is truncated: its sections end at 0x${(image.imageStart + length).toString(16)} but the file has ${imageBytes.length} bytes`, {
      hint: 'the image is damaged or truncated; get a fresh copy of the firmware file',
      data: { length, fileLength: imageBytes.length },
    });
  }
  const data = imageBytes.slice(image.imageStart, image.imageStart + length);
  data.fill(0xff, 0, MAGIC_LENGTH);
  return { data, imageStart: image.imageStart, slotSize };
}
