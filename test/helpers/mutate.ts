/**
 * Mutations of FS3 images for the fuzz tests (test/fuzz-*.test.ts).
 *
 * A mutation is plain data (JSON: it prints in a failure report and replays exactly), drawn
 * by fast-check from an ImageMap — where the header, boot word, BOOT2, the ITOC header and
 * entries, IMAGE_INFO, DEV_INFO, MFG_INFO and the code sections of one base image lie — so
 * every structure gets hit: truncations, flipped bytes in each structure, fields set to
 * edge values (zero and huge sizes, addresses past the end, entries pointing at themselves or
 * at the ITOC, overlapping sections, no END entry, a lost or moved ITOC), swapped entries and
 * sections, and field edits whose CRCs are fixed so the image still verifies and the walk
 * goes deeper (these reach the burn guards with odd but valid images).
 *
 * A Workbench applies a mutation in place on one working copy of the base and undoes it
 * afterwards, so a case costs the bytes it changes, not a 16 MiB copy.
 */
import fc from 'fast-check';
import { formatQuery, formatVerify, verifyFailureLine } from '../../src/cli/format.js';
import { ErrorCodes, Fs3BurnError } from '../../src/errors.js';
import { crc16 } from '../../src/image/crc16.js';
import { parseFs3 } from '../../src/image/fs3.js';
import { describeImage } from '../../src/image/query.js';
import { SectionType, isPublicKeysSection, isSignatureSection } from '../../src/image/sections.js';
import type { ByteSource } from '../../src/image/source.js';
import { verifyFs3 } from '../../src/image/verify.js';
import { requireFs3 } from '../../src/io/open-image.js';

// ---- where things are ------------------------------------------------------------------------

export interface SectionInfo {
  index: number;
  type: number;
  name: string;
  /** Buffer offset of the 32-byte ITOC entry. */
  entryAt: number;
  /** Buffer offset of the section's bytes. */
  dataAt: number;
  size: number;
  /** flash_addr × 4 as stored (image-relative when `relative`). */
  address: number;
  relative: boolean;
  deviceData: boolean;
}

export interface ImageMap {
  label: string;
  length: number;
  /** Buffer offset of the image start. */
  start: number;
  boot2Length: number;
  /** Buffer offset of the ITOC header. */
  itocAt: number;
  /** Buffer offset of the END entry. */
  endAt: number;
  sections: SectionInfo[];
}

export function mapImage(label: string, bytes: Uint8Array): ImageMap {
  const img = parseFs3(bytes);
  const start = img.imageStart;
  const sections = img.entries.map((e) => ({
    index: e.index,
    type: e.type,
    name: e.name,
    entryAt: start + e.entryOffset,
    dataAt: e.bufferOffset,
    size: e.size,
    address: e.address,
    relative: e.relativeAddr,
    deviceData: e.deviceData,
  }));
  return {
    label,
    length: bytes.length,
    start,
    boot2Length: img.boot2.length,
    itocAt: start + img.itoc.address,
    endAt: start + img.itoc.address + 0x20 * (img.entries.length + 1),
    sections,
  };
}

export const REGIONS = [
  'magic',
  'header',
  'bootWord',
  'boot2Header',
  'boot2Body',
  'boot2Crc',
  'itocHeader',
  'itocEntry',
  'itocEnd',
  'imageInfo',
  'devInfo',
  'mfgInfo',
  'code',
  'security',
  'nvData',
  'gap',
  'anywhere',
] as const;
export type Region = (typeof REGIONS)[number];

const INFO_TYPES = new Set<number>([SectionType.IMAGE_INFO, SectionType.DEV_INFO, SectionType.MFG_INFO]);
const NV_TYPES = new Set<number>([SectionType.NV_DATA0, SectionType.NV_DATA1, SectionType.NV_DATA2]);

/** [offset, length] ranges of a region in the base (may be empty). */
export function regionRanges(map: ImageMap, r: Region): [number, number][] {
  const s = map.start;
  const byType = (t: number) => map.sections.filter((x) => x.type === t && x.size > 0).map((x) => [x.dataAt, x.size] as [number, number]);
  const inBuf = (rs: [number, number][]) => rs.filter(([a, n]) => n > 0 && a + n <= map.length);
  switch (r) {
    case 'magic':
      return [[s, 16]];
    case 'header':
      return [[s + 0x10, 0x28]];
    case 'bootWord':
      return [[s + 0x24, 4]];
    case 'boot2Header':
      return [[s + 0x38, 8]];
    case 'boot2Body':
      return [[s + 0x40, map.boot2Length - 12]];
    case 'boot2Crc':
      return [[s + 0x38 + map.boot2Length - 4, 4]];
    case 'itocHeader':
      return [[map.itocAt, 0x20]];
    case 'itocEntry':
      return map.sections.map((x) => [x.entryAt, 0x20]);
    case 'itocEnd':
      return [[map.endAt, 0x20]];
    case 'imageInfo':
      return inBuf(byType(SectionType.IMAGE_INFO));
    case 'devInfo':
      return inBuf(byType(SectionType.DEV_INFO));
    case 'mfgInfo':
      return inBuf(byType(SectionType.MFG_INFO));
    case 'code':
      return inBuf(
        map.sections
          .filter((x) => x.size > 0 && !x.deviceData && !INFO_TYPES.has(x.type) && !isSignatureSection(x.type) && !isPublicKeysSection(x.type))
          .map((x) => [x.dataAt, x.size]),
      );
    case 'security':
      return inBuf(map.sections.filter((x) => x.size > 0 && (isSignatureSection(x.type) || isPublicKeysSection(x.type))).map((x) => [x.dataAt, x.size]));
    case 'nvData':
      return inBuf(map.sections.filter((x) => x.size > 0 && NV_TYPES.has(x.type)).map((x) => [x.dataAt, x.size]));
    case 'gap': {
      const first = Math.min(...map.sections.filter((x) => x.relative && x.size > 0).map((x) => x.dataAt));
      return first > map.endAt + 0x20 ? [[map.endAt + 0x20, first - map.endAt - 0x20]] : [];
    }
    case 'anywhere':
      return [[0, map.length]];
  }
}

// ---- mutations ----------------------------------------------------------------------------------

export const ENTRY_FIELDS = ['type', 'sizeDwords', 'address', 'relative', 'deviceData', 'noCrc', 'zipped', 'encrypted', 'sectionCrc'] as const;
export type EntryField = (typeof ENTRY_FIELDS)[number];
export type Fix = 'none' | 'entry' | 'both';

export type Mutation =
  | { kind: 'truncate'; length: number }
  | { kind: 'flip'; region: Region; pick: number; offset: number; mask: number }
  | { kind: 'flips'; flips: { at: number; mask: number }[] }
  | { kind: 'fill'; region: Region; pick: number; byte: number }
  | { kind: 'word'; region: Region; pick: number; offset: number; value: number }
  | { kind: 'splat'; at: number; bytes: number[] }
  | { kind: 'entry'; pick: number; field: EntryField; value: number; fix: Fix }
  | { kind: 'swapEntries'; a: number; b: number }
  | { kind: 'swapSections'; a: number; b: number; how: 'contents' | 'pointers' | 'types' }
  | { kind: 'itoc'; variant: 'noEnd' | 'self' | 'header' | 'overlap' | 'relocated' | 'lostSignature' | 'numEntries' | 'headerCrc'; pick: number; other: number; value: number }
  | { kind: 'bootWord'; format?: number; log2Chunk?: number; binMajor?: number; binMinor?: number }
  | { kind: 'boot2Size'; n: number; fixCrc: boolean }
  | { kind: 'info'; type: number; offset: number; bytes: number[]; fix: boolean }
  | { kind: 'shift'; at: number; delta: number }
  | { kind: 'combo'; steps: Mutation[] };

export function describeMutation(m: Mutation): string {
  return JSON.stringify(m, (_k, v: unknown) => (Array.isArray(v) && v.length > 24 && typeof v[0] === 'number' ? `[${v.length} bytes]` : v));
}

/** The main kind, for tallies ('combo' counts as such). */
export function kindOf(m: Mutation): string {
  return m.kind === 'entry' ? `entry.${m.field}${m.fix === 'none' ? '' : `+fix`}` : m.kind === 'itoc' ? `itoc.${m.variant}` : m.kind === 'flip' || m.kind === 'fill' || m.kind === 'word' ? `${m.kind}.${m.region}` : m.kind;
}

// ---- field presets for IMAGE_INFO / DEV_INFO / MFG_INFO edits (offsets from layouts.ts) ----------

interface Preset {
  type: number;
  offset: number;
  length: number;
  /** Interesting values (whole field, big-endian), besides random bytes. */
  values?: number[];
  text?: boolean;
}

const be = (v: number, n: number): number[] => Array.from({ length: n }, (_, i) => (v / 2 ** (8 * (n - 1 - i))) & 0xff);
const asciiBytes = (s: string, n: number): number[] => Array.from({ length: n }, (_, i) => (i < s.length ? s.charCodeAt(i) : 0));

const PRESETS: Preset[] = [
  { type: SectionType.IMAGE_INFO, offset: 0x00, length: 1, values: [0, 1, 0xff] }, // major version
  { type: SectionType.IMAGE_INFO, offset: 0x02, length: 2, values: [0, 0x0100, 0x4000, 0xc100, 0xffff] }, // flags (mcc_en, signed)
  { type: SectionType.IMAGE_INFO, offset: 0x04, length: 2, values: [0, 13, 14, 15, 0xffff] }, // FW major
  { type: SectionType.IMAGE_INFO, offset: 0x08, length: 2, values: [0, 14, 25, 32, 99, 100, 0xffff] }, // FW minor
  { type: SectionType.IMAGE_INFO, offset: 0x0a, length: 2, values: [0, 1020, 1100, 1908, 9999, 0xffff] }, // FW subminor
  { type: SectionType.IMAGE_INFO, offset: 0x0c, length: 8 }, // release date/time BCD
  { type: SectionType.IMAGE_INFO, offset: 0x24, length: 16, text: true }, // PSID
  { type: SectionType.IMAGE_INFO, offset: 0x38, length: 208, text: true }, // VSD
  { type: SectionType.IMAGE_INFO, offset: 0x108, length: 4, values: [0, 0x80000000, 0x80000016, 0x17, 0xffffffff] }, // run_from_any, log_step
  { type: SectionType.IMAGE_INFO, offset: 0x10c, length: 4, values: [0, 0x400000, 0xffffffff] }, // max_size
  { type: SectionType.IMAGE_INFO, offset: 0x118, length: 4, values: [0, 0x20b, 0x209, 0x1020b, 0xffffffff] }, // supported_hw_id[0]
  { type: SectionType.IMAGE_INFO, offset: 0x11c, length: 4, values: [0, 0x20b, 0x209] }, // supported_hw_id[1]
  { type: SectionType.IMAGE_INFO, offset: 0x12c, length: 4, values: [0, 0x7fffffff, 0xffffffff] }, // burn_image_size
  { type: SectionType.IMAGE_INFO, offset: 0x1c0, length: 16, text: true }, // product version
  { type: SectionType.IMAGE_INFO, offset: 0x1d0, length: 256, text: true }, // description
  { type: SectionType.IMAGE_INFO, offset: 0x314, length: 4, values: [0, 0xfff00000, 0x00200000] }, // ISFU
  { type: SectionType.IMAGE_INFO, offset: 0x340, length: 64, text: true }, // part number
  { type: SectionType.IMAGE_INFO, offset: 0x380, length: 128, text: true }, // PRS name
  { type: SectionType.DEV_INFO, offset: 0x00, length: 16 }, // signature
  { type: SectionType.DEV_INFO, offset: 0x10, length: 4, values: [0, 0x200, 0x1ff00, 0xffffffff] }, // versions
  { type: SectionType.DEV_INFO, offset: 0x20, length: 16 }, // GUID uid entry
  { type: SectionType.DEV_INFO, offset: 0x30, length: 16 }, // MAC uid entry
  { type: SectionType.DEV_INFO, offset: 0x70, length: 208, text: true }, // device VSD
  { type: SectionType.MFG_INFO, offset: 0x00, length: 16, text: true }, // PSID
  { type: SectionType.MFG_INFO, offset: 0x1c, length: 4, values: [0, 0x01000001, 0xffffffff] }, // versions, guids_override_en
  { type: SectionType.MFG_INFO, offset: 0x20, length: 16 }, // orig GUID
  { type: SectionType.MFG_INFO, offset: 0x30, length: 16 }, // orig MAC
  { type: SectionType.MFG_INFO, offset: 0x60, length: 64, text: true }, // orig PRS name
];

const TEXTS = ['MT_2420110034', 'MT_0000000999', 'HPE3230110035', '', 'x'];

function presetBytes(p: Preset): fc.Arbitrary<number[]> {
  const arbs: fc.Arbitrary<number[]>[] = [fc.array(fc.integer({ min: 0, max: 255 }), { minLength: p.length, maxLength: p.length })];
  if (p.values) arbs.push(fc.constantFrom(...p.values).map((v) => be(v, p.length)));
  if (p.text) {
    arbs.push(fc.constantFrom(...TEXTS).map((s) => asciiBytes(s, p.length)));
    arbs.push(fc.constantFrom(0x41, 0xff, 0x80).map((b) => Array<number>(p.length).fill(b))); // no terminator
  }
  return fc.oneof(...arbs);
}

// ---- arbitraries --------------------------------------------------------------------------------

const mask = fc.integer({ min: 1, max: 255 });
const anyPick = fc.nat({ max: 63 });

/** Interesting 32-bit values for any word. */
function interestingWords(map: ImageMap): fc.Arbitrary<number> {
  return fc.oneof(
    fc.constantFrom(0, 1, 4, 0x20, 0x1000, 0x7fffffff, 0x80000000, 0xffffffff, map.length, map.length + 4, map.length >>> 2, 0x400000, 0xfa0000, 0x3fffff),
    fc.nat({ max: 0xffffffff }),
  );
}

/** Lengths near every structure boundary, or anywhere. */
function truncationLength(map: ImageMap): fc.Arbitrary<number> {
  const marks = new Set<number>([0, 1, 0x10, 0x24, 0x28, 0x38, 0x40]);
  for (const r of REGIONS) if (r !== 'anywhere') for (const [a, n] of regionRanges(map, r)) (marks.add(a), marks.add(a + n));
  const list = [...marks].filter((x) => x >= 0 && x <= map.length).sort((a, b) => a - b);
  return fc.oneof(
    fc.tuple(fc.constantFrom(...list), fc.integer({ min: -8, max: 8 })).map(([m, d]) => Math.max(0, Math.min(map.length, m + d))),
    fc.nat({ max: map.length }),
  );
}

function entryValue(map: ImageMap, field: EntryField): fc.Arbitrary<number> {
  const rel = (abs: number) => abs - map.start;
  switch (field) {
    case 'type':
      return fc.oneof(
        fc.constantFrom(SectionType.END, SectionType.ITOC, SectionType.DTOC, SectionType.IMAGE_INFO, SectionType.DEV_INFO, SectionType.MFG_INFO, SectionType.MAIN_CODE, 0xa0, 0xa1, 0),
        fc.nat({ max: 255 }),
      );
    case 'sizeDwords':
      return fc.oneof(fc.constantFrom(0, 1, 2, 0x100, 0x100000, 0x3fffff, map.length >>> 2, (map.length >>> 2) + 1), fc.nat({ max: 0x3fffff }));
    case 'address':
      // bytes; the entry keeps dwords
      return fc.oneof(
        fc.constantFrom(
          0,
          rel(map.itocAt),
          rel(map.endAt),
          map.length,
          map.length + 0x1000,
          0x400000,
          0x800000,
          0xfa0000,
          0x1000000,
          0x7ffffffc,
          ...map.sections.map((s) => (s.relative ? s.address : s.address)),
          ...map.sections.map((s) => rel(s.entryAt)),
        ),
        fc.nat({ max: 0x7ffffffc }).map((v) => v & ~3),
      );
    case 'sectionCrc':
      return fc.nat({ max: 0xffff });
    default:
      return fc.constant(1); // flag fields: the bit is toggled
  }
}

/** A byte position: mostly inside one of the structures, sometimes anywhere. */
function position(map: ImageMap): fc.Arbitrary<number> {
  const ranges = REGIONS.filter((r) => r !== 'anywhere').flatMap((r) => regionRanges(map, r)).filter(([a, n]) => n > 0 && a < map.length);
  return fc.oneof(
    { arbitrary: fc.constantFrom(...ranges).chain(([a, n]) => fc.nat({ max: Math.min(n, map.length - a) - 1 }).map((o) => a + o)), weight: 3 },
    { arbitrary: fc.nat({ max: map.length - 1 }), weight: 1 },
  );
}

export interface ArbOptions {
  /** Weight of CRC-fixed edits (which keep the image verifying), default 1. */
  validWeight?: number;
}

export function mutationArb(map: ImageMap, opts: ArbOptions = {}): fc.Arbitrary<Mutation> {
  const n = map.sections.length;
  const vw = opts.validWeight ?? 1;
  const region = fc.constantFrom(...REGIONS.filter((r) => regionRanges(map, r).length > 0));
  const presets = PRESETS.filter((p) => map.sections.some((s) => s.type === p.type && s.size >= p.offset + p.length && s.dataAt + s.size <= map.length));
  const single: { arbitrary: fc.Arbitrary<Mutation>; weight: number }[] = [];
  const add = (weight: number, arbitrary: fc.Arbitrary<Mutation>): void => {
    single.push({ arbitrary, weight });
  };

  add(6, truncationLength(map).map((length) => ({ kind: 'truncate', length })));
  add(10, fc.record({ kind: fc.constant('flip' as const), region, pick: anyPick, offset: fc.nat({ max: 0xffffff }), mask }));
  add(3, fc.record({ kind: fc.constant('flips' as const), flips: fc.array(fc.record({ at: position(map), mask }), { minLength: 1, maxLength: 8 }) }));
  add(2, fc.record({ kind: fc.constant('fill' as const), region, pick: anyPick, byte: fc.constantFrom(0, 0xff, 0x5a) }));
  add(4, fc.record({ kind: fc.constant('word' as const), region, pick: anyPick, offset: fc.nat({ max: 0xffffff }), value: interestingWords(map) }));
  add(2, fc.record({ kind: fc.constant('splat' as const), at: position(map), bytes: fc.array(fc.nat({ max: 255 }), { minLength: 1, maxLength: 64 }) }));
  add(
    8 + 4 * vw,
    fc
      .constantFrom(...ENTRY_FIELDS)
      .chain((field) =>
        fc.record({
          kind: fc.constant('entry' as const),
          pick: fc.nat({ max: Math.max(0, n - 1) }),
          field: fc.constant(field),
          value: entryValue(map, field),
          fix: fc.constantFrom<Fix>('none', 'entry', 'both', 'both'),
        }),
      ),
  );
  if (n >= 2) {
    const two = fc.tuple(fc.nat({ max: n - 1 }), fc.nat({ max: n - 1 })).filter(([a, b]) => a !== b);
    add(2, two.map(([a, b]) => ({ kind: 'swapEntries', a, b })));
    add(3, fc.tuple(two, fc.constantFrom('contents' as const, 'pointers' as const, 'types' as const)).map(([[a, b], how]) => ({ kind: 'swapSections', a, b, how })));
  }
  add(
    6,
    fc.record({
      kind: fc.constant('itoc' as const),
      variant: fc.constantFrom('noEnd' as const, 'self' as const, 'header' as const, 'overlap' as const, 'relocated' as const, 'lostSignature' as const, 'numEntries' as const, 'headerCrc' as const),
      pick: fc.nat({ max: Math.max(0, n - 1) }),
      other: fc.nat({ max: Math.max(0, n - 1) }),
      value: fc.nat({ max: 255 }),
    }),
  );
  const u8s = (vals: number[]) => fc.option(fc.oneof(fc.constantFrom(...vals), fc.nat({ max: 255 })), { nil: undefined });
  add(
    4,
    fc
      .record({ format: u8s([0, 2, 3, 4]), log2Chunk: u8s([0, 0x15, 0x16, 0x17, 0x18, 0x1f, 0x20]), binMajor: u8s([0, 1, 2]), binMinor: u8s([0, 1, 2]) })
      .map((r) => {
        const m: Mutation = { kind: 'bootWord' };
        for (const [k, v] of Object.entries(r)) if (v !== undefined) (m as Record<string, unknown>)[k] = v;
        return m;
      }),
  );
  const n0 = (map.boot2Length >>> 2) - 4;
  add(3, fc.record({ kind: fc.constant('boot2Size' as const), n: fc.oneof(fc.constantFrom(0, 3, 4, 5, n0 - 1, n0 + 1, 0x100000, 0x100001, 0xffffffff, map.length >>> 2), fc.nat({ max: 0x100000 })), fixCrc: fc.boolean() }));
  if (presets.length > 0) {
    add(
      4 + 8 * vw,
      fc
        .constantFrom(...presets)
        .chain((p) => fc.record({ kind: fc.constant('info' as const), type: fc.constant(p.type), offset: fc.constant(p.offset), bytes: presetBytes(p), fix: fc.oneof({ arbitrary: fc.constant(true), weight: 4 }, { arbitrary: fc.constant(false), weight: 1 }) })),
    );
  }
  add(1, fc.record({ kind: fc.constant('shift' as const), at: position(map), delta: fc.oneof(fc.integer({ min: -64, max: 64 }), fc.constantFrom(-0x1000, 0x1000)).filter((d) => d !== 0) }));

  const singleArb = fc.oneof(...single);
  const combo = fc.array(singleArb, { minLength: 2, maxLength: 3 }).map((steps): Mutation => ({ kind: 'combo', steps }));
  return fc.oneof({ arbitrary: singleArb, weight: 9 }, { arbitrary: combo, weight: 1 });
}

// ---- applying -----------------------------------------------------------------------------------

/**
 * One working copy of a base image; apply() mutates it in place and returns the view to test
 * (shorter for a truncation), undo() restores the base. Not re-entrant: undo before the next apply.
 */
export class Workbench {
  readonly buf: Uint8Array;
  private saved: { at: number; bytes: Uint8Array }[] = [];
  private view: number;

  constructor(
    base: Uint8Array,
    readonly map: ImageMap,
  ) {
    this.buf = Uint8Array.from(base);
    this.view = base.length;
  }

  /** Apply `m`; returns the bytes to test (valid until undo()). */
  apply(m: Mutation): Uint8Array {
    if (this.saved.length) throw new Error('Workbench: undo() first');
    this.view = this.buf.length;
    this.run(m);
    return this.buf.subarray(0, this.view);
  }

  /** A copy of `base` with `m` applied (for the CLI and anything that keeps the bytes). */
  materialize(m: Mutation): Uint8Array {
    const out = this.apply(m).slice();
    this.undo();
    return out;
  }

  undo(): void {
    for (let i = this.saved.length - 1; i >= 0; i--) this.buf.set(this.saved[i]!.bytes, this.saved[i]!.at);
    this.saved = [];
    this.view = this.buf.length;
  }

  // -- primitives (all clamp to the buffer) --
  private write(at: number, bytes: ArrayLike<number>): void {
    const end = Math.min(this.buf.length, at + bytes.length);
    if (at < 0 || at >= end) return;
    this.saved.push({ at, bytes: this.buf.slice(at, end) });
    if (bytes instanceof Uint8Array) this.buf.set(bytes.subarray(0, end - at), at);
    else for (let i = at; i < end; i++) this.buf[i] = bytes[i - at]!;
  }
  private u8(at: number): number {
    return this.buf[at] ?? 0;
  }
  private u32(at: number): number {
    if (at < 0 || at + 4 > this.buf.length) return 0;
    return ((this.buf[at]! << 24) | (this.buf[at + 1]! << 16) | (this.buf[at + 2]! << 8) | this.buf[at + 3]!) >>> 0;
  }
  private setU16(at: number, v: number): void {
    this.write(at, [(v >>> 8) & 0xff, v & 0xff]);
  }
  private setU32(at: number, v: number): void {
    this.write(at, [(v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff]);
  }
  private crc(at: number, dwords: number): number | undefined {
    if (at < 0 || at + dwords * 4 > this.view) return undefined;
    return crc16(this.buf, at, dwords);
  }

  /** Recompute the entry CRC (and first the section CRC over where the entry points now). */
  private fixEntry(entryAt: number, section: boolean): void {
    if (section) {
      const dw0 = this.u32(entryAt);
      const dw5 = this.u32(entryAt + 0x14);
      const sizeDwords = (dw0 >>> 2) & 0x3fffff;
      const addr = (dw5 & 0x7ffffffc) >>> 0;
      const at = dw5 >>> 31 ? this.map.start + addr : addr;
      const c = this.crc(at, sizeDwords);
      if (c !== undefined) this.setU16(entryAt + 0x1a, c);
    }
    const c = this.crc(entryAt, 7);
    if (c !== undefined) this.setU16(entryAt + 0x1e, c);
  }

  private fixHeader(): void {
    const c = this.crc(this.map.itocAt, 7);
    if (c !== undefined) this.setU16(this.map.itocAt + 0x1e, c);
  }

  private range(region: Region, pick: number): [number, number] | undefined {
    const rs = regionRanges(this.map, region).filter(([a]) => a < this.buf.length);
    if (rs.length === 0) return undefined;
    const [a, len] = rs[pick % rs.length]!;
    return [a, Math.min(len, this.buf.length - a)];
  }

  private section(i: number) {
    return this.map.sections[i % Math.max(1, this.map.sections.length)];
  }

  private run(m: Mutation): void {
    const map = this.map;
    switch (m.kind) {
      case 'truncate':
        this.view = Math.min(this.view, m.length);
        return;
      case 'flip': {
        const r = this.range(m.region, m.pick);
        if (!r || r[1] === 0) return;
        const at = r[0] + (m.offset % r[1]);
        this.write(at, [this.u8(at) ^ m.mask]);
        return;
      }
      case 'flips':
        for (const f of m.flips) this.write(f.at % this.buf.length, [this.u8(f.at % this.buf.length) ^ f.mask]);
        return;
      case 'fill': {
        const r = this.range(m.region, m.pick);
        if (r) this.write(r[0], new Uint8Array(Math.min(r[1], 0x40000)).fill(m.byte));
        return;
      }
      case 'word': {
        const r = this.range(m.region, m.pick);
        if (!r || r[1] < 4) return;
        this.setU32(r[0] + ((m.offset % (r[1] - 3)) & ~3), m.value);
        return;
      }
      case 'splat':
        this.write(m.at, m.bytes);
        return;
      case 'entry': {
        const s = this.section(m.pick);
        if (!s) return;
        const e = s.entryAt;
        const v = m.value;
        // flag fields: value 1 toggles the bit
        const setBit = (off: number, bit: number, toggle: number) => this.setU32(e + off, (this.u32(e + off) ^ (toggle ? 1 << bit : 0)) >>> 0);
        switch (m.field) {
          case 'type':
            this.write(e, [v & 0xff]);
            break;
          case 'sizeDwords':
            this.setU32(e, ((this.u32(e) & 0xff000003) | ((v & 0x3fffff) << 2)) >>> 0);
            break;
          case 'address':
            this.setU32(e + 0x14, ((this.u32(e + 0x14) & 0x80000003) | (v & 0x7ffffffc)) >>> 0);
            break;
          case 'relative':
            setBit(0x14, 31, v);
            break;
          case 'zipped':
            setBit(0x04, 31, v);
            break;
          case 'encrypted':
            setBit(0x18, 31, v);
            break;
          case 'deviceData':
            setBit(0x18, 17, v);
            break;
          case 'noCrc':
            setBit(0x18, 16, v);
            break;
          case 'sectionCrc':
            this.setU16(e + 0x1a, v);
            break;
        }
        if (m.fix !== 'none') this.fixEntry(e, m.fix === 'both');
        return;
      }
      case 'swapEntries': {
        const a = this.section(m.a)!;
        const b = this.section(m.b)!;
        const ea = this.buf.slice(a.entryAt, a.entryAt + 0x20);
        const eb = this.buf.slice(b.entryAt, b.entryAt + 0x20);
        this.write(a.entryAt, eb);
        this.write(b.entryAt, ea);
        return;
      }
      case 'swapSections': {
        const a = this.section(m.a)!;
        const b = this.section(m.b)!;
        if (m.how === 'contents') {
          const n = Math.min(a.size, b.size, Math.max(0, this.buf.length - a.dataAt), Math.max(0, this.buf.length - b.dataAt));
          if (n <= 0) return;
          const da = this.buf.slice(a.dataAt, a.dataAt + n);
          const db = this.buf.slice(b.dataAt, b.dataAt + n);
          this.write(a.dataAt, db);
          this.write(b.dataAt, da);
        } else if (m.how === 'pointers') {
          // swap size, address and section CRC: each entry now describes the other's bytes
          const wa = [this.u32(a.entryAt), this.u32(a.entryAt + 0x14), this.u32(a.entryAt + 0x18)];
          const wb = [this.u32(b.entryAt), this.u32(b.entryAt + 0x14), this.u32(b.entryAt + 0x18)];
          this.setU32(a.entryAt, ((wa[0]! & 0xff000000) | (wb[0]! & 0x00ffffff)) >>> 0);
          this.setU32(b.entryAt, ((wb[0]! & 0xff000000) | (wa[0]! & 0x00ffffff)) >>> 0);
          this.setU32(a.entryAt + 0x14, wb[1]!);
          this.setU32(b.entryAt + 0x14, wa[1]!);
          this.setU32(a.entryAt + 0x18, wb[2]!);
          this.setU32(b.entryAt + 0x18, wa[2]!);
          this.fixEntry(a.entryAt, false);
          this.fixEntry(b.entryAt, false);
        } else {
          const ta = this.u8(a.entryAt);
          this.write(a.entryAt, [this.u8(b.entryAt)]);
          this.write(b.entryAt, [ta]);
          this.fixEntry(a.entryAt, false);
          this.fixEntry(b.entryAt, false);
        }
        return;
      }
      case 'itoc': {
        const s = this.section(m.pick);
        const o = this.section(m.other);
        switch (m.variant) {
          case 'noEnd': {
            // no END entry: valid copies of entries up to the 64-entry limit
            for (let i = map.sections.length; i < 64; i++) {
              const src = this.section(m.pick + i)!;
              this.write(map.itocAt + 0x20 * (i + 1), this.buf.slice(src.entryAt, src.entryAt + 0x20));
            }
            this.write(map.itocAt + 0x20 * 65, new Uint8Array(0x20).fill(m.value === 0xff ? 0xfe : m.value));
            return;
          }
          case 'self':
            // the entry's section is the entry itself (8 dwords at its own offset)
            if (!s) return;
            this.setU32(s.entryAt, ((this.u32(s.entryAt) & 0xff000003) | (8 << 2)) >>> 0);
            this.setU32(s.entryAt + 0x14, (0x80000000 | ((s.entryAt - map.start) & 0x7ffffffc)) >>> 0);
            this.fixEntry(s.entryAt, true);
            return;
          case 'header':
            // the entry's section is the ITOC header and entries
            if (!s) return;
            this.setU32(s.entryAt, ((this.u32(s.entryAt) & 0xff000003) | ((8 * (map.sections.length + 2)) << 2)) >>> 0);
            this.setU32(s.entryAt + 0x14, (0x80000000 | ((map.itocAt - map.start) & 0x7ffffffc)) >>> 0);
            this.fixEntry(s.entryAt, true);
            return;
          case 'overlap':
            // the entry points into another section's bytes (its own size kept)
            if (!s || !o) return;
            this.setU32(s.entryAt + 0x14, ((this.u32(o.entryAt + 0x14) & 0xfffffffc) + ((m.value * 4) & 0x3fc)) >>> 0);
            this.fixEntry(s.entryAt, true);
            return;
          case 'relocated': {
            // the ITOC copied to a later 4 KiB step (over code), the original signature lost:
            // the search walks on and finds the copy
            const to = map.itocAt + 0x1000 * (1 + (m.value % 8));
            const len = 0x20 * (map.sections.length + 2);
            this.write(to, this.buf.slice(map.itocAt, map.itocAt + len));
            this.write(map.itocAt, [this.u8(map.itocAt) ^ 0x20]);
            return;
          }
          case 'lostSignature':
            this.write(map.itocAt + (m.value % 16), [this.u8(map.itocAt + (m.value % 16)) ^ 0x01]);
            return;
          case 'numEntries':
            this.write(map.itocAt + 0x17, [m.value]);
            this.fixHeader();
            return;
          case 'headerCrc':
            this.setU16(map.itocAt + 0x1e, (this.u32(map.itocAt + 0x1c) + 1 + m.value) & 0xffff);
            return;
        }
        return;
      }
      case 'bootWord': {
        const at = map.start + 0x24;
        this.write(at, [m.format ?? this.u8(at), m.log2Chunk ?? this.u8(at + 1), m.binMajor ?? this.u8(at + 2), m.binMinor ?? this.u8(at + 3)]);
        return;
      }
      case 'boot2Size': {
        const b2 = map.start + 0x38;
        this.setU32(b2 + 4, m.n >>> 0);
        if (m.fixCrc && m.n >= 4 && m.n <= 0x100000) {
          const c = this.crc(b2, m.n + 3);
          if (c !== undefined) this.setU32(b2 + (m.n + 3) * 4, c);
        }
        return;
      }
      case 'info': {
        const s = map.sections.find((x) => x.type === m.type && x.size >= m.offset + m.bytes.length);
        if (!s) return;
        this.write(s.dataAt + m.offset, m.bytes);
        if (m.fix) this.fixEntry(s.entryAt, true);
        return;
      }
      case 'shift': {
        // bytes inserted (0xFF) or deleted at `at`; what follows moves within a 1 MiB window
        const at = m.at % this.buf.length;
        const tail = this.buf.slice(at, Math.min(this.buf.length, at + 0x100000));
        if (m.delta > 0) {
          const moved = new Uint8Array(tail.length);
          moved.fill(0xff, 0, Math.min(m.delta, tail.length));
          moved.set(tail.subarray(0, Math.max(0, tail.length - m.delta)), Math.min(m.delta, tail.length));
          this.write(at, moved);
        } else {
          const moved = new Uint8Array(tail.length).fill(0xff);
          moved.set(tail.subarray(Math.min(-m.delta, tail.length)));
          this.write(at, moved);
        }
        return;
      }
      case 'combo':
        for (const step of m.steps) this.run(step);
        return;
    }
  }
}

// ---- the checks every path shares -----------------------------------------------------------------

/** A small ConnectX-4 Lx section set: the same structure, ~60 KiB of payload (fast CRCs). */
export const SMALL_SECTIONS = [
  { type: SectionType.FW_MAIN_CFG, size: 0x0c40 },
  { type: SectionType.HW_BOOT_CFG, size: 0x0140 },
  { type: SectionType.PCI_CODE, size: 0x2000 },
  { type: SectionType.MAIN_CODE, size: 0x6000 },
  { type: SectionType.DBG_FW_INI, size: 0x800 },
];

/** A typed error with its code's exit status, or a thrown test failure naming what escaped. */
export function typedCode(e: unknown, where: string): string {
  if (!(e instanceof Fs3BurnError)) {
    const err = e as Error;
    throw new Error(`${where}: untyped ${err?.name ?? typeof e}: ${err?.message ?? String(e)}\n${err?.stack ?? ''}`);
  }
  if (ErrorCodes[e.code] !== e.exitCode) throw new Error(`${where}: ${e.code} has exit status ${e.exitCode}, its table says ${ErrorCodes[e.code]}`);
  if (e.code === 'INTERNAL') throw new Error(`${where}: INTERNAL: ${e.message}`);
  if (!e.message) throw new Error(`${where}: ${e.code} without a message`);
  return e.code;
}

/** Reads through here fail the case past a budget: a parser loop that keeps reading is a hang. */
export function boundedSource(bytes: Uint8Array, maxCalls = 200_000, maxBytes = 1 << 30): ByteSource {
  let calls = 0;
  let total = 0;
  return {
    length: bytes.length,
    bytes(offset: number, len: number): Uint8Array {
      calls++;
      total += len;
      if (calls > maxCalls || total > maxBytes) throw new Error(`HANG: the parser read ${calls} times / ${total} bytes of a ${bytes.length}-byte image`);
      return bytes.subarray(offset, offset + len);
    },
  };
}

/** What `fs3burn -i FILE q` and `v` do with `bytes`, in-process; returns the two outcomes. */
export function imageCase(bytes: Uint8Array): { query: string; verify: string } {
  const src = boundedSource(bytes);
  try {
    requireFs3(src, 'mutant');
  } catch (e) {
    const c = typedCode(e, 'requireFs3');
    return { query: c, verify: c };
  }
  let query: string;
  let parsedOk = false;
  try {
    const img = parseFs3(src);
    parsedOk = true;
    if (img.entries.some((e) => !e.inBounds)) query = 'IMAGE_CORRUPT'; // the CLI's truncation refusal
    else {
      const q = describeImage(img);
      formatQuery(q, true);
      formatQuery(q, false);
      JSON.stringify(q);
      query = 'OK';
    }
  } catch (e) {
    query = typedCode(e, 'query');
  }
  let verify: string;
  let report;
  try {
    report = verifyFs3(src); // reports; throws (typed) only where the header itself is cut
  } catch (e) {
    return { query, verify: typedCode(e, 'verify') };
  }
  formatVerify(report);
  if (report.bootable) {
    verify = 'OK';
    // whatever verify calls bootable, the parser must read (verify checks IMAGE_INFO's format too)
    if (!parsedOk) throw new Error(`verify says bootable but parse failed (${query})`);
  } else {
    verifyFailureLine(report);
    if (!report.code || !(report.code in ErrorCodes)) throw new Error(`verify failed without a known code: ${report.code}`);
    verify = report.code;
  }
  return { query, verify };
}

// ---- seeds and tallies --------------------------------------------------------------------------

/** The seed of a fuzz run: FS3BURN_FUZZ_SEED, else a fixed one (CI runs are reproducible). */
export function fuzzSeed(fallback: number): number {
  const s = process.env.FS3BURN_FUZZ_SEED;
  return s !== undefined && /^-?\d+$/.test(s) ? Number(s) : fallback;
}

/** FS3BURN_LONG=1 multiplies every count. */
export const LONG = process.env.FS3BURN_LONG === '1';

export class Tally {
  private readonly m = new Map<string, number>();
  add(key: string, n = 1): void {
    this.m.set(key, (this.m.get(key) ?? 0) + n);
  }
  get(key: string): number {
    return this.m.get(key) ?? 0;
  }
  keys(): string[] {
    return [...this.m.keys()];
  }
  total(): number {
    let t = 0;
    for (const v of this.m.values()) t += v;
    return t;
  }
  toString(): string {
    return [...this.m.entries()]
      .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
      .map(([k, v]) => `${String(v).padStart(6)}  ${k}`)
      .join('\n');
  }
}
