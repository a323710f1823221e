/**
 * Reading the FS3 image from flash without reading all of it: probe the image starts for
 * the magic (§1.2), read the header, BOOT2 and ITOC (§1.3, §1.4), then the sections the
 * ITOC names — all of them, or only IMAGE_INFO / MFG_INFO / DEV_INFO. The bytes land in a
 * flash-sized buffer at their physical addresses (unread bytes stay 0xFF), which parseFs3
 * reads like a flash dump: relative sections at start + address, absolute ones at address.
 */
import { Fs3BurnError } from '../errors.js';
import { FS3_MAGIC, IMAGE_STARTS } from '../image/format.js';
import { parseFs3, scanFs3, type Fs3Image } from '../image/fs3.js';
import { SectionType } from '../image/sections.js';
import { getBE32 } from '../vsec/bytes.js';
import type { ProgressFn } from './types.js';

export type ReadFn = (addr: number, len: number) => Uint8Array;

export interface FlashImage {
  /** Flash-sized buffer; only `ranges` were read, the rest is 0xFF. */
  flash: Uint8Array;
  image: Fs3Image;
  /** Physical address of the (first) image start. */
  start: number;
  /** [address, length] of every range read. */
  ranges: [number, number][];
  bytesRead: number;
  /** Bytes from the image start to the end of its last image-relative section. */
  extent: number;
}

export interface ReadImageOptions {
  /** 'all' (default): every ITOC section; 'info': only IMAGE_INFO, MFG_INFO and DEV_INFO. */
  sections?: 'all' | 'info';
  /** Read the whole flash instead (a full dump). */
  whole?: boolean;
  /** Transfer size for progress steps (default 64 KiB). */
  chunk?: number;
  onProgress?: ProgressFn;
}

const BOOT2_OFFSET = 0x38; // §1.3
const ITOC_SIG0 = 0x49544f43; // §1.4 "ITOC"
const ITOC_AREA = 0x20 * 65; // header + 64 entries (§1.4)
const MAX_ITOC_SEARCH = 0x100000;

function noImage(message: string, data: Record<string, unknown> = {}): Fs3BurnError {
  return new Fs3BurnError('DEVICE_NO_IMAGE', message, {
    hint: 'the flash holds no valid FS3 image at the probed starts; the card may need a recovery burn',
    data,
  });
}

export function readFlashImage(read: ReadFn, flashSize: number, opts: ReadImageOptions = {}): FlashImage {
  const flash = new Uint8Array(flashSize).fill(0xff);
  const ranges: [number, number][] = [];
  let bytesRead = 0;
  const chunk = opts.chunk ?? 0x10000;
  const take = (addr: number, len: number, phase: string, total?: number, base = 0): void => {
    const end = Math.min(flashSize, addr + len);
    for (let a = addr; a < end; a += chunk) {
      const n = Math.min(chunk, end - a);
      flash.set(read(a, n), a);
      bytesRead += n;
      opts.onProgress?.({ phase, done: base + (a + n - addr), total: total ?? end - addr });
    }
    if (end > addr) ranges.push([addr, end - addr]);
  };

  if (opts.whole) {
    take(0, flashSize, 'read flash');
    const image = parseFs3(flash);
    return { flash, image, start: image.imageStart, ranges, bytesRead, extent: extentOf(image) };
  }

  // §1.2: probe every start; the first holding the magic is the image start
  const starts: number[] = [];
  for (const s of IMAGE_STARTS) {
    if (s + 16 > flashSize) continue;
    take(s, 16, 'probe image starts');
    if (FS3_MAGIC.every((w, i) => getBE32(flash, s + 4 * i) === w)) starts.push(s);
  }
  const start = starts[0];
  if (start === undefined) throw noImage('no FS3 image magic at any image start on flash', { probed: IMAGE_STARTS.filter((s) => s < flashSize) });

  // header + BOOT2 (§1.3)
  take(start, 0x40, 'read image header');
  const n = getBE32(flash, start + BOOT2_OFFSET + 4);
  if (n < 4 || n > 0x100000) throw noImage('Boot2 invalid size', { start, sizeDwords: n });
  const boot2End = BOOT2_OFFSET + (n + 4) * 4;
  take(start + 0x40, boot2End - 0x40, 'read image header');
  // ITOC search (§1.4): from after BOOT2, rounded up to 0x1000, in 0x1000 steps
  let itoc = -1;
  for (let a = Math.ceil(boot2End / 0x1000) * 0x1000; a < MAX_ITOC_SEARCH && start + a + 16 <= flashSize; a += 0x1000) {
    take(start + a, 16, 'find ITOC');
    if (getBE32(flash, start + a) === ITOC_SIG0) {
      itoc = a;
      break;
    }
  }
  if (itoc < 0) throw noImage('No valid ITOC was found.', { start });
  take(start + itoc + 16, ITOC_AREA - 16, 'read ITOC');

  const scan = scanFs3(flash);
  if (scan.problem && scan.problem.code !== 'IMAGE_VERIFY_FAILED') throw scan.problem;
  const wanted = new Set<number>([SectionType.IMAGE_INFO, SectionType.MFG_INFO, SectionType.DEV_INFO]);
  const list = scan.entries.filter((e) => e.bufferOffset + e.size <= flashSize && (opts.sections !== 'info' || wanted.has(e.type)));
  const total = list.reduce((t, e) => t + e.size, 0);
  let done = 0;
  for (const e of list) {
    take(e.bufferOffset, e.size, 'read image sections', total, done);
    done += e.size;
  }
  const image = parseFs3(flash);
  return { flash, image, start, ranges, bytesRead, extent: extentOf(image) };
}

function extentOf(img: Fs3Image): number {
  let end = img.itoc.address + ITOC_AREA;
  for (const e of img.entries) if (e.relativeAddr) end = Math.max(end, e.address + e.size);
  return end;
}
