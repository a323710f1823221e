/**
 * Direct flash access through the 5th-gen HW gateway in CR space (§4.2): HW lock (bit 31),
 * BUSY polling (bit 30), SPI transactions of up to 16 data bytes, page program in 16 × 16-B
 * transactions with CS_HOLD, RDSR WIP polling, 4 KiB erase, JEDEC id, READ. Every cmd write
 * keeps bit 31 = 1 (CX4+, `cntx_exec_cmd`); unlock = write 0. While locked, cache
 * replacement (0xF0420 bit 0) is off (`connectib_flash_lock`).
 */
import { Fs3BurnError } from '../errors.js';
import type { AddressSpaceAccess } from '../transport/mst/address-space.js';
import { realClock, type Clock } from '../vsec/clock.js';
import { Space } from '../vsec/constants.js';
import { checkRange, checkSectorAligned, closedError, forEachWindow } from './checks.js';
import {
  CMD_ADDR4,
  CMD_ADDR_PHASE,
  CMD_BUSY,
  CMD_CMD_PHASE,
  CMD_CS_HOLD,
  CMD_DATA_PHASE,
  CMD_LOCK,
  CMD_OPCODE_SHIFT,
  CMD_READ,
  CMD_SIZE_SHIFT,
  DEFAULT_BUSY_POLLS,
  DEFAULT_LOCK_TRIES,
  ERASE_WIP,
  GW_ADDR,
  GW_CACHE_REP_EN,
  GW_CMD,
  GW_DATA,
  GW_DATA_BYTES,
  LOCK_RETRY_MS,
  NO_FLASH_VALUE,
  PAGE_SIZE,
  PROGRAM_WIP,
  SR_BP_MASK,
  SR_WIP,
  Spi,
} from './gateway-constants.js';
import { emptyFlashStats, SECTOR_SIZE, type FlashAccess, type FlashStats } from './types.js';

export interface GatewayFlashOptions {
  clock?: Clock;
  /** BUSY polls per transaction (§4.2: 5000). */
  busyPolls?: number;
  /** HW lock tries (§4.2: 1024, 1 ms apart). */
  lockTries?: number;
  /** Scale the WIP polling budgets (tests); 1 = §4.2's. */
  wipTriesScale?: number;
  stats?: FlashStats;
}

interface Txn {
  opcode: number;
  cmdPhase?: boolean;
  addr?: number;
  /** Bytes to send (≤ 16, a power of two) or a count to read. */
  write?: Uint8Array;
  read?: number;
  csHold?: boolean;
}

function log2Size(n: number): number {
  const l = Math.log2(n);
  if (!Number.isInteger(l) || l < 0 || n > GW_DATA_BYTES) throw new RangeError(`gateway data size ${n} must be a power of two ≤ 16`);
  return l;
}

export class GatewayFlashAccess implements FlashAccess {
  readonly method = 'gateway' as const;
  readonly blockSize = PAGE_SIZE;
  readonly sectorSize = SECTOR_SIZE;
  readonly stats: FlashStats;
  private readonly clock: Clock;
  private readonly busyPolls: number;
  private readonly lockTries: number;
  private jedec: number | undefined;
  private depth = 0;
  private savedCacheRep = 0;
  private closed = false;

  constructor(
    private readonly access: AddressSpaceAccess,
    private readonly opts: GatewayFlashOptions = {},
  ) {
    this.clock = opts.clock ?? realClock;
    this.busyPolls = opts.busyPolls ?? DEFAULT_BUSY_POLLS;
    this.lockTries = opts.lockTries ?? DEFAULT_LOCK_TRIES;
    this.stats = opts.stats ?? emptyFlashStats();
  }

  private rd(addr: number): number {
    return this.access.readSpace32(Space.CR, addr) >>> 0;
  }
  private wr(addr: number, v: number): void {
    this.access.writeSpace32(Space.CR, addr, v >>> 0);
  }

  /** JEDEC id as density<<16 | type<<8 | vendor (read once). */
  get jedecId(): number {
    if (this.jedec === undefined) this.locked(() => undefined);
    return this.jedec!;
  }

  /** 1 << density from the JEDEC id. */
  get size(): number | undefined {
    const d = this.jedec === undefined ? undefined : (this.jedec >>> 16) & 0xff;
    return d !== undefined && d >= 10 && d <= 31 ? 2 ** d : undefined;
  }

  /** Run `fn` holding the HW flash lock (reentrant), with cache replacement off. */
  locked<T>(fn: () => T): T {
    if (this.closed) throw closedError(this.method);
    if (this.depth === 0) this.lock();
    this.depth++;
    try {
      if (this.jedec === undefined) this.jedec = this.readJedec();
      return fn();
    } finally {
      this.depth--;
      if (this.depth === 0) this.unlock();
    }
  }

  /** §4.2 is4_flash_lock + connectib_flash_lock. */
  private lock(): void {
    let v = 0;
    for (let i = 1; i <= this.lockTries; i++) {
      v = this.rd(GW_CMD);
      if (v === NO_FLASH_VALUE) {
        throw new Fs3BurnError('FLASH_NOT_PRESENT', `${this.access.name}: no flash behind the HW gateway (cmd reads 0xBADACCE6)`, {
          data: { device: this.access.name },
        });
      }
      if ((v & CMD_LOCK) === 0) {
        this.savedCacheRep = this.rd(GW_CACHE_REP_EN);
        this.wr(GW_CACHE_REP_EN, this.savedCacheRep & ~1);
        this.waitNotBusy(-1);
        return;
      }
      if (i < this.lockTries) this.clock.sleep(LOCK_RETRY_MS);
    }
    throw new Fs3BurnError('FLASH_GATEWAY_LOCKED', `${this.access.name}: Can not obtain Flash semaphore (MFE_SEM_LOCKED) after ${this.lockTries} tries`, {
      hint: 'the firmware or another tool holds the flash gateway; wait and retry',
      data: { device: this.access.name, tries: this.lockTries, cmd: v },
    });
  }

  /** Restore cache replacement (set bit 0 again when it was set), then release: cmd = 0. */
  private unlock(): void {
    this.wr(GW_CACHE_REP_EN, this.savedCacheRep);
    this.wr(GW_CMD, 0);
  }

  private waitNotBusy(flashAddr: number): number {
    for (let i = 0; i < this.busyPolls; i++) {
      const v = this.rd(GW_CMD);
      if ((v & CMD_BUSY) === 0) return v;
    }
    throw new Fs3BurnError('FLASH_GATEWAY_TIMEOUT', `${this.access.name}: the flash gateway stayed busy for ${this.busyPolls} polls (MFE_TIMEOUT)`, {
      data: { device: this.access.name, polls: this.busyPolls, flashAddress: flashAddr },
    });
  }

  private get addr4(): boolean {
    return (this.size ?? 0) > 0x1000000;
  }

  /** One gateway transaction (§4.2). Returns the bytes read, if any. */
  private txn(t: Txn): Uint8Array {
    let cmd = CMD_LOCK | CMD_BUSY | ((t.opcode & 0xff) << CMD_OPCODE_SHIFT);
    if (t.cmdPhase !== false) cmd |= CMD_CMD_PHASE;
    if (t.addr !== undefined) {
      cmd |= CMD_ADDR_PHASE;
      if (this.addr4) cmd |= CMD_ADDR4;
      this.wr(GW_ADDR, t.addr);
    }
    const n = t.write?.length ?? t.read ?? 0;
    if (n > 0) {
      cmd |= CMD_DATA_PHASE | (log2Size(n) << CMD_SIZE_SHIFT);
      if (t.read) cmd |= CMD_READ;
      if (t.write) {
        const w = t.write;
        for (let d = 0; d < n / 4; d++) {
          this.wr(GW_DATA + 4 * d, ((w[4 * d]! << 24) | (w[4 * d + 1]! << 16) | (w[4 * d + 2]! << 8) | w[4 * d + 3]!) >>> 0);
        }
      }
    }
    if (t.csHold) cmd |= CMD_CS_HOLD;
    this.wr(GW_CMD, cmd);
    this.waitNotBusy(t.addr ?? -1);
    this.stats.transfers++;
    if (!t.read) return new Uint8Array(0);
    const out = new Uint8Array(n);
    for (let d = 0; d < Math.ceil(n / 4); d++) {
      const v = this.rd(GW_DATA + 4 * d);
      for (let k = 0; k < 4 && 4 * d + k < n; k++) out[4 * d + k] = (v >>> (24 - 8 * k)) & 0xff;
    }
    return out;
  }

  private readJedec(): number {
    const b = this.txn({ opcode: Spi.JEDEC, read: 4 });
    return ((b[2]! << 16) | (b[1]! << 8) | b[0]!) >>> 0; // vendor, type, density on the wire
  }

  /** The SPI status register (RDSR). */
  readStatus(): number {
    return this.locked(() => this.txn({ opcode: Spi.RDSR, read: 4 })[0]!);
  }

  private wren(): void {
    this.txn({ opcode: Spi.WREN });
  }

  private waitWip(budget: { initialUs: number; perByteUs: number; stepUs: number; tries: number }, bytes: number, op: 'program' | 'erase', addr: number): void {
    this.clock.sleep((budget.initialUs + budget.perByteUs * bytes) / 1000);
    const tries = Math.max(1, Math.round(budget.tries * (this.opts.wipTriesScale ?? 1)));
    for (let i = 0; i < tries; i++) {
      const sr = this.txn({ opcode: Spi.RDSR, read: 4 })[0]!;
      if ((sr & SR_WIP) === 0) return;
      this.clock.sleep(budget.stepUs / 1000);
    }
    const code = op === 'program' ? 'FLASH_WRITE_TIMEOUT' : 'FLASH_ERASE_TIMEOUT';
    throw new Fs3BurnError(code, `${this.access.name}: flash ${op} at 0x${addr.toString(16)} did not finish (WIP still set after ${tries} status reads; ${op === 'program' ? 'MFE_WRITE_TIMEOUT' : 'MFE_ERASE_TIMEOUT'})`, {
      data: { device: this.access.name, flashAddress: addr, tries },
    });
  }

  private checkWritable(addr: number): void {
    const sr = this.txn({ opcode: Spi.RDSR, read: 4 })[0]!;
    if (sr & SR_BP_MASK) {
      throw new Fs3BurnError('FLASH_WRITE_PROTECTED', `${this.access.name}: the flash is write-protected (status register 0x${sr.toString(16)}); cannot change 0x${addr.toString(16)}`, {
        hint: 'clear the flash block protection before burning',
        data: { device: this.access.name, statusRegister: sr, flashAddress: addr },
      });
    }
  }

  read(addr: number, len: number): Uint8Array {
    const out = new Uint8Array(len);
    this.locked(() => {
      checkRange('read', addr, len, this.size);
      const op = this.addr4 ? Spi.READ4 : Spi.READ;
      forEachWindow(addr, len, GW_DATA_BYTES, (w, from, count) => {
        const got = this.txn({ opcode: op, addr: w, read: GW_DATA_BYTES });
        out.set(got.subarray(addr + from - w, addr + from - w + count), from);
      });
    });
    this.stats.bytesRead += len;
    return out;
  }

  write(addr: number, bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    this.locked(() => {
      checkRange('write', addr, bytes.length, this.size);
      this.checkWritable(addr);
      forEachWindow(addr, bytes.length, PAGE_SIZE, (page, from, count) => {
        const buf = new Uint8Array(PAGE_SIZE).fill(0xff);
        buf.set(bytes.subarray(from, from + count), addr + from - page);
        this.programPage(page, buf);
      });
    });
    this.stats.bytesWritten += bytes.length;
  }

  /** §4.2 page program: WREN, 16 × 16 B with CS_HOLD on all but the last, then WIP. */
  private programPage(page: number, buf: Uint8Array): void {
    this.wren();
    const n = PAGE_SIZE / GW_DATA_BYTES;
    for (let i = 0; i < n; i++) {
      const chunk = buf.subarray(i * GW_DATA_BYTES, (i + 1) * GW_DATA_BYTES);
      const first = i === 0;
      this.txn({
        opcode: first ? (this.addr4 ? Spi.PP4 : Spi.PP) : 0,
        cmdPhase: first,
        ...(first ? { addr: page } : {}),
        write: chunk,
        csHold: i < n - 1,
      });
    }
    this.waitWip(PROGRAM_WIP, PAGE_SIZE, 'program', page);
  }

  erase4k(addr: number): void {
    this.locked(() => {
      checkSectorAligned(addr, this.sectorSize, this.size);
      this.checkWritable(addr);
      this.wren();
      this.txn({ opcode: this.addr4 ? Spi.SE4K_4B : Spi.SE4K, addr });
      this.waitWip(ERASE_WIP, 0, 'erase', addr);
    });
    this.stats.sectorsErased++;
  }

  close(): void {
    this.closed = true;
  }
}
