/**
 * A tiny test-side driver for the simulated card: raw config-space dword sequences written
 * from fs3-facts.md §5.2–§5.3 (VSEC), §6.1–§6.3 (ICMD, register access) and §4.2 (flash
 * gateway). It is deliberately independent of the production client in src/vsec and src/icmd,
 * so the model is checked against the facts, not against our own client.
 */
import type { PciConfigTransport } from '../src/transport/types.js';

export const SPACE = { ICMD_EXT: 1, CR: 2, ICMD: 3, SEMAPHORE: 0xa } as const;
export const REG = {
  MFPA: 0x9010,
  MFBA: 0x9011,
  MFBE: 0x9012,
  MGIR: 0x9020,
  MFRL: 0x9028,
  MFAI: 0x9029,
  MCQS: 0x9060,
  MCQI: 0x9061,
  MCC: 0x9062,
  MCDA: 0x9063,
  MCAM: 0x907f,
} as const;

export class IcmdTimeout extends Error {}
export class IfcBusy extends Error {}

export function be32(b: Uint8Array, o: number): number {
  return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
}
export function putBe32(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 24;
  b[o + 1] = v >>> 16;
  b[o + 2] = v >>> 8;
  b[o + 3] = v;
}

export class RawCard {
  readonly vsec: number;
  pid = 0x1234;
  maxFlagPolls = 2048;
  maxBusyPolls = 200;

  constructor(readonly dev: PciConfigTransport) {
    this.vsec = RawCard.findVsec(dev);
  }

  /** §5.2: walk the capability list from 0x34; the first ID 0x09 is the VSEC. */
  static findVsec(dev: PciConfigTransport): number {
    let p = dev.read32(0x34) & 0xff;
    const seen = new Set<number>();
    while (p !== 0 && !seen.has(p)) {
      seen.add(p);
      const h = dev.read32(p & ~3);
      if ((h & 0xff) === 0x09) return p;
      p = (h >>> 8) & 0xff;
    }
    return -1;
  }

  /** One VSEC lock attempt (§5.3): SEM free → read COUNTER → write it to SEM → read back. */
  tryLock(): boolean {
    if (this.dev.read32(this.vsec + 0x0c) !== 0) return false;
    const ticket = this.dev.read32(this.vsec + 0x08);
    this.dev.write32(this.vsec + 0x0c, ticket);
    return this.dev.read32(this.vsec + 0x0c) === ticket;
  }
  lock(): void {
    for (let i = 0; i < 2048; i++) if (this.tryLock()) return;
    throw new Error('VSEC semaphore: ME_SEM_LOCKED');
  }
  unlock(): void {
    this.dev.write32(this.vsec + 0x0c, 0);
  }

  /** CTRL read-modify-write of the space; returns status bits 31:29. */
  setSpace(space: number): number {
    const ctrl = this.dev.read32(this.vsec + 0x04);
    this.dev.write32(this.vsec + 0x04, ((ctrl & 0xffff0000) | space) >>> 0);
    return this.dev.read32(this.vsec + 0x04) >>> 29;
  }

  private waitFlag(want: number): number {
    for (let i = 0; i < this.maxFlagPolls; i++) {
      const a = this.dev.read32(this.vsec + 0x10);
      if (a >>> 31 === want) return a;
    }
    throw new Error('ME_PCI_IFC_TOUT');
  }

  /** Raw read in the current space (lock held by the caller). */
  rawRead(addr: number): { value: number; syndrome: boolean } {
    this.dev.write32(this.vsec + 0x10, addr & 0x3fffffff);
    const a = this.waitFlag(1);
    return { value: this.dev.read32(this.vsec + 0x14), syndrome: ((a >>> 30) & 1) === 1 };
  }
  rawWrite(addr: number, v: number): { syndrome: boolean } {
    this.dev.write32(this.vsec + 0x14, v >>> 0);
    this.dev.write32(this.vsec + 0x10, ((addr & 0x3fffffff) | 0x80000000) >>> 0);
    const a = this.waitFlag(0);
    return { syndrome: ((a >>> 30) & 1) === 1 };
  }

  /** §5.3 one dword: lock → space → op → unlock. */
  read(space: number, addr: number): number {
    this.lock();
    try {
      this.setSpace(space);
      return this.rawRead(addr).value;
    } finally {
      this.unlock();
    }
  }
  write(space: number, addr: number, v: number): void {
    this.lock();
    try {
      this.setSpace(space);
      this.rawWrite(addr, v);
    } finally {
      this.unlock();
    }
  }
  /** §5.3 block access: one lock and one space select for the whole buffer (BE dwords). */
  writeBlock(space: number, addr: number, bytes: Uint8Array): void {
    this.lock();
    try {
      this.setSpace(space);
      for (let i = 0; i < bytes.length; i += 4) this.rawWrite(addr + i, be32(bytes, i));
    } finally {
      this.unlock();
    }
  }
  readBlock(space: number, addr: number, out: Uint8Array): void {
    this.lock();
    try {
      this.setSpace(space);
      for (let i = 0; i < out.length; i += 4) putBe32(out, i, this.rawRead(addr + i).value);
    } finally {
      this.unlock();
    }
  }
  cr(addr: number): number {
    return this.read(SPACE.CR, addr);
  }
  crWrite(addr: number, v: number): void {
    this.write(SPACE.CR, addr, v);
  }

  /** PID semaphore in space 0xA (§5.3): write own PID, read back. */
  takePidSem(off: number, pid = this.pid): boolean {
    this.write(SPACE.SEMAPHORE, off, pid);
    return this.read(SPACE.SEMAPHORE, off) === pid;
  }
  releasePidSem(off: number): void {
    this.write(SPACE.SEMAPHORE, off, 0);
  }

  /** §6.2: one ICMD command; returns ctrl status and the mailbox read back. */
  icmd(opcode: number, mailbox: Uint8Array, readSize = mailbox.length, opts: { takeSem?: boolean } = {}): { status: number; out: Uint8Array } {
    if ((this.cr(0xb0004) >>> 31) !== 0) throw new Error('ICMD interface not ready');
    const takeSem = opts.takeSem ?? true;
    if (takeSem && !this.takePidSem(0)) throw new Error('ICMD semaphore: MFE_SEM_LOCKED');
    try {
      const ctrl = this.read(SPACE.ICMD, 0);
      this.write(SPACE.ICMD, 0, ((ctrl & 0xffff) | (opcode << 16)) >>> 0);
      this.writeBlock(SPACE.ICMD, 0x100000, mailbox);
      let c = this.read(SPACE.ICMD, 0);
      if (c & 1) throw new IfcBusy('ME_ICMD_STATUS_IFC_BUSY');
      this.write(SPACE.ICMD, 0, (c | 1) >>> 0);
      let polls = 0;
      for (;;) {
        c = this.read(SPACE.ICMD, 0);
        if ((c & 1) === 0) break;
        if (++polls >= this.maxBusyPolls) throw new IcmdTimeout('ME_ICMD_STATUS_EXECUTE_TO');
      }
      const out = new Uint8Array(readSize);
      this.readBlock(SPACE.ICMD, 0x100000, out);
      return { status: (c >>> 8) & 0xff, out };
    } finally {
      if (takeSem) this.releasePidSem(0);
    }
  }

  /** §6.3 register access. Returns ICMD status, register status and the register bytes. */
  reg(id: number, method: 'get' | 'set', data: Uint8Array | number): { icmdStatus: number; status: number; data: Uint8Array } {
    const body = typeof data === 'number' ? new Uint8Array(data) : data;
    const mb = new Uint8Array(20 + body.length);
    putBe32(mb, 0, ((1 << 27) | (4 << 16)) >>> 0);
    putBe32(mb, 4, ((id << 16) | ((method === 'get' ? 1 : 2) << 8) | 1) >>> 0);
    putBe32(mb, 8, 0x11223344);
    putBe32(mb, 16, ((3 << 27) | (((body.length + 4) / 4) << 16)) >>> 0);
    mb.set(body, 20);
    const r = this.icmd(0x9001, mb);
    return { icmdStatus: r.status, status: (be32(r.out, 0) >>> 8) & 0x7f, data: r.out.subarray(20) };
  }

  /** MFBA GET (§4.3): returns flash bytes (undoing the LE-dword layout). */
  mfbaRead(addr: number, size: number): { status: number; bytes: Uint8Array; icmdStatus: number } {
    const body = new Uint8Array(12 + size);
    putBe32(body, 4, size);
    putBe32(body, 8, addr);
    const r = this.reg(REG.MFBA, 'get', body);
    const bytes = new Uint8Array(size);
    for (let i = 0; i < size; i += 4) {
      const v = be32(r.data, 12 + i);
      bytes[i] = v;
      bytes[i + 1] = v >>> 8;
      bytes[i + 2] = v >>> 16;
      bytes[i + 3] = v >>> 24;
    }
    return { status: r.status, bytes, icmdStatus: r.icmdStatus };
  }
  mfbaWrite(addr: number, bytes: Uint8Array): { status: number; icmdStatus: number } {
    const body = new Uint8Array(12 + bytes.length);
    putBe32(body, 4, bytes.length);
    putBe32(body, 8, addr);
    for (let i = 0; i < bytes.length; i += 4) {
      const v = (bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24)) >>> 0;
      putBe32(body, 12 + i, v);
    }
    const r = this.reg(REG.MFBA, 'set', body);
    return { status: r.status, icmdStatus: r.icmdStatus };
  }
  mfbe(addr: number, big64 = false): { status: number; icmdStatus: number } {
    const body = new Uint8Array(12);
    putBe32(body, 0, big64 ? 1 << 29 : 0);
    putBe32(body, 8, addr);
    const r = this.reg(REG.MFBE, 'set', body);
    return { status: r.status, icmdStatus: r.icmdStatus };
  }
  mgirVersion(): { status: number; version: [number, number, number]; hwId: number } {
    const r = this.reg(REG.MGIR, 'get', 0xa0);
    return {
      status: r.status,
      hwId: (r.data[0x0a]! << 8) | r.data[0x0b]!,
      version: [be32(r.data, 0x44), be32(r.data, 0x48), be32(r.data, 0x4c)],
    };
  }
  mfai(address: number): number {
    const body = new Uint8Array(0x10);
    putBe32(body, 0, ((1 << 30) | (address & 0xffffff)) >>> 0);
    return this.reg(REG.MFAI, 'set', body).status;
  }
  mfrl(level: number): number {
    const body = new Uint8Array(8);
    putBe32(body, 4, level);
    return this.reg(REG.MFRL, 'set', body).status;
  }

  // ---- §4.2 direct flash gateway (CR 0xF0400..)
  gwLock(): boolean {
    return (this.cr(0xf0400) >>> 31) === 0;
  }
  gwUnlock(): void {
    this.crWrite(0xf0400, 0);
  }
  gwExec(cmd: number): void {
    this.crWrite(0xf0400, (cmd | 0x80000000 | 0x40000000) >>> 0);
    for (let i = 0; i < 5000; i++) if ((this.cr(0xf0400) & 0x40000000) === 0) return;
    throw new Error('gateway MFE_TIMEOUT');
  }
  gwSimple(opcode: number): void {
    this.gwExec((opcode << 16) | (1 << 2));
  }
  gwRdsr(): number {
    this.gwExec((0x05 << 16) | (1 << 2) | (1 << 4) | (2 << 8) | 1);
    return this.cr(0xf0410) >>> 24;
  }
  gwWaitWip(): number {
    let polls = 0;
    while (this.gwRdsr() & 1) polls++;
    return polls;
  }
  gwRead16(addr: number): Uint8Array {
    this.crWrite(0xf0404, addr);
    this.gwExec((0x03 << 16) | (1 << 2) | (1 << 3) | (1 << 4) | (4 << 8) | 1);
    const out = new Uint8Array(16);
    for (let i = 0; i < 4; i++) putBe32(out, i * 4, this.cr(0xf0410 + i * 4));
    return out;
  }
  gwErase4k(addr: number): void {
    this.gwSimple(0x06);
    this.crWrite(0xf0404, addr);
    this.gwExec((0x20 << 16) | (1 << 2) | (1 << 3));
    this.gwWaitWip();
  }
  /** §4.2 page program: WREN, 16 × 16-byte transactions, CS_HOLD on all but the last. */
  gwPageProgram(addr: number, page: Uint8Array): void {
    this.gwSimple(0x06);
    this.crWrite(0xf0404, addr);
    for (let t = 0; t < page.length / 16; t++) {
      for (let i = 0; i < 4; i++) this.crWrite(0xf0410 + i * 4, be32(page, t * 16 + i * 4));
      const last = t === page.length / 16 - 1;
      const first = t === 0;
      this.gwExec((first ? (0x02 << 16) | (1 << 2) | (1 << 3) : 0) | (1 << 4) | (4 << 8) | (last ? 0 : 1 << 5));
    }
    this.gwWaitWip();
  }
}
