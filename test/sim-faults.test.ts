/**
 * Seeded fault plans: every effect observable through raw config accesses, the string
 * syntax, and reproducibility from the seed.
 */
import { describe, expect, it } from 'vitest';
import { createSimDevice, makeMiniFlash, parseFault, FaultPlan, describeFault, type SimOptions } from '../src/sim/index.js';
import { IcmdTimeout, IfcBusy, RawCard, REG, SPACE } from './sim-helper.js';

function card(faults: SimOptions['faults'], extra: Partial<SimOptions> = {}) {
  const dev = createSimDevice({ personality: 'cx4lx@14.14.1100', flash: makeMiniFlash(), faults, ...extra });
  return { dev, c: new RawCard(dev), model: dev.model };
}

describe('fault effects', () => {
  it('busy-stuck: the ICMD busy bit never clears, the command is not done; reset clears it', () => {
    const { c, model } = card(['busy-stuck,reg=MFBA,method=set,nth=2']);
    expect(c.mfbaWrite(0x500000, Uint8Array.from([1, 2, 3, 4])).status).toBe(0);
    expect(() => c.mfbaWrite(0x500004, Uint8Array.from([5, 6, 7, 8]))).toThrow(IcmdTimeout);
    expect(Array.from(model.flash.read(0x500004, 4))).toEqual([0xff, 0xff, 0xff, 0xff]);
    expect(() => c.mgirVersion()).toThrow(IfcBusy);
    expect(model.fired).toEqual([expect.objectContaining({ kind: 'busy-stuck', occurrence: 2, register: REG.MFBA })]);
    model.reset();
    expect(c.mgirVersion().status).toBe(0);
  });

  it('ifc-busy: the interface is already busy when the client checks it (§4.5 IFC_BUSY)', () => {
    const { c } = card(['ifc-busy,reg=MGIR']);
    expect(() => c.mgirVersion()).toThrow(IfcBusy);
    expect(c.mgirVersion().status).toBe(0);
  });

  it('icmd-status:5: the FW answers busy (§4.5 ME_ICMD_BUSY) and does nothing', () => {
    const { c, model } = card(['icmd-status:5,reg=MFBA,method=set']);
    const r = c.mfbaWrite(0x500000, new Uint8Array(4));
    expect(r.icmdStatus).toBe(5);
    expect(model.flash.read(0x500000, 1)[0]).toBe(0xff);
    expect(c.read(SPACE.ICMD, 0x1008) & 0xffffff).not.toBe(0);
    expect(c.mfbaWrite(0x500000, new Uint8Array(4)).icmdStatus).toBe(0);
  });

  it('reg-status:7: a register access answers BAD_PARAM', () => {
    const { c } = card(['reg-status:7,reg=MFRL']);
    expect(c.mfrl(0x40)).toBe(7);
  });

  it('write-ignored: acknowledged but not done (flash program, ICMD SET, config write)', () => {
    const a = card(['write-ignored,op=flash-program']);
    expect(a.c.mfbaWrite(0x500000, new Uint8Array(4)).status).toBe(0);
    expect(a.model.flash.read(0x500000, 4).every((b) => b === 0xff)).toBe(true);
    const b = card(['write-ignored,op=icmd,reg=MFBE']);
    b.c.mfbaWrite(0x500000, new Uint8Array(4));
    expect(b.c.mfbe(0x500000).status).toBe(0);
    expect(b.model.flash.read(0x500000, 4).every((x) => x === 0)).toBe(true);
    const d = card(['write-ignored,op=config-write,addr=0x58']);
    d.dev.write32(0x58, 0xf0014);
    expect(d.dev.read32(0x58)).toBe(0);
  });

  it('bit-flip: on a config read, and on a flash read (MFBA GET)', () => {
    const a = card(['bit-flip:4,op=config-read,addr=0']);
    expect(a.dev.read32(0)).toBe(0x101515b3 ^ 0x10);
    expect(a.dev.read32(0)).toBe(0x101515b3);
    const b = card(['bit-flip,op=flash-read']);
    const good = b.model.flash.read(0, 16);
    const got = b.c.mfbaRead(0, 16).bytes;
    let diff = 0;
    for (let i = 0; i < 16; i++) for (let x = good[i]! ^ got[i]!; x; x &= x - 1) diff++;
    expect(diff).toBe(1);
  });

  it('bit-flip on op=icmd: the command is done, one bit of the register data read back is flipped', () => {
    const b = card(['bit-flip,op=icmd,reg=MFBA,method=get']);
    const good = b.model.flash.read(0x40, 32);
    const got = b.c.mfbaRead(0x40, 32).bytes;
    let diff = 0;
    for (let i = 0; i < 32; i++) for (let x = good[i]! ^ got[i]!; x; x &= x - 1) diff++;
    expect(diff).toBe(1);
    expect(Array.from(b.c.mfbaRead(0x40, 32).bytes)).toEqual(Array.from(good)); // once only
    expect(b.model.fired).toEqual([expect.objectContaining({ kind: 'bit-flip', op: 'icmd', register: REG.MFBA })]);
  });

  it('sem-held: the ICMD semaphore is held by another owner whose id the client reads', () => {
    const { c } = card(['sem-held:4242,op=sem-icmd,times=2']);
    expect(c.takePidSem(0)).toBe(false);
    expect(c.read(SPACE.SEMAPHORE, 0)).toBe(4242);
    expect(c.takePidSem(0)).toBe(false);
    expect(c.takePidSem(0)).toBe(true);
    c.releasePidSem(0);
  });

  it('sem-held on the VSEC semaphore and on the flash gateway lock', () => {
    const a = card(['sem-held:77,op=sem-vsec']);
    expect(a.c.tryLock()).toBe(false);
    expect(a.dev.read32(a.c.vsec + 0x0c)).toBe(0); // the other owner let go
    expect(a.c.tryLock()).toBe(true);
    const b = card(['sem-held:1,op=gateway-lock']);
    expect(b.c.gwLock()).toBe(false);
    expect(b.c.gwLock()).toBe(true);
  });

  it('power-cut after the n-th flash operation: the card stops answering; the flash keeps a half-done page; reset boots', () => {
    const { dev, c, model } = card(['power-cut:half,op=flash-program,nth=3'], { seed: 7 });
    const page = new Uint8Array(128).fill(0x00);
    expect(c.mfbaWrite(0x500000, page).status).toBe(0);
    expect(c.mfbaWrite(0x500080, page).status).toBe(0);
    expect(() => c.mfbaWrite(0x500100, page)).toThrow(); // the card is gone mid-command
    expect(model.dead).toBe(true);
    expect(dev.read32(0)).toBe(0xffffffff);
    expect(dev.read32(c.vsec + 0x10)).toBe(0xffffffff);
    const third = model.flash.read(0x500100, 128);
    const programmed = third.filter((b) => b === 0).length;
    expect(programmed).toBeGreaterThan(0);
    expect(programmed).toBeLessThan(128);
    expect(model.stats().powerCuts).toBe(1);
    model.reset();
    expect(model.dead).toBe(false);
    expect(model.running?.versionString).toBe('14.14.1100');
    expect(c.mfbaRead(0x500000, 4).bytes.every((b) => b === 0)).toBe(true);
  });

  it('power-cut on a config access, and power-cut via powerCut()', () => {
    const a = card(['power-cut,op=config-write,nth=1']);
    a.dev.write32(0x58, 1);
    expect(a.dev.read32(0)).toBe(0xffffffff);
    const b = card([]);
    b.model.powerCut();
    expect(b.dev.read32(0)).toBe(0xffffffff);
    b.model.reset();
    expect(b.dev.read32(0)).toBe(0x101515b3);
  });

  it('busy-stuck on a gateway transaction: BUSY never clears', () => {
    const { c } = card(['busy-stuck,op=gateway']);
    expect(c.gwLock()).toBe(true);
    expect(() => c.gwSimple(0x06)).toThrow('gateway MFE_TIMEOUT');
  });

  it('fsm-error: an MCC instruction fails with the given FSM error code', () => {
    const dev = createSimDevice({ personality: 'cx4lx@14.25.1020', flash: makeMiniFlash({ version: [14, 25, 1020] }), faults: ['fsm-error:5'] });
    const c = new RawCard(dev);
    const body = new Uint8Array(0x20);
    body[3] = 1; // LOCK_UPDATE_HANDLE
    const r = c.reg(REG.MCC, 'set', body);
    expect(r.status).toBe(0);
    expect(r.data[14]).toBe(5); // error_code, dw3 bits 15:8
  });
});

describe('fault plans', () => {
  it('are reproducible from the seed (probabilistic faults)', () => {
    const run = (seed: number) => {
      const { c, model } = card(['icmd-status:5,reg=MGIR,p=0.3'], { seed });
      const out: number[] = [];
      for (let i = 0; i < 30; i++) out.push(c.reg(REG.MGIR, 'get', 0xa0).icmdStatus);
      return { out, fired: model.fired.map((f) => f.occurrence) };
    };
    const a = run(11);
    expect(run(11)).toEqual(a);
    expect(run(12).fired).not.toEqual(a.fired);
    expect(a.fired.length).toBeGreaterThan(0);
    expect(a.fired.length).toBeLessThan(30);
  });

  it('nth + times selects a run of occurrences', () => {
    const plan = new FaultPlan(1, ['write-ignored,op=flash-erase,nth=2,times=2']);
    const hits: boolean[] = [];
    for (let i = 0; i < 5; i++) hits.push(plan.check({ op: 'flash-erase', addr: 0 }) !== undefined);
    expect(hits).toEqual([false, true, true, false, false]);
    expect(plan.counts()).toEqual({ f1: { occurrences: 5, fired: 2 } });
  });

  it('address ranges restrict a fault', () => {
    const plan = new FaultPlan(1, ['power-cut,op=flash-program,addr=0x400000-0x800000,times=inf']);
    expect(plan.check({ op: 'flash-program', addr: 0x100 })).toBeUndefined();
    expect(plan.check({ op: 'flash-program', addr: 0x400100 })).toBeDefined();
  });

  it('parses the string syntax and prints it back', () => {
    expect(parseFault('busy-stuck,reg=MFBA,method=set,nth=3')).toEqual({
      effect: { kind: 'busy-stuck' },
      register: 0x9011,
      method: 'set',
      nth: 3,
    });
    expect(parseFault('power-cut,op=flash-write,nth=40,half')).toEqual({ effect: { kind: 'power-cut', half: true }, op: 'flash-write', nth: 40 });
    const plan = new FaultPlan(1, ['sem-held:4242,op=sem-icmd,times=inf', 'bit-flip:3,op=config-read,addr=0xc0-0xd8,p=0.5']);
    expect(plan.list().map(describeFault)).toEqual([
      'sem-held:4242,op=sem-icmd,times=inf',
      'bit-flip:3,op=config-read,addr=0xc0-0xd8,times=inf,p=0.5',
    ]);
  });

  it('rejects bad faults with SIM_BAD_FAULT', () => {
    for (const bad of ['explode', 'busy-stuck,op=flash-read', 'icmd-status', 'sem-held:0', 'busy-stuck,nth=0', 'busy-stuck,reg=NOPE', 'bit-flip,p=2', 'busy-stuck,color=red']) {
      expect(() => new FaultPlan(1, [bad]), bad).toThrow(expect.objectContaining({ code: 'SIM_BAD_FAULT' }));
    }
  });
});
