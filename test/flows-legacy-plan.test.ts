/**
 * The legacy burn's plan as data (fs3-facts.md §2.2–§2.3): the new image from contiguous 0
 * with its magic erased, the device's own device-data ITOC entries in the new ITOC, no write
 * reaching the device data, the signature and the invalidation; refusals before any write.
 */
import { describe, expect, it } from 'vitest';
import { Fs3BurnError } from '../src/errors.js';
import { catalogImage } from '../src/image/catalog.js';
import { placeInSlot } from '../src/image/build/index.js';
import { parseFs3, type Fs3Image } from '../src/image/fs3.js';
import { SectionType } from '../src/image/sections.js';
import { deviceItocFrom, keepDeviceData, MAGIC_BYTES, planLegacy, type DeviceItoc } from '../src/flows/index.js';

const CARD = { guid: 0x248a0703000a0b08n, mac: 0x248a070a0b08n, deviceVsd: 'card-vsd-42' };
const NEW = catalogImage('cx4lx-14.32.1908');
const NEW_IMAGE = parseFs3(NEW);

function card(slot: 0 | 1, name = 'cx4lx-14.14.1100', extra = {}): { flash: Uint8Array; image: Fs3Image; itoc: DeviceItoc } {
  const flash = placeInSlot(catalogImage(name, { ...CARD, ...extra }), slot);
  const image = parseFs3(flash);
  return { flash, image, itoc: deviceItocFrom(flash, image) };
}

function caught(fn: () => unknown): Fs3BurnError {
  try {
    fn();
  } catch (e) {
    if (e instanceof Fs3BurnError) return e;
    throw e;
  }
  throw new Error('expected an error');
}

describe('keepDeviceData (§2.2 UpdateDevDataITOC)', () => {
  it("puts the device's own device-data entries into the new ITOC, byte for byte", () => {
    const dev = card(0);
    const prepared = keepDeviceData(NEW, NEW_IMAGE, dev.itoc);
    const devEntries = dev.image.entries.filter((e) => e.deviceData);
    expect(prepared.kept.map((k) => k.name)).toEqual(NEW_IMAGE.entries.filter((e) => e.deviceData).map((e) => e.name));
    for (const e of NEW_IMAGE.entries.filter((x) => x.deviceData)) {
      const mine = devEntries.find((d) => d.type === e.type)!;
      expect(Array.from(prepared.bytes.subarray(e.entryOffset, e.entryOffset + 32))).toEqual(Array.from(dev.itoc.raw(mine)));
    }
    // the result parses, and its DEV_INFO CRC is the device's (its GUIDs differ from the image's)
    const merged = parseFs3(prepared.bytes);
    const di = merged.entries.find((e) => e.type === SectionType.DEV_INFO)!;
    expect(di.sectionCrc).toBe(dev.image.entries.find((e) => e.type === SectionType.DEV_INFO)!.sectionCrc);
    expect(di.sectionCrc).not.toBe(NEW_IMAGE.entries.find((e) => e.type === SectionType.DEV_INFO)!.sectionCrc);
    // non-device-data entries are the image's
    for (const e of NEW_IMAGE.entries.filter((x) => !x.deviceData)) {
      expect(Array.from(prepared.bytes.subarray(e.entryOffset, e.entryOffset + 32))).toEqual(Array.from(NEW.subarray(e.entryOffset, e.entryOffset + 32)));
    }
  });

  it('refuses (before any write) when the device lacks a device-data section or its attributes differ', () => {
    const dev = card(0);
    const noMfg: DeviceItoc = { entries: dev.image.entries.filter((e) => e.type !== SectionType.MFG_INFO), raw: dev.itoc.raw };
    const e1 = caught(() => keepDeviceData(NEW, NEW_IMAGE, noMfg));
    expect(e1.code).toBe('BURN_DEV_DATA_MISMATCH');
    expect(e1.exitCode).toBe(7);
    expect(e1.message).toMatch(/^An inconsistency was found in MFG_INFO section attributes/);
    expect(e1.message).toMatch(/stays bootable/);
    const flipped: DeviceItoc = { entries: dev.image.entries.map((e) => (e.type === SectionType.DEV_INFO ? { ...e, relativeAddr: true } : e)), raw: dev.itoc.raw };
    expect(caught(() => keepDeviceData(NEW, NEW_IMAGE, flipped)).message).toMatch(/DEV_INFO section attributes. relative_addr ITOC attribute differs/);
  });
});

describe('planLegacy (§2.3)', () => {
  it('old image in slot 0 → new image at 0x400000, magic erased, sections, signature, invalidation of 0', () => {
    const dev = card(0);
    const plan = planLegacy({ imageBytes: NEW, image: NEW_IMAGE, device: dev, deviceStarts: dev.image.imageStarts, flashSize: 0x1000000 });
    expect(plan.slots).toMatchObject({ oldStart: 0, newStart: 0x400000 });
    const head = plan.body[0]!;
    expect(head.addr).toBe(0x400000);
    expect(head.bytes.subarray(0, 16).every((b) => b === 0xff)).toBe(true); // §2.3 step 1: magic left erased
    expect(Array.from(head.bytes.subarray(16, 0x100))).toEqual(Array.from(NEW.subarray(16, 0x100)));
    expect(head.bytes.length).toBe(NEW_IMAGE.itoc.address + 0x1000);
    // every non-device-data section, at 0x400000 + its address; none at the device data
    const sections = NEW_IMAGE.entries.filter((e) => !e.deviceData && e.size > 0);
    expect(plan.body.slice(1).map((r) => r.name)).toEqual(sections.map((e) => e.name));
    for (const [i, e] of sections.entries()) {
      const r = plan.body[i + 1]!;
      expect(r.addr).toBe(0x400000 + e.address);
      expect(r.cont).toBe(e.address);
    }
    for (const r of plan.body) expect(r.addr + r.bytes.length).toBeLessThanOrEqual(0x800000);
    expect(plan.signature).toEqual({ addr: 0x400000, bytes: MAGIC_BYTES });
    expect(plan.invalidations).toEqual([{ addr: 0, cont: 0, physical: true }]);
    const sizes = sections.reduce((t, e) => t + e.size, 0);
    expect(plan.progressTotal).toBe(sizes + NEW_IMAGE.itoc.address + 0x1000 - 0x10);
  });

  it('old image in slot 1 → new image at 0, invalidation of 0x400000', () => {
    const dev = card(1);
    const plan = planLegacy({ imageBytes: NEW, image: NEW_IMAGE, device: dev, deviceStarts: dev.image.imageStarts, flashSize: 0x1000000 });
    expect(plan.slots).toMatchObject({ oldStart: 0x400000, newStart: 0 });
    expect(plan.body[0]!.addr).toBe(0);
    expect(plan.invalidations).toEqual([{ addr: 0x400000, cont: 0, physical: true }]);
  });

  it('nofs: every other start with the magic is invalidated, without a convertor', () => {
    const flash = placeInSlot(catalogImage('cx4lx-14.14.1100', CARD), 0, { other: catalogImage('cx4lx-14.25.1020', CARD), otherValid: true });
    const image = parseFs3(flash);
    expect(image.imageStarts).toEqual([0, 0x400000]);
    const plan = planLegacy({ imageBytes: NEW, image: NEW_IMAGE, device: { image, itoc: deviceItocFrom(flash, image) }, deviceStarts: image.imageStarts, nofs: true, flashSize: 0x1000000 });
    expect(plan.failsafe).toBe(false);
    expect(plan.slots.newStart).toBe(0x400000);
    expect(plan.invalidations).toEqual([{ addr: 0, cont: 0, physical: false }]);
  });

  it('refuses an old image at an odd start that the new slot would overlap', () => {
    const dev = card(0);
    const odd = { ...dev.image, imageStart: 0x10000, imageStarts: [0x10000] };
    const e = caught(() => planLegacy({ imageBytes: NEW, image: NEW_IMAGE, device: { image: odd, itoc: dev.itoc }, deviceStarts: [0x10000], flashSize: 0x1000000 }));
    expect(e.code).toBe('BURN_SLOT_CONFLICT');
    expect(e.message).toMatch(/overlap the running image at 0x10000/);
  });
});
