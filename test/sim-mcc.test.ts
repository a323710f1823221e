/**
 * The FW-managed update FSM (MCC + MCDA, §3.2–§3.3, §8) on the simulated card.
 */
import { describe, expect, it } from 'vitest';
import { createSimDevice, makeMiniFlash, makeMiniImage, type SimOptions } from '../src/sim/index.js';
import { RawCard, REG, be32, putBe32 } from './sim-helper.js';

const ST = { IDLE: 0, LOCKED: 1, INITIALIZE: 2, DOWNLOAD: 3, VERIFY: 4, ACTIVATE: 6 };
const IN = { LOCK: 1, RELEASE: 2, UPDATE: 3, VERIFY: 4, ACTIVATE_ALL: 6, CANCEL: 8 };

function card(version: [number, number, number] = [14, 25, 1020], extra: Partial<SimOptions> = {}) {
  const dev = createSimDevice({ personality: `cx4lx@${version.join('.')}`, flash: makeMiniFlash({ version, guid: 0x248a0703001234a0n, mac: 0x248a071234a0n }), ...extra });
  return { dev, c: new RawCard(dev), model: dev.model };
}

class Fsm {
  handle = 0;
  polls: number[] = [];
  constructor(readonly c: RawCard) {}
  query(): { state: number; error: number; handle: number; status: number } {
    const body = new Uint8Array(0x20);
    putBe32(body, 8, this.handle);
    const r = this.c.reg(REG.MCC, 'get', body);
    return { status: r.status, state: be32(r.data, 12) & 0xf, error: (be32(r.data, 12) >>> 8) & 0xff, handle: be32(r.data, 8) & 0xffffff };
  }
  instr(instruction: number, extra: { size?: number; index?: number } = {}): { status: number; state: number; error: number; handle: number } {
    const body = new Uint8Array(0x20);
    putBe32(body, 0, instruction);
    putBe32(body, 4, extra.index ?? 0);
    putBe32(body, 8, this.handle);
    putBe32(body, 16, extra.size ?? 0);
    const r = this.c.reg(REG.MCC, 'set', body);
    return { status: r.status, state: be32(r.data, 12) & 0xf, error: (be32(r.data, 12) >>> 8) & 0xff, handle: be32(r.data, 8) & 0xffffff };
  }
  /** Kernel style: read with handle 0, require IDLE, lock with the handle it returned (§8). */
  lock(): number {
    const q = this.query();
    expect(q.state).toBe(ST.IDLE);
    this.handle = q.handle;
    const r = this.instr(IN.LOCK);
    expect(r).toMatchObject({ status: 0, state: ST.LOCKED, handle: q.handle });
    return q.handle;
  }
  waitWhile(state: number): { state: number; error: number } {
    let n = 0;
    for (;;) {
      const q = this.query();
      if (q.state !== state || q.error !== 0) {
        this.polls.push(n);
        return { state: q.state, error: q.error };
      }
      if (++n > 100) throw new Error(`FSM stuck in state ${state}`);
    }
  }
  download(img: Uint8Array, block = 128): void {
    for (let off = 0; off < img.length; off += block) {
      const n = Math.min(block, img.length - off);
      const body = new Uint8Array(0x10 + n);
      putBe32(body, 0, this.handle);
      putBe32(body, 4, off);
      putBe32(body, 8, n);
      for (let i = 0; i < n; i += 4) {
        putBe32(body, 0x10 + i, (img[off + i]! | (img[off + i + 1]! << 8) | (img[off + i + 2]! << 16) | (img[off + i + 3]! << 24)) >>> 0);
      }
      expect(this.c.reg(REG.MCDA, 'set', body).status).toBe(0);
    }
  }
  /** The §3.2 sequence up to the verify result. */
  upToVerify(img: Uint8Array): { state: number; error: number } {
    this.lock();
    expect(this.instr(IN.UPDATE, { size: img.length })).toMatchObject({ status: 0, error: 0 });
    expect(this.waitWhile(ST.INITIALIZE)).toEqual({ state: ST.DOWNLOAD, error: 0 });
    this.download(img);
    expect(this.instr(IN.VERIFY).status).toBe(0);
    return this.waitWhile(ST.VERIFY);
  }
}

describe('MCC FSM', () => {
  it('burns a signed image: LOCK → UPDATE → INITIALIZE → DOWNLOAD → VERIFY → ACTIVATE_ALL → RELEASE; reset runs it, device data kept', () => {
    const { c, model } = card([14, 25, 1020], { knobs: { fsmVerifyPolls: 2 } }); // VERIFY polled (default 0: mstflint needs it)
    const fsm = new Fsm(c);
    const img = makeMiniImage({ version: [14, 32, 1908], signed: true });
    expect(fsm.upToVerify(img)).toEqual({ state: ST.LOCKED, error: 0 });
    const r = fsm.instr(IN.ACTIVATE_ALL);
    expect(r.status).toBe(0);
    expect(fsm.waitWhile(ST.ACTIVATE)).toEqual({ state: ST.LOCKED, error: 0 });
    expect(fsm.instr(IN.RELEASE).status).toBe(0);
    expect(fsm.query().state).toBe(ST.IDLE);
    expect(fsm.polls.every((n) => n === 2)).toBe(true); // INITIALIZE / VERIFY / ACTIVATE took the knob's polls
    // the FW wrote the other slot and invalidated the old one; MGIR still reports the running FW
    expect(c.mgirVersion().version).toEqual([14, 25, 1020]);
    expect(model.flash.read(0, 4).every((b) => b === 0)).toBe(true);
    model.reset();
    expect(model.running).toMatchObject({ start: 0x400000, versionString: '14.32.1908', bootedVia: 'activation' });
    expect(c.mgirVersion().version).toEqual([14, 32, 1908]);
    // the card's own GUID is still in DEV_INFO (device data not touched)
    expect(Buffer.from(model.flash.read(0xfee000 + 0x28, 8)).toString('hex')).toBe('248a0703001234a0');
    const st = model.stats();
    expect(st.icmd.byRegister.MCDA!.set).toBe(img.length / 128);
    expect(st.flash.erases['64k'] ?? 0).toBe(0); // 32 KiB component: 4 KiB erases
    expect(st.flash.erases['4k']).toBe(img.length / 0x1000);
    expect(st.time.fsm).toBeGreaterThan(0);
  });

  it('accepts a component with its magic masked to 0xFF and writes the magic itself', () => {
    const { c, model } = card();
    const fsm = new Fsm(c);
    const img = makeMiniImage({ version: [14, 32, 1908], signed: true });
    img.fill(0xff, 0, 16);
    expect(fsm.upToVerify(img)).toEqual({ state: ST.LOCKED, error: 0 });
    fsm.instr(IN.ACTIVATE_ALL);
    fsm.waitWhile(ST.ACTIVATE);
    fsm.instr(IN.RELEASE);
    model.reset();
    expect(model.running?.versionString).toBe('14.32.1908');
  });

  it('VERIFY fails with "component was not signed" (6) for an unsigned image', () => {
    const fsm = new Fsm(card().c);
    expect(fsm.upToVerify(makeMiniImage({ version: [14, 32, 1908] }))).toEqual({ state: ST.LOCKED, error: 6 });
    expect(fsm.instr(IN.ACTIVATE_ALL).status).toBe(7); // nothing verified to activate
    expect(fsm.instr(IN.CANCEL).status).toBe(0);
    expect(fsm.instr(IN.RELEASE).status).toBe(0);
  });

  it('VERIFY fails with "bad format" (8) for a corrupted section and "not applicable" (3) for another HW id', () => {
    const bad = makeMiniImage({ version: [14, 32, 1908], signed: true });
    bad[0x3000 + 5] ^= 1; // MAIN_CODE byte: CRC mismatch
    expect(new Fsm(card().c).upToVerify(bad).error).toBe(8);
    const other = makeMiniImage({ version: [14, 32, 1908], signed: true, hwId: 0x209 });
    expect(new Fsm(card().c).upToVerify(other).error).toBe(3);
  });

  it('rejects MCDA outside DOWNLOAD, with a wrong handle, or past the component', () => {
    const { c } = card();
    const fsm = new Fsm(c);
    const body = new Uint8Array(0x10 + 4);
    expect(c.reg(REG.MCDA, 'set', body).status).toBe(7);
    fsm.lock();
    fsm.instr(IN.UPDATE, { size: 0x100 });
    fsm.waitWhile(ST.INITIALIZE);
    putBe32(body, 0, fsm.handle ^ 1);
    putBe32(body, 8, 4);
    expect(c.reg(REG.MCDA, 'set', body).status).toBe(7);
    putBe32(body, 0, fsm.handle);
    putBe32(body, 4, 0x100);
    expect(c.reg(REG.MCDA, 'set', body).status).toBe(7);
    putBe32(body, 4, 0xfc);
    expect(c.reg(REG.MCDA, 'set', body).status).toBe(0);
  });

  it('a second LOCK while locked answers DEV_BUSY; instructions need the handle', () => {
    const fsm = new Fsm(card().c);
    fsm.lock();
    expect(fsm.instr(IN.LOCK).status).toBe(1);
    const h = fsm.handle;
    fsm.handle = h ^ 0x10;
    expect(fsm.instr(IN.RELEASE).status).toBe(7);
    fsm.handle = h;
    expect(fsm.instr(IN.RELEASE).status).toBe(0);
  });

  it('after an activation, UPDATE_COMPONENT fails with "pending reset" (9) until reset', () => {
    const { c, model } = card();
    const fsm = new Fsm(c);
    const img = makeMiniImage({ version: [14, 32, 1908], signed: true });
    fsm.upToVerify(img);
    fsm.instr(IN.ACTIVATE_ALL);
    fsm.waitWhile(ST.ACTIVATE);
    fsm.instr(IN.RELEASE);
    fsm.lock();
    expect(fsm.instr(IN.UPDATE, { size: img.length }).error).toBe(9);
    fsm.instr(IN.RELEASE);
    model.reset();
    const again = new Fsm(c);
    again.lock();
    expect(again.instr(IN.UPDATE, { size: img.length }).error).toBe(0);
  });

  it('is absent on 14.14.1100 (REG_NOT_SUPP)', () => {
    const { c } = card([14, 14, 1100]);
    expect(new Fsm(c).query().status).toBe(4);
  });

  it('FSM state polls are knobs', () => {
    const fsm = new Fsm(card([14, 25, 1020], { knobs: { fsmInitializePolls: 5, fsmVerifyPolls: 0 } }).c);
    fsm.upToVerify(makeMiniImage({ version: [14, 32, 1908], signed: true }));
    expect(fsm.polls).toEqual([5, 0]);
  });
});
