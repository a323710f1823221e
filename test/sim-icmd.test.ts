/**
 * ICMD (§6.1–§6.3) and the access registers of §4.3 / §3.1 on the simulated card, driven
 * through raw VSEC dword sequences.
 */
import { describe, expect, it } from 'vitest';
import { createSimDevice, makeMiniFlash, type SimOptions } from '../src/sim/index.js';
import { IcmdTimeout, IfcBusy, RawCard, REG, SPACE, be32, putBe32 } from './sim-helper.js';

function card(version: [number, number, number] = [14, 14, 1100], extra: Partial<SimOptions> = {}) {
  const dev = createSimDevice({ personality: `cx4lx@${version.join('.')}`, flash: makeMiniFlash({ version }), ...extra });
  return { dev, c: new RawCard(dev), model: dev.model };
}

describe('ICMD interface', () => {
  it('shows the mailbox size and runs an unknown opcode with status 1 (bad opcode)', () => {
    const { c } = card();
    expect(c.read(SPACE.ICMD, 0x1000)).toBe(0x340);
    const r = c.icmd(0x1234, new Uint8Array(16));
    expect(r.status).toBe(1);
    expect(c.read(SPACE.ICMD, 0x1008) & 0xffffff).not.toBe(0);
  });

  it('answers through ICMD_EXT (space 1) like ICMD', () => {
    const { c } = card();
    expect(c.read(SPACE.ICMD_EXT, 0x1000)).toBe(0x340);
  });

  it('PID semaphores in space 0xA: take when free, read back the owner, release with 0 (§5.3)', () => {
    const { c } = card();
    expect(c.takePidSem(0x10, 111)).toBe(true);
    expect(c.takePidSem(0x10, 222)).toBe(false);
    expect(c.read(SPACE.SEMAPHORE, 0x10)).toBe(111);
    c.releasePidSem(0x10);
    expect(c.takePidSem(0x10, 222)).toBe(true);
    expect(c.takePidSem(0x0, 333)).toBe(true); // independent of 0x10
    c.releasePidSem(0);
    c.releasePidSem(0x10);
  });

  it('counts commands sent without the ICMD semaphore', () => {
    const { c, model } = card();
    c.icmd(0x1234, new Uint8Array(16), 16, { takeSem: false });
    expect(model.stats().icmd.withoutSemaphore).toBe(1);
    c.icmd(0x1234, new Uint8Array(16));
    expect(model.stats().icmd.withoutSemaphore).toBe(1);
  });

  it('with icmdBusyPolls the busy bit stays set for that many polls', () => {
    const { c, model } = card([14, 14, 1100], { knobs: { icmdBusyPolls: 5 } });
    expect(c.mgirVersion().status).toBe(0);
    expect(model.stats().icmd.commands).toBe(1);
  });
});

describe('register access (§6.3)', () => {
  it('MGIR reports the running FW version and hw_dev_id (§4.3)', () => {
    for (const v of [
      [14, 14, 1100],
      [14, 25, 1020],
      [14, 32, 1908],
    ] as [number, number, number][]) {
      const { c } = card(v);
      const r = c.mgirVersion();
      expect(r).toEqual({ status: 0, version: v, hwId: 0x20b });
    }
  });

  it('MGIR short version bytes at 0x21..0x23', () => {
    const { c } = card([14, 25, 1020]);
    const r = c.reg(REG.MGIR, 'get', 0xa0);
    expect([r.data[0x21], r.data[0x22], r.data[0x23]]).toEqual([14, 25, 1020 & 0xff]);
  });

  it('MCAM is REG_NOT_SUPP on 14.14.1100 (§3.1, §6.4)', () => {
    const { c } = card([14, 14, 1100]);
    expect(c.reg(REG.MCAM, 'get', 0x48).status).toBe(4);
    expect(c.reg(REG.MCC, 'get', 0x20).status).toBe(4);
  });

  it('MCAM advertises MCQS, MCQI, MCC, MCDA, MQIS and MGIR on 14.25 / 14.32 (§3.1)', () => {
    for (const v of [
      [14, 25, 1020],
      [14, 32, 1908],
    ] as [number, number, number][]) {
      const { c } = card(v);
      const r = c.reg(REG.MCAM, 'get', 0x48);
      expect(r.status).toBe(0);
      const mask0 = be32(r.data, 8);
      for (const bit of [0, 1, 2, 3, 4]) expect((mask0 >>> bit) & 1).toBe(1);
      expect(be32(r.data, 8 + 8) & 1).toBe(1); // cap_mask[2] bit 0: MGIR
      expect((be32(r.data, 8 + 4) >>> 28) & 1).toBe(0); // MCDD not advertised
    }
  });

  it('rejects an unknown class, method and TLV type', () => {
    const { c } = card();
    const mb = new Uint8Array(20 + 0xa0);
    putBe32(mb, 0, ((1 << 27) | (4 << 16)) >>> 0);
    putBe32(mb, 4, ((REG.MGIR << 16) | (1 << 8) | 2) >>> 0); // class 2
    putBe32(mb, 16, ((3 << 27) | (41 << 16)) >>> 0);
    expect((be32(c.icmd(0x9001, mb).out, 0) >>> 8) & 0x7f).toBe(5);
    putBe32(mb, 4, ((REG.MGIR << 16) | (3 << 8) | 1) >>> 0); // method 3
    expect((be32(c.icmd(0x9001, mb).out, 0) >>> 8) & 0x7f).toBe(6);
    putBe32(mb, 4, ((REG.MGIR << 16) | (1 << 8) | 1) >>> 0);
    putBe32(mb, 16, ((2 << 27) | (41 << 16)) >>> 0); // reg TLV type 2
    expect((be32(c.icmd(0x9001, mb).out, 0) >>> 8) & 0x7f).toBe(3);
    expect(c.reg(REG.MGIR, 'set', 0xa0).status).toBe(6); // MGIR is read-only
  });

  it('MFPA: one flash, JEDEC 0x1840EF, 4 KiB sectors (§4.3); the JEDEC id is a knob', () => {
    const { c } = card();
    const r = c.reg(REG.MFPA, 'get', 0x20);
    expect(r.status).toBe(0);
    expect(be32(r.data, 16) & 0xf).toBe(1);
    expect(be32(r.data, 20) & 0xffffff).toBe(0x1840ef);
    expect(be32(r.data, 24) & 0x3ff).toBe(12);
    const other = card([14, 14, 1100], { knobs: { jedecId: 0x1840c8 } });
    expect(be32(other.c.reg(REG.MFPA, 'get', 0x20).data, 20)).toBe(0x1840c8);
    const bank1 = new Uint8Array(0x20);
    putBe32(bank1, 0, 1 << 4);
    expect(c.reg(REG.MFPA, 'get', bank1).status).toBe(7);
  });

  it('MFBA reads flash bytes with each dword as the LE value of 4 flash bytes (§4.3)', () => {
    const { c, model } = card();
    const r = c.mfbaRead(0, 16);
    expect(r.status).toBe(0);
    expect(Array.from(r.bytes)).toEqual(Array.from(model.flash.read(0, 16)));
    const raw = c.reg(REG.MFBA, 'get', (() => {
      const b = new Uint8Array(12 + 4);
      putBe32(b, 4, 4);
      return b;
    })());
    expect(be32(raw.data, 12)).toBe(0x5746544d); // "MTFW" as an LE dword
  });

  it('MFBA write then read round trip; MFBE erases 4 KiB and 64 KiB', () => {
    const { c, model } = card();
    const addr = 0x500000;
    const data = Uint8Array.from({ length: 128 }, (_, i) => (i * 7 + 3) & 0xff);
    expect(c.mfbaWrite(addr, data).status).toBe(0);
    expect(Array.from(c.mfbaRead(addr, 128).bytes)).toEqual(Array.from(data));
    expect(Array.from(model.flash.read(addr, 128))).toEqual(Array.from(data));
    expect(c.mfbe(addr).status).toBe(0);
    expect(model.flash.read(addr, 0x1000).every((b) => b === 0xff)).toBe(true);
    c.mfbaWrite(0x510000, data);
    c.mfbaWrite(0x51f000, data);
    expect(c.mfbe(0x510000, true).status).toBe(0);
    expect(model.flash.read(0x510000, 0x10000).every((b) => b === 0xff)).toBe(true);
    const st = model.stats();
    expect(st.flash.erases).toEqual({ '4k': 1, '64k': 1 });
    expect(st.flash.pagePrograms).toBe(3);
    expect(st.icmd.byRegister.MFBA).toEqual({ get: 1, set: 3 });
    expect(st.icmd.byRegister.MFBE).toEqual({ get: 0, set: 2 });
  });

  it('MFBA without an erase only clears bits (NOR)', () => {
    const { c } = card();
    const a = 0x600000;
    c.mfbaWrite(a, Uint8Array.from([0xf0, 0xf0, 0xff, 0x00]));
    c.mfbaWrite(a, Uint8Array.from([0x3c, 0x0f, 0x00, 0xff]));
    expect(Array.from(c.mfbaRead(a, 4).bytes)).toEqual([0x30, 0x00, 0x00, 0x00]);
  });

  it('MFBA / MFBE parameter checks: size ≤ 128 B on CX4LX, alignment, range (BAD_PARAM 7)', () => {
    const { c } = card();
    expect(c.mfbaRead(0, 132).status).toBe(7);
    expect(c.mfbaRead(2, 4).status).toBe(7);
    expect(c.mfbaRead(0xfffffc, 8).status).toBe(7);
    expect(c.mfbe(0x1000 + 4).status).toBe(7);
    expect(c.mfbe(0x1000, true).status).toBe(7); // 64 KiB erase needs 64 KiB alignment
  });

  it('MFBA / MFBE answer a write-protected flash (ICMD status 7 by default, or BAD_PARAM)', () => {
    const { c, model } = card([14, 14, 1100], { knobs: { writeProtect: true } });
    expect(c.mfbaWrite(0x500000, new Uint8Array(4)).icmdStatus).toBe(7);
    expect(c.mfbe(0x500000).icmdStatus).toBe(7);
    expect(model.flash.read(0x500000, 4).every((b) => b === 0xff)).toBe(true);
    expect((be32(c.reg(REG.MFPA, 'get', 0x20).data, 16) >>> 16) & 1).toBe(1);
    const other = card([14, 14, 1100], { knobs: { writeProtect: true, writeProtectReply: 'bad-param' } });
    expect(other.c.mfbaWrite(0x500000, new Uint8Array(4))).toEqual({ status: 7, icmdStatus: 0 });
  });

  it('MFBA answers DEV_BUSY while the host holds the HW flash gateway lock', () => {
    const { c } = card();
    expect(c.gwLock()).toBe(true);
    expect(c.mfbaRead(0, 4).status).toBe(1);
    c.gwUnlock();
    expect(c.mfbaRead(0, 4).status).toBe(0);
  });

  it('MFRL GET returns the mask of supported levels; SET accepts one supported level (§8)', () => {
    const { c } = card([14, 25, 1020]);
    const r = c.reg(REG.MFRL, 'get', 8);
    expect(be32(r.data, 4) & 0xff).toBe(0x49);
    expect(c.mfrl(0x08)).toBe(0);
    expect(c.mfrl(0x02)).toBe(7);
    expect(c.mfrl(0x48)).toBe(7);
  });

  it('MFAI SET stores the boot address; GET reads it back', () => {
    const { c } = card();
    expect(c.mfai(0x400000)).toBe(0);
    const r = c.reg(REG.MFAI, 'get', 0x10);
    expect(be32(r.data, 0)).toBe(((1 << 30) | 0x400000) >>> 0);
  });

  it('MCQS / MCQI describe one BOOT_IMG component on FW-managed personalities', () => {
    const { c } = card([14, 32, 1908]);
    const q = c.reg(REG.MCQS, 'get', 0x10);
    expect(q.status).toBe(0);
    expect(be32(q.data, 0) >>> 31).toBe(1);
    expect(be32(q.data, 4) & 0xffff).toBe(1);
    const i = c.reg(REG.MCQI, 'get', 0x94);
    expect(i.status).toBe(0);
    expect(be32(i.data, 0x24) & 0xffff).toBe(128);
  });
});

describe('14.14.1100 warm-boot hang (§4.6, UNVERIFIED reading; knob warmBootHang)', () => {
  it('after MFRL 0x40 the next command never clears busy; the one after sees the interface busy; reset clears it', () => {
    const { c, model } = card([14, 14, 1100]);
    expect(c.mfai(0x400000)).toBe(0);
    expect(c.mfrl(0x40)).toBe(0);
    const before = model.flash.read(0, 4);
    expect(() => c.mfbaWrite(0, new Uint8Array(4))).toThrow(IcmdTimeout);
    expect(Array.from(model.flash.read(0, 4))).toEqual(Array.from(before)); // not written
    expect(model.icmdHung).toBe(true);
    expect(() => c.mgirVersion()).toThrow(IfcBusy);
    expect(model.stats().icmd.hung).toBe(1);
    model.reset();
    expect(model.icmdHung).toBe(false);
    expect(c.mgirVersion().status).toBe(0);
  });

  it('14.25.1020 and 14.32.1908 behave after a warm-boot request', () => {
    for (const v of [
      [14, 25, 1020],
      [14, 32, 1908],
    ] as [number, number, number][]) {
      const { c } = card(v);
      expect(c.mfrl(0x40)).toBe(0);
      expect(c.mfbaRead(0, 4).status).toBe(0);
    }
  });

  it("knob warmBootHang 'off' removes the hang; 'on' adds it to any personality", () => {
    const off = card([14, 14, 1100], { knobs: { warmBootHang: 'off' } });
    off.c.mfrl(0x40);
    expect(off.c.mfbaRead(0, 4).status).toBe(0);
    const on = card([14, 32, 1908], { knobs: { warmBootHang: 'on' } });
    on.c.mfrl(0x40);
    expect(() => on.c.mfbaRead(0, 4)).toThrow(IcmdTimeout);
  });
});

describe('no FW', () => {
  it('an ICMD command on a card that runs no FW never completes', () => {
    const dev = createSimDevice({ personality: 'cx4lx@14.14.1100', flash: new Uint8Array(0) });
    const c = new RawCard(dev);
    expect(dev.model.running).toBeNull();
    expect(() => c.mgirVersion()).toThrow('ICMD interface not ready');
    // a client that skips the readiness check times out
    c.write(SPACE.ICMD, 0, (0x9001 << 16) | 1);
    for (let i = 0; i < 10; i++) expect(c.read(SPACE.ICMD, 0) & 1).toBe(1);
  });
});
