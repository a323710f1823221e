/**
 * The chunked flash writer on the simulated card: read first and skip identical sectors,
 * erase only when a bit must go 0 → 1, program only the blocks that differ, read back and
 * compare, retry what is transient (ICMD status 5, a stuck busy bit) and not what is
 * permanent (write protection), fall back to the gateway, stop only at a safe point.
 */
import { describe, expect, it } from 'vitest';
import { openDevice, type Device } from '../src/device/index.js';
import { Fs3BurnError } from '../src/errors.js';
import { ChunkedWriter, needsErase, programSpans, sectorJobs, type BurnEvent, type WriterOptions } from '../src/flows/index.js';
import type { SimDevice, SimOptions } from '../src/sim/index.js';
import { virtualClock } from '../src/vsec/index.js';
import { simCard } from './helpers/sim-card.js';

const SCRATCH = 0xc00000; // unused by the catalog images
const SECTOR = 0x1000;
const FAST = { retries: 3, minTimeoutMs: 0, maxTimeoutMs: 0 };

const open = (spec: string | SimOptions = 'cx4lx@14.25.1020') => simCard(spec, { icmd: { pollBudget: 32 } });

const pattern = (n: number, seed: number) => new Uint8Array(n).map((_, i) => (i * 131 + seed * 7 + (i >> 8)) & 0xff);
const mfbaSets = (sim: SimDevice) => sim.model.stats().icmd.byRegister['MFBA']?.set ?? 0;
const erases = (sim: SimDevice) => Object.values(sim.model.stats().flash.erases).reduce((a, b) => a + b, 0);

async function rejects(p: Promise<unknown>): Promise<Fs3BurnError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof Fs3BurnError) return e;
    throw e;
  }
  throw new Error('expected a rejection');
}

describe('sector arithmetic', () => {
  it('needsErase: only when some bit must go from 0 to 1', () => {
    expect(needsErase(Uint8Array.of(0xff, 0xf0), Uint8Array.of(0x0f, 0xf0))).toBe(false);
    expect(needsErase(Uint8Array.of(0xf0), Uint8Array.of(0xf1))).toBe(true);
  });

  it('programSpans: one dword-aligned span per block window, only where bytes differ', () => {
    const base = new Uint8Array(512).fill(0xff);
    const want = base.slice();
    want[5] = 0;
    want[130] = 1;
    want[140] = 2;
    expect(programSpans(base, want, 0x1000, 128)).toEqual([
      { offset: 4, length: 4 },
      { offset: 128, length: 16 },
    ]);
    expect(programSpans(base, base, 0, 128)).toEqual([]);
  });

  it('sectorJobs: regions split per 4 KiB sector, ascending', () => {
    const jobs = sectorJobs([{ addr: 0x2ff0, bytes: new Uint8Array(0x20) }, { addr: 0x10, bytes: new Uint8Array(4) }], SECTOR);
    expect(jobs.map((j) => [j.addr, j.pieces.map((p) => [p.off, p.bytes.length])])).toEqual([
      [0, [[0x10, 4]]],
      [0x2000, [[0xff0, 0x10]]],
      [0x3000, [[0, 0x10]]],
    ]);
  });
});

describe('ChunkedWriter on the FW path (MFBA / MFBE, §4.3)', () => {
  it('writes, then skips sectors that already hold the wanted bytes (no write reaches the chip)', async () => {
    const { sim, dev } = open();
    const data = pattern(3 * SECTOR, 1);
    const w = new ChunkedWriter(dev.flash, { retry: FAST });
    const first = await w.write('write', [{ addr: SCRATCH, bytes: data }]);
    expect(first).toMatchObject({ sectors: 3, sectorsWritten: 3, sectorsSkipped: 0, sectorsErased: 0 }); // blank flash: no erase needed
    expect(Array.from(sim.model.flash.read(SCRATCH, data.length))).toEqual(Array.from(data));
    const writes = sim.model.writesToFlash;
    const again = await w.write('write', [{ addr: SCRATCH, bytes: data }]);
    expect(again).toMatchObject({ sectors: 3, sectorsWritten: 0, sectorsSkipped: 3, sectorsAlreadyWritten: 3, bytesWritten: 0 });
    expect(sim.model.writesToFlash).toBe(writes);
  });

  it('erases only when a 0 → 1 bit is needed, and programs only the blocks that differ', async () => {
    const { sim, dev } = open();
    dev.eraseSector(SCRATCH);
    const w = new ChunkedWriter(dev.flash, { retry: FAST });
    const ones = new Uint8Array(SECTOR).fill(0xf0);
    const e0 = erases(sim);
    const m0 = mfbaSets(sim);
    await w.write('write', [{ addr: SCRATCH, bytes: ones }]);
    expect(erases(sim)).toBe(e0); // erased flash: only 1 → 0
    expect(mfbaSets(sim) - m0).toBe(SECTOR / 128); // 128-byte MFBA blocks (§4.3)
    // clear more bits in one block: no erase, one MFBA SET
    const fewer = ones.slice();
    fewer[200] = 0x30;
    const m1 = mfbaSets(sim);
    const r1 = await w.write('write', [{ addr: SCRATCH, bytes: fewer }]);
    expect(r1).toMatchObject({ sectorsErased: 0, sectorsWritten: 1, bytesWritten: 4 });
    expect(mfbaSets(sim) - m1).toBe(1);
    // a bit back to 1 needs the erase; the bytes around the region survive it
    const r2 = await w.write('write', [{ addr: SCRATCH + 200, bytes: Uint8Array.of(0xf1) }]);
    expect(r2).toMatchObject({ sectorsErased: 1, sectorsWritten: 1 });
    const after = sim.model.flash.read(SCRATCH, SECTOR);
    expect(after[200]).toBe(0xf1);
    expect(after[199]).toBe(0xf0);
    expect(after[4095]).toBe(0xf0);
  });

  it('rewrites a sector whose read-back differs (a program the FW acknowledged but did not do), and the data lands', async () => {
    const { sim, dev } = open({ personality: 'cx4lx@14.25.1020', faults: ['write-ignored,op=flash-program,nth=3'] });
    const w = new ChunkedWriter(dev.flash, { retry: FAST });
    const data = pattern(SECTOR, 2);
    const r = await w.write('write', [{ addr: SCRATCH, bytes: data }]);
    expect(r.retries).toBe(1);
    expect(sim.model.fired).toHaveLength(1);
    expect(Array.from(sim.model.flash.read(SCRATCH, data.length))).toEqual(Array.from(data));
  });

  it('gives up with BURN_VERIFY_FAILED when every attempt reads back something else', async () => {
    const { dev } = open({ personality: 'cx4lx@14.25.1020', faults: ['write-ignored,op=flash-program,nth=3,times=inf'] });
    const w = new ChunkedWriter(dev.flash, { retry: { ...FAST, retries: 2 } });
    const e = await rejects(w.write('write', [{ addr: SCRATCH, bytes: pattern(SECTOR, 2) }]));
    expect(e.code).toBe('BURN_VERIFY_FAILED');
    expect(e.message).toMatch(/read-back of the sector at 0xc00000 differs/);
    expect(w.stats.retries).toBe(2);
  });

  it('retries ICMD status 5 (transient) and succeeds', async () => {
    const { sim, dev } = open({ personality: 'cx4lx@14.25.1020', faults: ['icmd-status:5,reg=MFBA,method=set,nth=5,times=2'] });
    const w = new ChunkedWriter(dev.flash, { retry: FAST });
    const data = pattern(2 * SECTOR, 3);
    const r = await w.write('write', [{ addr: SCRATCH, bytes: data }]);
    expect(r.retries).toBe(2);
    expect(w.stats.retries).toBe(2);
    expect(Array.from(sim.model.flash.read(SCRATCH, data.length))).toEqual(Array.from(data));
  });

  it('gives up after the retry budget on a stuck busy bit, naming the ICMD error', async () => {
    const { dev } = open({ personality: 'cx4lx@14.25.1020', faults: ['busy-stuck,reg=MFBA,method=set,nth=3'] });
    const w = new ChunkedWriter(dev.flash, { retry: { retries: 2, minTimeoutMs: 0 } });
    const e = await rejects(w.write('write', [{ addr: SCRATCH, bytes: pattern(SECTOR, 4) }]));
    expect(['ICMD_BUSY_TIMEOUT', 'ICMD_IFC_BUSY']).toContain(e.code);
    expect(w.stats.retries).toBe(2); // both retries spent
    expect(e.data).toMatchObject({ phase: 'write', sector: SCRATCH, method: 'fw' });
  });

  it('falls back to the direct gateway when ICMD stays stuck, and finishes there', async () => {
    const { sim, dev } = open({ personality: 'cx4lx@14.25.1020', faults: ['busy-stuck,reg=MFBA,method=set,nth=40'] });
    let gw: Device | undefined;
    const w = new ChunkedWriter(dev.flash, {
      retry: { retries: 1, minTimeoutMs: 0 },
      fallback: () => {
        dev.endFlashSession();
        gw = openDevice(dev.access, { clock: virtualClock(), flash: { forceGateway: true } });
        return gw.flash;
      },
    });
    const data = pattern(4 * SECTOR, 5);
    const r = await w.write('write', [{ addr: SCRATCH, bytes: data }]);
    expect(r.sectorsWritten).toBe(4);
    expect(w.fellBack).toMatchObject({ from: 'fw', to: 'gateway' });
    expect(w.flash.method).toBe('gateway');
    expect(Array.from(sim.model.flash.read(SCRATCH, data.length))).toEqual(Array.from(data));
    expect(sim.model.icmdHung).toBe(true);
    gw!.flash.close();
  });

  it('fails at once on a write-protected flash (permanent: no retry)', async () => {
    const { sim, dev } = open({ personality: 'cx4lx@14.25.1020', knobs: { writeProtect: true } });
    const w = new ChunkedWriter(dev.flash, { retry: FAST });
    const before = mfbaSets(sim);
    const e = await rejects(w.write('write', [{ addr: SCRATCH + 0x10, bytes: pattern(0x40, 6) }]));
    expect(e.code).toBe('FLASH_WRITE_PROTECTED');
    expect(w.stats.retries).toBe(0);
    expect(mfbaSets(sim) - before).toBe(1); // one attempt, refused by the FW (ICMD status 7)
    expect(sim.model.writesToFlash).toBe(0);
  });

  it("refuses a noerase write that would need an erase (flint's signature / invalidation writes)", async () => {
    const { dev } = open();
    const w = new ChunkedWriter(dev.flash, { retry: FAST });
    const e = await rejects(w.write('signature', [{ addr: 0, bytes: new Uint8Array(16).fill(0xff) }], { erase: 'never' }));
    expect(e.code).toBe('BURN_WRITE_FAILED');
    expect(e.message).toMatch(/without an erase/);
  });

  it('a noerase write of 4 zero bytes reads and programs only its dword', async () => {
    const { sim, dev } = open();
    const w = new ChunkedWriter(dev.flash, { retry: FAST });
    const before = mfbaSets(sim);
    const r = await w.write('invalidate', [{ addr: 0, bytes: new Uint8Array(4) }], { erase: 'never' });
    expect(r).toMatchObject({ sectorsErased: 0, bytesWritten: 4 });
    expect(mfbaSets(sim) - before).toBe(1);
    expect(Array.from(sim.model.flash.read(0, 8))).toEqual([0, 0, 0, 0, 0x8c, 0xdf, 0xd0, 0x00]);
  });

  it('compare: equal / first mismatch, writing nothing', async () => {
    const { sim, dev } = open();
    const w = new ChunkedWriter(dev.flash, { retry: FAST });
    const head = sim.model.flash.read(0, 64);
    expect(await w.compare('verify', [{ addr: 0, bytes: head }])).toEqual({ equal: true });
    const other = head.slice();
    other[33] ^= 1;
    expect(await w.compare('verify', [{ addr: 0, bytes: other }])).toEqual({ equal: false, firstMismatch: 33 });
  });
});

describe('abort and progress', () => {
  it('stops only between sectors: the sectors before are complete, the ones after untouched', async () => {
    const { sim, dev } = open();
    const ac = new AbortController();
    const events: BurnEvent[] = [];
    const opts: WriterOptions = {
      retry: FAST,
      signal: ac.signal,
      onEvent: (e) => {
        events.push(e);
        if (e.done === 2 * SECTOR) ac.abort(new Error('user'));
      },
    };
    const w = new ChunkedWriter(dev.flash, opts);
    const data = pattern(5 * SECTOR, 7);
    const e = await rejects(w.write('write', [{ addr: SCRATCH, bytes: data }]));
    expect(e.code).toBe('BURN_ABORTED');
    expect(e.data).toMatchObject({ sectorsDone: 2, sectorsTotal: 5 });
    expect(Array.from(sim.model.flash.read(SCRATCH, 2 * SECTOR))).toEqual(Array.from(data.subarray(0, 2 * SECTOR)));
    expect(sim.model.flash.read(SCRATCH + 2 * SECTOR, 3 * SECTOR).every((b) => b === 0xff)).toBe(true);
    expect(events.map((x) => x.done)).toEqual([0, SECTOR, 2 * SECTOR]);
    expect(events.every((x) => x.phase === 'write' && x.total === 5 * SECTOR)).toBe(true);
  });

  it('an abort from a timer lands between sectors', async () => {
    const { dev } = open();
    const ac = new AbortController();
    const w = new ChunkedWriter(dev.flash, { retry: FAST, signal: ac.signal });
    setTimeout(() => ac.abort(), 0);
    const e = await rejects(w.write('write', [{ addr: SCRATCH, bytes: pattern(64 * SECTOR, 8) }]));
    expect(e.code).toBe('BURN_ABORTED');
    expect((e.data?.sectorsDone as number) < 64).toBe(true);
  });
});
