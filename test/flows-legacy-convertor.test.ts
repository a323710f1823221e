/**
 * Slot choice and the contiguous → physical convertor (fs3-facts.md §2.2), and the old-slot
 * convertor of the invalidation (§2.3 step 5): pure functions over the cases the facts list.
 */
import { describe, expect, it } from 'vitest';
import {
  contToPhys,
  invalidateConvertor,
  newImageStart,
  oddFlag,
  physToCont,
  planSlots,
  writeConvertor,
  type SlotInputs,
} from '../src/flows/index.js';

describe('contToPhys (§2.2 cont2phys)', () => {
  it('L = 0 is the identity', () => {
    for (const a of [0, 0x10, 0x3fffff, 0x400000, 0xfff000]) expect(contToPhys(a, { log2Chunk: 0, odd: true })).toBe(a);
  });

  it('(0x16, odd): the image lands in slot 1 at 0x400000', () => {
    const c = { log2Chunk: 0x16, odd: true };
    expect(contToPhys(0, c)).toBe(0x400000);
    expect(contToPhys(0x10, c)).toBe(0x400010);
    expect(contToPhys(0x3fffff, c)).toBe(0x7fffff);
    // past one chunk: the next pair of chunks, odd half
    expect(contToPhys(0x400000, c)).toBe(0xc00000);
  });

  it('(0x16, even): slot 0 is the identity inside the chunk', () => {
    const c = { log2Chunk: 0x16, odd: false };
    expect(contToPhys(0x123, c)).toBe(0x123);
    expect(contToPhys(0x3ffffc, c)).toBe(0x3ffffc);
    expect(contToPhys(0x400000, c)).toBe(0x800000);
  });

  it('(0x17, odd): 8 MiB slot 1 at 0x800000', () => {
    const c = { log2Chunk: 0x17, odd: true };
    expect(contToPhys(0, c)).toBe(0x800000);
    expect(contToPhys(0x10, c)).toBe(0x800010);
    expect(contToPhys(0x7fffff, c)).toBe(0xffffff);
  });

  it('the formula, bit for bit, on a spread of addresses', () => {
    for (const L of [0x10, 0x16, 0x17]) {
      for (const odd of [false, true]) {
        for (const cont of [0, 1, 0x1234, 2 ** L - 4, 2 ** L, 2 ** L + 0x44, 3 * 2 ** L + 8]) {
          const mask = 2 ** L - 1;
          const want = ((cont & mask) | ((odd ? 1 : 0) << L) | ((cont << 1) & ~(2 ** (L + 1) - 1))) >>> 0;
          expect(contToPhys(cont, { log2Chunk: L, odd })).toBe(want);
        }
      }
    }
  });

  it('physToCont inverts it on its own half and refuses the other half', () => {
    const c = { log2Chunk: 0x16, odd: true };
    for (const cont of [0, 0x10, 0x3fffff, 0x400000, 0x412345]) expect(physToCont(contToPhys(cont, c), c)).toBe(cont);
    expect(physToCont(0x10, c)).toBeUndefined();
    expect(physToCont(0x800010, c)).toBeUndefined();
  });
});

describe('slot choice (§2.2 getNewImageStartAddress)', () => {
  const cases: [string, SlotInputs, number, { log2Chunk: number; odd: boolean }, number][] = [
    // name, inputs, new start, write convertor, physical address of the invalidation
    ['4 MiB image, old in slot 0', { oldStart: 0, imageLog2: 0x16, deviceLog2: 0x16 }, 0x400000, { log2Chunk: 0x16, odd: true }, 0],
    ['4 MiB image, old in slot 1', { oldStart: 0x400000, imageLog2: 0x16, deviceLog2: 0x16 }, 0, { log2Chunk: 0x16, odd: false }, 0x400000],
    ['8 MiB image, old 8 MiB in slot 0', { oldStart: 0, imageLog2: 0x17, deviceLog2: 0x17 }, 0x800000, { log2Chunk: 0x17, odd: true }, 0],
    ['8 MiB image, old 8 MiB in slot 1', { oldStart: 0x800000, imageLog2: 0x17, deviceLog2: 0x17 }, 0, { log2Chunk: 0x17, odd: false }, 0x800000],
    ['4 MiB image onto an 8 MiB device (device chunk wins)', { oldStart: 0, imageLog2: 0x16, deviceLog2: 0x17 }, 0x800000, { log2Chunk: 0x17, odd: true }, 0],
    ['8 MiB image onto a 4 MiB device in slot 1', { oldStart: 0x400000, imageLog2: 0x17, deviceLog2: 0x16 }, 0x800000, { log2Chunk: 0x17, odd: true }, 0x400000],
    ['4 MiB image, old 8 MiB in slot 1', { oldStart: 0x800000, imageLog2: 0x16, deviceLog2: 0x17 }, 0, { log2Chunk: 0x16, odd: false }, 0x800000],
  ];
  it.each(cases)('%s', (_name, s, start, conv, inv) => {
    expect(newImageStart(s)).toBe(start);
    expect(writeConvertor(s)).toEqual(conv);
    expect(contToPhys(0, writeConvertor(s))).toBe(start);
    const plan = planSlots(s);
    expect(plan).toMatchObject({ oldStart: s.oldStart, newStart: start, write: conv, invalidateAt: inv });
  });

  it('nofs: the other slot unless -ocr, which sends the image to slot 0', () => {
    expect(newImageStart({ oldStart: 0, imageLog2: 0x16, deviceLog2: 0x16, nofs: true })).toBe(0x400000);
    expect(newImageStart({ oldStart: 0, imageLog2: 0x16, deviceLog2: 0x16, nofs: true, ocr: true })).toBe(0);
    expect(oddFlag({ oldStart: 0, imageLog2: 0x16, deviceLog2: 0x16, nofs: true, ocr: true })).toBe(true);
    // (0x16, !odd) = (0x16, 0): slot 0
    expect(writeConvertor({ oldStart: 0, imageLog2: 0x16, deviceLog2: 0x16, nofs: true, ocr: true })).toEqual({ log2Chunk: 0x16, odd: false });
  });

  it('odd = (imgStart ≠ 0) || (nofs && -ocr)', () => {
    expect(oddFlag({ oldStart: 0, imageLog2: 0x16, deviceLog2: 0x16 })).toBe(false);
    expect(oddFlag({ oldStart: 0x400000, imageLog2: 0x16, deviceLog2: 0x16 })).toBe(true);
    expect(oddFlag({ oldStart: 0, imageLog2: 0x16, deviceLog2: 0x16, nofs: true })).toBe(false);
  });

  it('invalidation convertor (§2.3 step 5): (0x17, odd) at 0x800000, (device L, 1) at 0x400000, else (image L, odd)', () => {
    expect(invalidateConvertor({ oldStart: 0x800000, imageLog2: 0x16, deviceLog2: 0x17 })).toEqual({ log2Chunk: 0x17, odd: true });
    expect(invalidateConvertor({ oldStart: 0x400000, imageLog2: 0x17, deviceLog2: 0x16 })).toEqual({ log2Chunk: 0x16, odd: true });
    expect(invalidateConvertor({ oldStart: 0, imageLog2: 0x17, deviceLog2: 0x16 })).toEqual({ log2Chunk: 0x17, odd: false });
  });
});
