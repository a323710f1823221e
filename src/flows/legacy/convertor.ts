/**
 * Slot choice and flint's contiguous → physical address convertor (fs3-facts.md §2.2,
 * `getNewImageStartAddress`, `BurnFs3Image`, `flint_io.h :: cont2phys`), and the convertor
 * used to invalidate the old image (§2.3 step 5). Pure functions: no I/O.
 */

/** Slot 1 of an 8 MiB (log2 0x17) layout (§2.2). */
export const SLOT1_8M = 0x800000;

/** An address convertor: log2 chunk L and the odd flag; L = 0 is the identity (§2.2). */
export interface Convertor {
  log2Chunk: number;
  odd: boolean;
}

export const IDENTITY: Convertor = Object.freeze({ log2Chunk: 0, odd: false });

/**
 * §2.2: phys = (cont & (2^L − 1)) | (odd << L) | ((cont << 1) & ~(2^(L+1) − 1)); L = 0: identity.
 * Computed with arithmetic (not 32-bit operators) so addresses ≥ 2 GiB stay positive.
 */
export function contToPhys(cont: number, c: Convertor): number {
  const L = c.log2Chunk;
  if (L === 0) return cont;
  const chunk = 2 ** L;
  const low = cont % chunk;
  const high = Math.floor((cont * 2) / (chunk * 2)) * (chunk * 2);
  return low + (c.odd ? chunk : 0) + high;
}

/** The inverse of contToPhys for a physical address in the convertor's half (undefined otherwise). */
export function physToCont(phys: number, c: Convertor): number | undefined {
  const L = c.log2Chunk;
  if (L === 0) return phys;
  const chunk = 2 ** L;
  const inOdd = Math.floor(phys / chunk) % 2 === 1;
  if (inOdd !== c.odd) return undefined;
  const low = phys % chunk;
  const pair = Math.floor(phys / (chunk * 2));
  return pair * chunk + low;
}

export interface SlotInputs {
  /** imgStart: the first image start holding the magic on the device (§1.2). */
  oldStart: number;
  /** The new image's log2 chunk (boot-version byte 0x25, after §1.2's special case). */
  imageLog2: number;
  /** The device image's log2 chunk. */
  deviceLog2: number;
  /** Non-failsafe burn (flint -nofs, §2.4). */
  nofs?: boolean;
  /** Direct gateway (flint -ocr / --override_cache_replacement, §2.4). */
  ocr?: boolean;
}

/** §2.2 getNewImageStartAddress: where the new image goes. */
export function newImageStart(s: SlotInputs): number {
  const nofsOcr = Boolean(s.nofs && s.ocr);
  if ((s.oldStart !== 0 && s.imageLog2 !== 0x17) || (s.oldStart === SLOT1_8M && s.imageLog2 === 0x17) || nofsOcr) return 0;
  return s.deviceLog2 === 0x17 ? SLOT1_8M : 2 ** s.imageLog2;
}

/** §2.2: odd = (imgStart ≠ 0) || (nofs && -ocr). */
export function oddFlag(s: SlotInputs): boolean {
  return s.oldStart !== 0 || Boolean(s.nofs && s.ocr);
}

/** §2.2: the convertor used to write the new image: (0x17, 1) if new_start = 0x800000, else (image L, !odd). */
export function writeConvertor(s: SlotInputs, newStart = newImageStart(s)): Convertor {
  if (newStart === SLOT1_8M) return { log2Chunk: 0x17, odd: true };
  return { log2Chunk: s.imageLog2, odd: !oddFlag(s) };
}

/**
 * §2.3 step 5: the convertor pointed at the OLD slot: (0x17, odd) if old = 0x800000;
 * (device L, 1) if old = 0x400000; else (image L, odd).
 */
export function invalidateConvertor(s: SlotInputs): Convertor {
  const odd = oddFlag(s);
  if (s.oldStart === SLOT1_8M) return { log2Chunk: 0x17, odd };
  if (s.oldStart === 0x400000) return { log2Chunk: s.deviceLog2, odd: true };
  return { log2Chunk: s.imageLog2, odd };
}

/** Everything the legacy flow needs to know about the slots, in one record. */
export interface SlotPlan {
  oldStart: number;
  newStart: number;
  write: Convertor;
  invalidate: Convertor;
  /** Physical address the invalidation's contiguous 0 maps to. */
  invalidateAt: number;
}

export function planSlots(s: SlotInputs): SlotPlan {
  const newStart = newImageStart(s);
  const invalidate = invalidateConvertor(s);
  return { oldStart: s.oldStart, newStart, write: writeConvertor(s, newStart), invalidate, invalidateAt: contToPhys(0, invalidate) };
}
