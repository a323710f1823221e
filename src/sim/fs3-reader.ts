/**
 * The little of FS3 the card itself needs to read: what its boot logic checks to decide that
 * an image start holds a bootable image (§1.2–§1.4), the running version (§1.7), and the
 * checks the FW's VERIFY_COMPONENT does on a downloaded component (§3.2, §8).
 *
 * Everything reads through `ByteSource` so that it works on the flash (absolute addresses)
 * and on a component buffer alike; addresses past the end of the source read as 0xFF.
 */
import { getU16, getU32 } from './bits.js';
import {
  BOOT2_OFFSET,
  BOOT_VERSION_OFFSET,
  FS3_MAGIC,
  ITOC_ENTRY_SIZE,
  ITOC_MAX_ENTRIES,
  ITOC_SIGNATURE,
  SectionType,
} from './constants.js';
import { crc16 } from '../image/crc16.js';
import type { FwVersion } from './personality.js';

export interface ByteSource {
  readonly length: number;
  bytes(addr: number, len: number): Uint8Array;
}

export function sourceOf(buf: Uint8Array): ByteSource {
  return {
    length: buf.length,
    bytes(addr, len) {
      if (addr >= 0 && addr + len <= buf.length) return buf.subarray(addr, addr + len);
      const out = new Uint8Array(len).fill(0xff);
      for (let i = 0; i < len; i++) {
        const a = addr + i;
        if (a >= 0 && a < buf.length) out[i] = buf[a]!;
      }
      return out;
    },
  };
}

export interface ItocEntry {
  /** Offset of the entry from the image start. */
  readonly entryOffset: number;
  readonly raw: Uint8Array;
  readonly type: number;
  readonly sizeBytes: number;
  readonly relative: boolean;
  /** flash_addr × 4: image-relative when `relative`, else absolute. */
  readonly addr: number;
  readonly deviceData: boolean;
  readonly noCrc: boolean;
  readonly sectionCrc: number;
  readonly entryCrcOk: boolean;
}

export interface ImageProbe {
  readonly start: number;
  /** log2 of the chunk (slot) size, after the §1.2 special case. */
  readonly chunkLog2: number;
  readonly boot2Length: number;
  readonly itocOffset: number;
  readonly entries: readonly ItocEntry[];
  readonly version: FwVersion;
  readonly psid: string;
  readonly supportedHwIds: readonly number[];
  readonly mccEnabled: boolean;
}

export type ProbeResult = { ok: true; image: ImageProbe } | { ok: false; start: number; reason: string };

export function hasMagic(src: ByteSource, start: number): boolean {
  const b = src.bytes(start, 16);
  return FS3_MAGIC.every((w, i) => getU32(b, i * 4) === w);
}

/** Decode one 32-byte ITOC entry (§1.4). */
export function decodeItocEntry(raw: Uint8Array, entryOffset: number): ItocEntry {
  const dw0 = getU32(raw, 0);
  const dw5 = getU32(raw, 20);
  const dw6 = getU32(raw, 24);
  const dw7 = getU32(raw, 28);
  return {
    entryOffset,
    raw,
    type: dw0 >>> 24,
    sizeBytes: ((dw0 >>> 2) & 0x3fffff) * 4,
    relative: (dw5 >>> 31) === 1,
    addr: ((dw5 >>> 2) & 0x1fffffff) * 4,
    deviceData: ((dw6 >>> 17) & 1) === 1,
    noCrc: ((dw6 >>> 16) & 1) === 1,
    sectionCrc: dw6 & 0xffff,
    entryCrcOk: (dw7 & 0xffff) === crc16(raw, 0, 7),
  };
}

function latin1(b: Uint8Array): string {
  let s = '';
  for (const c of b) {
    if (c === 0) break;
    s += String.fromCharCode(c);
  }
  return s;
}

/** Where a section's bytes are in `src` for an image at `start`. */
export function sectionAddress(e: ItocEntry, start: number): number {
  return e.relative ? start + e.addr : e.addr;
}

/**
 * Probe an image start: magic (§1.2), boot-version word (§1.2), BOOT2 size and CRC (§1.3),
 * ITOC search and header CRC (§1.4), entries, IMAGE_INFO (§1.7). This is the model's
 * reading of what the card's boot logic needs; it is stricter than a real boot ROM may be
 * (the model needs IMAGE_INFO to know the version it runs).
 */
export function probeImage(src: ByteSource, start: number, opts: { requireMagic?: boolean } = {}): ProbeResult {
  const fail = (reason: string): ProbeResult => ({ ok: false, start, reason });
  if ((opts.requireMagic ?? true) && !hasMagic(src, start)) return fail('no FS3 magic');
  const bw = src.bytes(start + BOOT_VERSION_OFFSET, 4);
  if (bw[0] !== 3) return fail(`image format version ${bw[0]} is not FS3`);
  let log2 = bw[1] === 0 ? 21 : bw[1]!;
  const binMajor = bw[2]!;
  const binMinor = bw[3]!;
  if (!((binMajor === 0 && binMinor === 0) || (binMajor === 1 && binMinor >= 1))) {
    return fail(`unsupported binary version ${binMajor}.${binMinor}`);
  }
  if (log2 === 0x16 && start === 0x800000) log2 = 0x17; // §1.2 special case
  const chunk = 2 ** log2;
  const n = getU32(src.bytes(start + BOOT2_OFFSET + 4, 4), 0);
  if (n < 4 || n > 0x100000) return fail('Boot2 invalid size');
  const boot2Len = (n + 4) * 4;
  const boot2 = src.bytes(start + BOOT2_OFFSET, boot2Len);
  if ((getU32(boot2, boot2Len - 4) & 0xffff) !== crc16(boot2, 0, n + 3)) return fail('Boot2 CRC mismatch');
  let itoc = -1;
  const first = Math.ceil((BOOT2_OFFSET + boot2Len) / 0x1000) * 0x1000;
  for (let off = first; off < chunk; off += 0x1000) {
    const h = src.bytes(start + off, 32);
    if (ITOC_SIGNATURE.every((w, i) => getU32(h, i * 4) === w) && (getU32(h, 28) & 0xffff) === crc16(h, 0, 7)) {
      itoc = off;
      break;
    }
  }
  if (itoc < 0) return fail('No valid ITOC was found.');
  const entries: ItocEntry[] = [];
  for (let i = 0; i < ITOC_MAX_ENTRIES; i++) {
    const off = itoc + 0x20 + i * ITOC_ENTRY_SIZE;
    const raw = src.bytes(start + off, ITOC_ENTRY_SIZE).slice();
    const e = decodeItocEntry(raw, off);
    if (e.type === SectionType.END) break;
    entries.push(e);
  }
  const info = entries.find((e) => e.type === SectionType.IMAGE_INFO);
  if (!info) return fail('no IMAGE_INFO section');
  if (!info.entryCrcOk) return fail('bad IMAGE_INFO ITOC entry CRC');
  const ii = src.bytes(sectionAddress(info, start), Math.max(info.sizeBytes, 0x128));
  if (ii[0] !== 0) return fail('Unknown IMAGE_INFO format version');
  const hw: number[] = [];
  for (let i = 0; i < 4; i++) {
    const v = getU32(ii, 0x118 + i * 4);
    if (v === 0) break;
    hw.push(v);
  }
  return {
    ok: true,
    image: {
      start,
      chunkLog2: log2,
      boot2Length: boot2Len,
      itocOffset: itoc,
      entries,
      version: [getU16(ii, 0x04), getU16(ii, 0x08), getU16(ii, 0x0a)],
      psid: latin1(ii.subarray(0x24, 0x34)),
      supportedHwIds: hw,
      mccEnabled: ((ii[2]! >>> 0) & 1) === 1, // dw0 bit 8 = byte 2 bit 0 (§1.7)
    },
  };
}

export interface ComponentCheck {
  ok: boolean;
  /** FSM error code (§8) when not ok. */
  errorCode: number;
  reason: string;
  image?: ImageProbe;
}

/**
 * VERIFY_COMPONENT of a downloaded boot image (§3.2): magic (or the masked magic of
 * FwExtract4MBImage), the structure of probeImage, every ITOC entry CRC, the CRC of every
 * section inside the component, the HW id, and a signature section.
 */
export function checkComponent(
  comp: Uint8Array,
  hwId: number,
  opts: { acceptMaskedMagic: boolean; requireSignature: boolean },
): ComponentCheck {
  const src = sourceOf(comp);
  const head = comp.subarray(0, 16);
  const masked = head.length === 16 && head.every((b) => b === 0xff);
  if (!hasMagic(src, 0) && !(masked && opts.acceptMaskedMagic)) {
    return { ok: false, errorCode: 8, reason: 'no FS3 magic at the component start' };
  }
  const p = probeImage(src, 0, { requireMagic: false });
  if (!p.ok) return { ok: false, errorCode: 8, reason: p.reason };
  for (const e of p.image.entries) {
    if (!e.entryCrcOk) return { ok: false, errorCode: 8, reason: `bad ITOC entry CRC (type 0x${e.type.toString(16)})`, image: p.image };
    if (e.noCrc || e.deviceData || !e.relative) continue;
    if (e.addr + e.sizeBytes > comp.length) {
      return { ok: false, errorCode: 8, reason: `section 0x${e.type.toString(16)} lies past the component end`, image: p.image };
    }
    if (crc16(comp, e.addr, e.sizeBytes / 4) !== e.sectionCrc) {
      return { ok: false, errorCode: 8, reason: `section 0x${e.type.toString(16)} CRC mismatch`, image: p.image };
    }
  }
  if (p.image.supportedHwIds.length > 0 && !p.image.supportedHwIds.some((v) => (v & 0xffff) === hwId)) {
    return { ok: false, errorCode: 3, reason: 'component not applicable to this HW id', image: p.image };
  }
  if (
    opts.requireSignature &&
    !p.image.entries.some((e) => e.type === SectionType.IMAGE_SIGNATURE_256 || e.type === SectionType.IMAGE_SIGNATURE_512)
  ) {
    return { ok: false, errorCode: 6, reason: 'component was not signed', image: p.image };
  }
  return { ok: true, errorCode: 0, reason: 'ok', image: p.image };
}
