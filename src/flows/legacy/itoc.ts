/**
 * The new image's bytes as the legacy flow writes them (fs3-facts.md §2.2 UpdateDevDataITOC):
 * every ITOC entry of the image with device_data = 1 is replaced by the device's own entry
 * of the same type, so the new slot's ITOC points at the device's DEV_INFO, MFG_INFO, NV_DATA
 * and VPD — which are never written — and the GUIDs, MACs, VSD and VPD survive the burn.
 */
import { Fs3BurnError } from '../../errors.js';
import type { Fs3Image, ItocEntry } from '../../image/fs3.js';

const ITOC_ENTRY_SIZE = 0x20; // §1.4
const ITOC_AREA = 0x1000; // header + entries live in one 4 KiB sector (§2.3 step 1 writes up to itocAddr + 0x1000)

/** The device's ITOC: its parsed entries and their raw 32 bytes as read from flash. */
export interface DeviceItoc {
  entries: readonly ItocEntry[];
  raw(entry: ItocEntry): Uint8Array;
}

export interface PreparedImage {
  /** Image bytes from the image start (slot-relative offsets), with the device's device-data entries. */
  bytes: Uint8Array;
  /** Slot-relative end of the ITOC sector: §2.3 step 1 writes [0x10, itocEnd). */
  itocEnd: number;
  /** Device-data entries taken from the device, by name. */
  kept: { type: number; name: string; address: number; size: number }[];
}

function refuse(message: string, data: Record<string, unknown>): Fs3BurnError {
  return new Fs3BurnError('BURN_DEV_DATA_MISMATCH', `${message}. Nothing was written: the card is left as it was and stays bootable.`, {
    hint: 'the image and the device disagree on where the device data lives; check that the image is meant for this card',
    data,
  });
}

/** Slot-relative end of the image: the ITOC sector or the last relative section, whichever is further. */
export function imageExtent(image: Fs3Image): number {
  let end = image.itoc.address + ITOC_AREA;
  for (const e of image.entries) if (e.relativeAddr && !e.deviceData) end = Math.max(end, e.address + e.size);
  return end;
}

/**
 * Copy the image (from its start to its extent) and put the device's entries in place of the
 * image's device-data entries (§2.2). Throws BURN_DEV_DATA_MISMATCH (a refusal: before any
 * write) when the device lacks such a section or its attributes differ.
 */
export function keepDeviceData(imageBytes: Uint8Array, image: Fs3Image, device: DeviceItoc): PreparedImage {
  const start = image.imageStart;
  const extent = imageExtent(image);
  const bytes = new Uint8Array(extent).fill(0xff);
  bytes.set(imageBytes.subarray(start, Math.min(imageBytes.length, start + extent)));
  const kept: PreparedImage['kept'] = [];
  for (const e of image.entries) {
    if (!e.deviceData) continue;
    const mine = device.entries.find((d) => d.type === e.type);
    if (!mine) {
      throw refuse(`An inconsistency was found in ${e.name} section attributes. The device has no ${e.name} section to keep`, { section: e.name, type: e.type });
    }
    if (mine.relativeAddr !== e.relativeAddr) {
      throw refuse(`An inconsistency was found in ${e.name} section attributes. relative_addr ITOC attribute differs`, {
        section: e.name,
        type: e.type,
        image: e.relativeAddr,
        device: mine.relativeAddr,
      });
    }
    if (!mine.deviceData) {
      throw refuse(`An inconsistency was found in ${e.name} section attributes. device_data ITOC attribute differs`, { section: e.name, type: e.type });
    }
    const raw = device.raw(mine);
    if (raw.length !== ITOC_ENTRY_SIZE) throw new RangeError(`device ITOC entry of ${e.name} is ${raw.length} bytes, not 32`);
    bytes.set(raw, e.entryOffset);
    kept.push({ type: e.type, name: e.name, address: mine.address, size: mine.size });
  }
  return { bytes, itocEnd: image.itoc.address + ITOC_AREA, kept };
}

/** A DeviceItoc over a flash-sized buffer (Device.readImage's `flash`) holding the device ITOC. */
export function deviceItocFrom(flash: Uint8Array, image: Fs3Image): DeviceItoc {
  return {
    entries: image.entries,
    raw: (e) => flash.slice(image.imageStart + e.entryOffset, image.imageStart + e.entryOffset + ITOC_ENTRY_SIZE),
  };
}
