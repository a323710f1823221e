/**
 * The SPI NOR flash of the card (§7: 16 MiB, 4 KiB sectors, 3-byte addressing; §4.2: 256 B
 * pages). Storage and the physics of NOR only: an erase sets a block to 0xFF, a program can
 * only clear bits (new = old AND data), and a page program wraps inside its 256-byte page
 * like a real chip (bytes past the page end land at its start; with more than 256 bytes the
 * last 256 win). Who may program, and what it costs, is the model's business (model.ts).
 */
import { PAGE_SIZE, SECTOR_SIZE, SR_BP_MASK } from './constants.js';

export interface FlashCounters {
  /** Erase operations by block size (bytes → count). */
  erases: Record<string, number>;
  /** Page-program operations (one per page touched). */
  pagePrograms: number;
  /** Bytes sent to page programs. */
  bytesProgrammed: number;
  /** Programs and erases refused because the flash is write-protected. */
  refused: number;
  /** Bytes read. */
  bytesRead: number;
  /** Every erase or program operation that reached the chip, done or refused. */
  writeOps: number;
}

export class SpiFlash {
  readonly size: number;
  readonly jedecId: number;
  readonly data: Uint8Array;
  /** SPI status register: bit 0 WIP, bit 1 WEL (kept by the SPI engine), bits 6:2 block protect. */
  statusRegister = 0;
  readonly counters: FlashCounters = {
    erases: {},
    pagePrograms: 0,
    bytesProgrammed: 0,
    refused: 0,
    bytesRead: 0,
    writeOps: 0,
  };

  constructor(jedecId: number, initial?: Uint8Array) {
    const density = (jedecId >>> 16) & 0xff;
    if (density < 16 || density > 26) throw new Error(`JEDEC id 0x${jedecId.toString(16)}: unsupported density 0x${density.toString(16)}`);
    this.jedecId = jedecId;
    this.size = 1 << density;
    this.data = new Uint8Array(this.size).fill(0xff);
    if (initial) {
      if (initial.length > this.size) throw new Error(`initial flash contents (${initial.length} B) exceed the flash size (${this.size} B)`);
      this.data.set(initial);
    }
  }

  /** Block protection on (any BP bit set protects the whole chip: model simplification). */
  get writeProtected(): boolean {
    return (this.statusRegister & SR_BP_MASK) !== 0;
  }
  set writeProtected(on: boolean) {
    this.statusRegister = on ? this.statusRegister | 0x1c : this.statusRegister & ~SR_BP_MASK;
  }

  private check(addr: number, len: number): void {
    if (!Number.isInteger(addr) || !Number.isInteger(len) || addr < 0 || len < 0 || addr + len > this.size) {
      throw new RangeError(`flash access [0x${addr.toString(16)}, +0x${len.toString(16)}) outside the ${this.size}-byte flash`);
    }
  }

  /** A copy of `len` bytes at `addr`. */
  read(addr: number, len: number): Uint8Array {
    this.check(addr, len);
    this.counters.bytesRead += len;
    return this.data.slice(addr, addr + len);
  }

  /** A copy of the whole flash. */
  dump(): Uint8Array {
    return this.data.slice();
  }

  /**
   * Erase the `size`-byte block containing `addr` (4 KiB, 32 KiB, 64 KiB, or the chip).
   * `fraction` < 1 models an interrupted erase: only the first part of the block is erased.
   * Returns false (and changes nothing) when write-protected.
   */
  erase(addr: number, size: number = SECTOR_SIZE, fraction = 1): boolean {
    if (![SECTOR_SIZE, 0x8000, 0x10000, this.size].includes(size)) throw new RangeError(`bad erase size 0x${size.toString(16)}`);
    this.check(addr, 0);
    this.counters.writeOps++;
    if (this.writeProtected) {
      this.counters.refused++;
      return false;
    }
    const base = addr - (addr % size);
    const n = Math.floor(size * Math.max(0, Math.min(1, fraction)));
    this.data.fill(0xff, base, base + n);
    const key = size === this.size ? 'chip' : `${size / 1024}k`;
    this.counters.erases[key] = (this.counters.erases[key] ?? 0) + 1;
    return true;
  }

  /**
   * One page program: AND `bytes` into the page of `addr`, wrapping inside the page.
   * `keep` < bytes.length models an interrupted program: only the first `keep` bytes land.
   * Returns false (and changes nothing) when write-protected.
   */
  programPage(addr: number, bytes: Uint8Array, keep = bytes.length): boolean {
    this.check(addr, 0);
    this.counters.writeOps++;
    if (this.writeProtected) {
      this.counters.refused++;
      return false;
    }
    const page = addr - (addr % PAGE_SIZE);
    const buf = new Uint8Array(PAGE_SIZE).fill(0xff);
    const n = Math.min(keep, bytes.length);
    for (let i = 0; i < n; i++) buf[(addr + i) % PAGE_SIZE] = bytes[i]!;
    for (let i = 0; i < PAGE_SIZE; i++) this.data[page + i]! &= buf[i]!;
    this.counters.pagePrograms++;
    this.counters.bytesProgrammed += bytes.length;
    return true;
  }

  /**
   * Program `bytes` at `addr`, split at page boundaries into page programs (what a FW or a
   * careful host does). Returns false if any page was refused.
   */
  program(addr: number, bytes: Uint8Array): boolean {
    this.check(addr, bytes.length);
    let ok = true;
    let i = 0;
    while (i < bytes.length) {
      const a = addr + i;
      const n = Math.min(PAGE_SIZE - (a % PAGE_SIZE), bytes.length - i);
      ok = this.programPage(a, bytes.subarray(i, i + n)) && ok;
      i += n;
    }
    return ok;
  }

  /** Replace the whole contents (state files). */
  load(contents: Uint8Array): void {
    if (contents.length !== this.size) throw new Error(`flash image is ${contents.length} B, the flash is ${this.size} B`);
    this.data.set(contents);
  }
}
