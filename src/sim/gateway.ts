/**
 * The 5th-generation direct flash gateway in CR space (§4.2), and the SPI NOR chip behind it.
 *
 * Gateway registers: cmd 0xF0400 (LOCK bit 31, BUSY bit 30, phases, CS_HOLD, opcode 23:16,
 * log2 size 10:8), addr 0xF0404, data 0xF0410–0xF041C (16 bytes, byte k at DATA[k/4] bits
 * 31−8(k%4)), cache-replacement enable 0xF0420 bit 0.
 *
 * A read of cmd returns the lock state and takes the lock if it was free, like a hardware
 * semaphore; a write with bit 31 clear releases it (§4.2 "Unlock = write 0 to cmd").
 *
 * The chip is modelled byte by byte on the SPI bus: a transaction selects the chip unless the
 * previous one kept CS asserted (CS_HOLD), clocks out opcode / address / data bytes, and
 * deselects it unless CS_HOLD is set. As on a real NOR chip, a page program or erase starts
 * when CS goes high, needs WEL (set by WREN, cleared by the operation), and while it runs
 * (WIP) the chip ignores everything but RDSR.
 */
import {
  CR_GW_ADDR,
  CR_GW_CMD,
  CR_GW_DATA0,
  CR_GW_DATA3,
  GW_ADDR4,
  GW_ADDR_PHASE,
  GW_BUSY,
  GW_CMD_PHASE,
  GW_CS_HOLD,
  GW_DATA_PHASE,
  GW_LOCK,
  GW_READ,
  SR_BP_MASK,
  SR_WEL,
  SR_WIP,
  SpiOp,
} from './constants.js';

/** What the chip asks of the rest of the model (so that faults, time and stats apply). */
export interface FlashPort {
  readonly jedecId: number;
  readonly size: number;
  /** The flash status register's non-volatile bits (block protect). */
  statusRegister: number;
  /** Read bytes from the array (counted; faults may flip bits). */
  read(addr: number, len: number): Uint8Array;
  erase(addr: number, size: number): void;
  programPage(addr: number, bytes: Uint8Array): void;
  writeStatus(value: number): void;
  /** RDSR transactions that show WIP after an operation (knob spiWipPolls). */
  readonly wipPolls: number;
  /** Extra cmd reads showing BUSY after a transaction (knob gatewayBusyPolls). */
  readonly busyPolls: number;
  /** Fault hook, called once per transaction: true = the BUSY bit never clears. */
  transactionStuck(flashAddr: number): boolean;
  /** Fault hook: true = another agent holds the HW lock at this attempt. */
  lockHeldByOther(): boolean;
}

export interface SpiChipState {
  selected: boolean;
  /** Bytes clocked in since select. */
  count: number;
  opcode: number;
  addr: number;
  addrLen: number;
  wel: boolean;
  /** RDSR transactions left that show WIP. */
  wip: number;
  /** Data bytes of a page program / WRSR, collected until deselect. */
  collected: number[];
  /** Address of the next byte for READ. */
  readPtr: number;
  /** Whether this selection is being ignored (chip busy). */
  ignored: boolean;
}

export interface GatewayState {
  locked: boolean;
  /** The lock is held by another agent (fault sem-held on gateway-lock). */
  lockedByOther: boolean;
  cmd: number;
  addr: number;
  data: number[];
  busyReads: number;
  stuck: boolean;
  cacheRepEnable: number;
  spi: SpiChipState;
}

export function freshGatewayState(cacheRepEnable: number): GatewayState {
  return {
    locked: false,
    lockedByOther: false,
    cmd: 0,
    addr: 0,
    data: [0, 0, 0, 0],
    busyReads: 0,
    stuck: false,
    cacheRepEnable,
    spi: { selected: false, count: 0, opcode: -1, addr: 0, addrLen: 0, wel: false, wip: 0, collected: [], readPtr: 0, ignored: false },
  };
}

function addrLenOf(op: number): number {
  switch (op) {
    case SpiOp.READ:
    case SpiOp.PP:
    case SpiOp.SE4K:
    case SpiOp.BE32K:
    case SpiOp.BE64K:
      return 3;
    case SpiOp.READ4:
    case SpiOp.PP4:
    case SpiOp.SE4K_4B:
    case SpiOp.BE64K_4B:
      return 4;
    default:
      return 0;
  }
}

export interface GatewayCounters {
  transactions: number;
  lockTakes: number;
  lockContended: number;
  withoutLock: number;
  /** Program / erase commands issued while FW owned the flash (0xF0420 bit 0 set while FW runs). */
  whileCacheReplacementOn: number;
  spiCommands: Record<string, number>;
}

export class FlashGateway {
  st: GatewayState;
  readonly counters: GatewayCounters = {
    transactions: 0,
    lockTakes: 0,
    lockContended: 0,
    withoutLock: 0,
    whileCacheReplacementOn: 0,
    spiCommands: {},
  };

  constructor(
    private readonly port: FlashPort,
    state: GatewayState,
    private readonly fwOwnsFlash: () => boolean,
  ) {
    this.st = state;
  }

  /** True while the host holds the HW flash lock (the FW's own flash access then has to wait). */
  get heldByHost(): boolean {
    return this.st.locked && !this.st.lockedByOther;
  }

  read(addr: number): number {
    const s = this.st;
    if (addr === CR_GW_CMD) {
      let busy = s.stuck;
      if (!busy && s.busyReads > 0) {
        s.busyReads--;
        busy = true;
      }
      const v = ((s.cmd & 0x3fffffff) | (busy ? GW_BUSY : 0)) >>> 0;
      if (s.locked && !s.lockedByOther) return (v | GW_LOCK) >>> 0;
      // a lock attempt: §4.2 is4_flash_lock reads cmd until bit 31 = 0
      if (this.port.lockHeldByOther()) {
        s.locked = true;
        s.lockedByOther = true;
        this.counters.lockContended++;
        return (v | GW_LOCK) >>> 0;
      }
      s.lockedByOther = false; // the other agent let go
      s.locked = true;
      this.counters.lockTakes++;
      return v;
    }
    if (addr === CR_GW_ADDR) return s.addr >>> 0;
    if (addr >= CR_GW_DATA0 && addr <= CR_GW_DATA3) return s.data[(addr - CR_GW_DATA0) >>> 2]! >>> 0;
    return 0;
  }

  write(addr: number, v: number): void {
    const s = this.st;
    v >>>= 0;
    if (addr === CR_GW_ADDR) {
      s.addr = v;
      return;
    }
    if (addr >= CR_GW_DATA0 && addr <= CR_GW_DATA3) {
      s.data[(addr - CR_GW_DATA0) >>> 2] = v;
      return;
    }
    if (addr !== CR_GW_CMD) return;
    if ((v & GW_LOCK) === 0) {
      // releasing the lock (a write of 0); another agent's hold is not ours to release
      if (!s.lockedByOther) s.locked = false;
      s.cmd = v & ~GW_BUSY;
      return;
    }
    if (s.stuck || s.busyReads > 0) return; // a transaction is still running: the write is lost
    if (!s.locked || s.lockedByOther) this.counters.withoutLock++;
    s.cmd = (v & ~GW_BUSY) >>> 0;
    if (v & GW_BUSY) this.transaction(v);
  }

  private transaction(cmd: number): void {
    const s = this.st;
    this.counters.transactions++;
    if (this.port.transactionStuck(s.addr)) {
      s.stuck = true;
      return;
    }
    const chip = s.spi;
    const out: number[] = [];
    if (cmd & GW_CMD_PHASE) out.push((cmd >>> 16) & 0xff);
    if (cmd & GW_ADDR_PHASE) {
      const a = s.addr >>> 0;
      if (cmd & GW_ADDR4) out.push((a >>> 24) & 0xff);
      out.push((a >>> 16) & 0xff, (a >>> 8) & 0xff, a & 0xff);
    }
    const n = (cmd & GW_DATA_PHASE) === 0 ? 0 : 1 << ((cmd >>> 8) & 7);
    const reading = (cmd & GW_READ) !== 0;
    const dataBytes = Math.min(n, 16); // the data window is 16 bytes; a bigger size moves 16 (model choice)
    const dataOut = new Uint8Array(dataBytes);
    for (let k = 0; k < dataBytes; k++) dataOut[k] = (s.data[k >>> 2]! >>> (24 - 8 * (k & 3))) & 0xff;
    if (!chip.selected) this.select();
    for (const b of out) this.xfer(b);
    const got = new Uint8Array(dataBytes);
    for (let k = 0; k < dataBytes; k++) got[k] = this.xfer(reading ? 0xff : dataOut[k]!);
    if (reading) {
      for (let k = 0; k < dataBytes; k++) {
        const i = k >>> 2;
        const sh = 24 - 8 * (k & 3);
        s.data[i] = ((s.data[i]! & ~(0xff << sh)) | (got[k]! << sh)) >>> 0;
      }
    }
    if ((cmd & GW_CS_HOLD) === 0) this.deselect();
    s.busyReads = this.port.busyPolls;
  }

  private select(): void {
    const c = this.st.spi;
    c.selected = true;
    c.count = 0;
    c.opcode = -1;
    c.addr = 0;
    c.addrLen = 0;
    c.collected = [];
    c.ignored = false;
  }

  private srValue(): number {
    const c = this.st.spi;
    return ((this.port.statusRegister & SR_BP_MASK) | (c.wel ? SR_WEL : 0) | (c.wip > 0 ? SR_WIP : 0)) & 0xff;
  }

  /** One byte in from the host, one byte out from the chip. */
  private xfer(b: number): number {
    const c = this.st.spi;
    const i = c.count++;
    if (i === 0) {
      c.opcode = b;
      c.addrLen = addrLenOf(b);
      const name = `0x${b.toString(16).padStart(2, '0')}`;
      this.counters.spiCommands[name] = (this.counters.spiCommands[name] ?? 0) + 1;
      // while an operation runs only RDSR is accepted (standard NOR behaviour)
      c.ignored = c.wip > 0 && b !== SpiOp.RDSR;
      return 0xff;
    }
    if (c.ignored) return 0xff;
    if (i <= c.addrLen) {
      c.addr = ((c.addr << 8) | b) >>> 0;
      if (i === c.addrLen) c.readPtr = c.addr;
      return 0xff;
    }
    const d = i - 1 - c.addrLen; // index of this data byte
    switch (c.opcode) {
      case SpiOp.RDSR:
        return this.srValue();
      case SpiOp.JEDEC: {
        const id = this.port.jedecId;
        const bytes = [id & 0xff, (id >>> 8) & 0xff, (id >>> 16) & 0xff];
        return d < 3 ? bytes[d]! : 0x00;
      }
      case SpiOp.READ:
      case SpiOp.READ4: {
        const a = c.readPtr % this.port.size;
        c.readPtr = (a + 1) % this.port.size;
        return this.port.read(a, 1)[0]!;
      }
      case SpiOp.PP:
      case SpiOp.PP4:
      case SpiOp.WRSR:
        c.collected.push(b);
        return 0xff;
      default:
        return 0xff;
    }
  }

  private deselect(): void {
    const c = this.st.spi;
    c.selected = false;
    if (c.count === 0 || c.ignored) return;
    const complete = c.count > c.addrLen; // opcode and every address byte arrived
    switch (c.opcode) {
      case SpiOp.WREN:
        c.wel = true;
        return;
      case SpiOp.WRDI:
        c.wel = false;
        return;
      case SpiOp.RDSR:
        if (c.wip > 0) c.wip--;
        return;
      case SpiOp.PP:
      case SpiOp.PP4:
        if (!c.wel || !complete) return;
        c.wel = false;
        if (c.collected.length > 0) {
          if (this.fwOwnsFlash()) this.counters.whileCacheReplacementOn++;
          this.port.programPage(c.addr % this.port.size, Uint8Array.from(c.collected));
          c.wip = this.port.wipPolls;
        }
        return;
      case SpiOp.SE4K:
      case SpiOp.SE4K_4B:
      case SpiOp.BE32K:
      case SpiOp.BE64K:
      case SpiOp.BE64K_4B: {
        if (!c.wel || !complete) return;
        c.wel = false;
        const size = c.opcode === SpiOp.BE32K ? 0x8000 : c.opcode === SpiOp.BE64K || c.opcode === SpiOp.BE64K_4B ? 0x10000 : 0x1000;
        if (this.fwOwnsFlash()) this.counters.whileCacheReplacementOn++;
        this.port.erase(c.addr % this.port.size, size);
        c.wip = this.port.wipPolls;
        return;
      }
      case SpiOp.CHIP_ERASE:
      case SpiOp.CHIP_ERASE_ALT:
        if (!c.wel) return;
        c.wel = false;
        if (this.fwOwnsFlash()) this.counters.whileCacheReplacementOn++;
        this.port.erase(0, this.port.size);
        c.wip = this.port.wipPolls;
        return;
      case SpiOp.WRSR:
        if (!c.wel || c.collected.length === 0) return;
        c.wel = false;
        this.port.writeStatus(c.collected[0]!);
        c.wip = this.port.wipPolls;
        return;
      default:
        return;
    }
  }

  /** CR 0xF0420. */
  readCacheRep(): number {
    return this.st.cacheRepEnable >>> 0;
  }
  writeCacheRep(v: number): void {
    this.st.cacheRepEnable = v >>> 0;
  }
}
