/**
 * Device operations against the simulated ConnectX-4 Lx (src/sim): identify each
 * personality, read / erase / write through MFBA and through the HW gateway, the 14.14
 * warm-boot hang, semaphores held by other owners, FW faults, FSM registers, counts.
 */
import { describe, expect, it } from 'vitest';
import { Fs3BurnError } from '../src/errors.js';
import { openDevice, type Device } from '../src/device/index.js';
import { createSimDevice } from '../src/sim/index.js';
import { virtualClock } from '../src/vsec/index.js';
import { simCard } from './helpers/sim-card.js';

const PERSONALITIES = ['cx4lx@14.14.1100', 'cx4lx@14.25.1020', 'cx4lx@14.32.1908'] as const;
const MAGIC = [0x4d, 0x54, 0x46, 0x57, 0x8c, 0xdf, 0xd0, 0x00, 0xde, 0xad, 0x92, 0x70, 0x41, 0x54, 0xbe, 0xef];
const SCRATCH = 0xc00000; // unused by the catalog images (slot 0 ≈ 2.5 MiB, device data ≥ 0xFA0000)


function caught(fn: () => unknown): Fs3BurnError {
  try {
    fn();
  } catch (e) {
    if (e instanceof Fs3BurnError) return e;
    throw e;
  }
  throw new Error('expected an error');
}

const pattern = (n: number, seed: number) => new Uint8Array(n).map((_, i) => (i * 31 + seed) & 0xff);

describe.each(PERSONALITIES)('identify %s', (p) => {
  it('HW id, PCI id, FW version (MGIR), PSID, capabilities, flash, method', () => {
    const { dev } = simCard(p);
    const id = dev.identify();
    const version = p.split('@')[1]!;
    expect(id).toMatchObject({
      accessMode: 'vsec',
      hwId: 0x20b,
      deviceName: 'ConnectX4LX',
      pciVendorId: 0x15b3,
      pciDeviceId: 0x1015,
      livefish: false,
      fwVersion: { text: version },
      accessMethod: { method: 'fw' },
      flash: { source: 'MFPA', jedecId: 0x1840ef, vendor: 'Winbond', sizeBytes: 16 << 20, sectorSize: 0x1000, writeProtected: false },
      image: { start: 0, fwVersion: { text: version } },
    });
    expect(id.psid).toMatch(/^MT_\d+$/);
    if (p.endsWith('14.14.1100')) {
      // §3.1 / §6.4: MCAM → REG_NOT_SUPP on old FW: legacy only
      expect(id.capabilities).toEqual({ mcamSupported: false, fwManagedFlow: false, missing: ['MCAM'], mcddDma: false });
    } else {
      expect(id.capabilities).toMatchObject({ mcamSupported: true, fwManagedFlow: true, missing: [] });
    }
    dev.close();
  });
});

describe('flash through MFBA / MFBE (FW access, §4.3)', () => {
  it('reads the image start (magic) and agrees with the flash contents', () => {
    const { sim, dev } = simCard('cx4lx@14.14.1100');
    expect(Array.from(dev.readFlash(0, 16))).toEqual(MAGIC);
    const got = dev.readFlash(0x1234, 1000);
    expect(Array.from(got)).toEqual(Array.from(sim.model.flash.read(0x1234, 1000)));
    // 128-byte MFBA blocks: 0x1234..0x161C touches 9 blocks
    expect(dev.stats().registers.accesses['MFBA.GET']).toBe(1 + 9);
  });

  it('erase + unaligned write + read-back; bytes outside the write stay erased', () => {
    const { sim, dev } = simCard('cx4lx@14.25.1020');
    dev.eraseSector(SCRATCH);
    const data = pattern(300, 7);
    dev.writeFlash(SCRATCH + 0x10, data);
    expect(Array.from(dev.readFlash(SCRATCH + 0x10, 300))).toEqual(Array.from(data));
    expect(Array.from(sim.model.flash.read(SCRATCH + 0x10, 300))).toEqual(Array.from(data));
    expect(sim.model.flash.read(SCRATCH, 0x10).every((b) => b === 0xff)).toBe(true);
    expect(sim.model.flash.read(SCRATCH + 0x10 + 300, 0x100).every((b) => b === 0xff)).toBe(true);
    // a second write into the same block leaves the first one alone (0xFF padding)
    dev.writeFlash(SCRATCH + 0x200, Uint8Array.from([1, 2, 3, 4]));
    expect(Array.from(dev.readFlash(SCRATCH + 0x10, 300))).toEqual(Array.from(data));
    const s = dev.stats();
    expect(s.registers.accesses['MFBE.SET']).toBe(1);
    expect(s.flash).toMatchObject({ bytesWritten: 304, sectorsErased: 1 });
    expect(sim.model.stats().flash.erases).toEqual({ '4k': 1 });
  });

  it('erases whole sectors over a range with progress', () => {
    const { sim, dev } = simCard('cx4lx@14.32.1908');
    dev.writeFlash(SCRATCH, new Uint8Array(0x100)); // zeros
    const steps: number[] = [];
    dev.eraseRange(SCRATCH + 0x10, 0x1ff0, (p) => steps.push(p.done));
    expect(steps).toEqual([1, 2]);
    expect(sim.model.flash.read(SCRATCH, 0x2000).every((b) => b === 0xff)).toBe(true);
  });

  it('holds the flash-programming semaphore (space 0xA + 0x10) from the first write until close', () => {
    const { sim, dev } = simCard('cx4lx@14.25.1020', { ownerId: 4321 });
    dev.eraseSector(SCRATCH);
    dev.writeFlash(SCRATCH, pattern(256, 1));
    // one take per ICMD command (MFPA, MFBE, 2 × MFBA) + one for the whole flash session
    expect(sim.model.stats().semaphores.takes).toBe(dev.stats().icmd.commands + 1);
    dev.endFlashSession();
    dev.writeFlash(SCRATCH + 0x100, pattern(128, 2));
    expect(sim.model.stats().semaphores.takes).toBe(dev.stats().icmd.commands + 2);
    dev.close();
  });

  it('a write-protected flash: MFPA says so, MFBA SET (ICMD status 7) fails with FLASH_WRITE_PROTECTED', () => {
    const { dev } = simCard({ personality: 'cx4lx@14.25.1020', knobs: { writeProtect: true } });
    expect(dev.flashParams().writeProtected).toBe(true);
    const e = caught(() => dev.writeFlash(SCRATCH, pattern(128, 3)));
    expect(e.code).toBe('FLASH_WRITE_PROTECTED');
    expect(e.data?.causeCode).toBe('ICMD_WRITE_PROTECTED');
    expect(e.message).toMatch(/^Flash write of 128 bytes to address 0xc00000 failed: MFBA SET:/);
  });

  it('reads the image extent and parses it with every section CRC good', () => {
    const { sim, dev } = simCard('cx4lx@14.14.1100');
    const progress: string[] = [];
    const img = dev.readImage({ onProgress: (p) => progress.push(p.phase) });
    expect(img.start).toBe(0);
    expect(img.image.imageInfo?.fwVersion).toEqual({ major: 14, minor: 14, subminor: 1100 });
    for (const e of img.image.entries) expect(e.sectionCrcActual === e.sectionCrc || e.noCrc).toBe(true);
    expect(img.extent).toBeGreaterThan(0x200000);
    expect(Array.from(img.flash.subarray(0, img.extent))).toEqual(Array.from(sim.model.flash.read(0, img.extent)));
    expect(progress).toContain('read image sections');
  });
});

describe('flash through the direct HW gateway (§4.2)', () => {
  it('forced (-ocr): JEDEC, erase, page program, read-back; lock released and cache replacement restored', () => {
    const { sim, dev } = simCard('cx4lx@14.14.1100', { flash: { forceGateway: true } });
    expect(dev.flashMethod().method).toBe('gateway');
    const params = dev.flashParams();
    expect(params).toMatchObject({ source: 'gateway', jedecId: 0x1840ef, sizeBytes: 16 << 20, writeProtected: false });
    expect(Array.from(dev.readFlash(0, 16))).toEqual(MAGIC);
    dev.eraseSector(SCRATCH);
    const data = pattern(700, 9);
    dev.writeFlash(SCRATCH + 0x30, data);
    expect(Array.from(dev.readFlash(SCRATCH + 0x30, 700))).toEqual(Array.from(data));
    expect(Array.from(sim.model.flash.read(SCRATCH + 0x30, 700))).toEqual(Array.from(data));
    expect(sim.model.flash.read(SCRATCH, 0x30).every((b) => b === 0xff)).toBe(true);
    const g = sim.model.stats().gateway;
    expect(g.withoutLock).toBe(0);
    expect(g.whileCacheReplacementOn).toBe(0);
    expect(g.spiCommands['0x20']).toBe(1); // one 4 KiB erase
    expect(g.spiCommands['0x02']).toBe(3); // 0x30..0x2EC touches 3 pages
    expect(sim.model.stats().icmd.byRegister.MFBA).toBeUndefined();
    // the lock is free again and 0xF0420 bit 0 is back on
    expect(sim.model.stats().gateway.lockContended).toBe(0);
  });

  it('chosen automatically when no FW runs (livefish: cache-replacement guard zero, no ICMD)', () => {
    const { dev } = simCard({ personality: 'cx4lx@14.14.1100', knobs: { livefish: true } });
    const id = dev.identify();
    expect(id).toMatchObject({ livefish: true, hwId: 0x20b, pciDeviceId: 0x20b, accessMethod: { method: 'gateway' } });
    expect(id.fwVersion).toBeUndefined();
    expect(id.capabilities).toBeUndefined();
    expect(id.psid).toMatch(/^MT_/);
    expect(dev.hasIcmd).toBe(false);
    expect(caught(() => dev.mfrlLevels()).code).toBe('ICMD_UNAVAILABLE');
  });

  it('write-protect bits in the status register → FLASH_WRITE_PROTECTED', () => {
    const { dev } = simCard({ personality: 'cx4lx@14.14.1100', knobs: { writeProtect: true } }, { flash: { forceGateway: true } });
    expect(dev.flashParams().writeProtected).toBe(true);
    expect(caught(() => dev.eraseSector(SCRATCH)).code).toBe('FLASH_WRITE_PROTECTED');
  });

  it('the HW lock held by another agent → FLASH_GATEWAY_LOCKED', () => {
    const { dev } = simCard({ personality: 'cx4lx@14.14.1100', faults: ['sem-held:1,op=gateway-lock,times=inf'] }, { flash: { forceGateway: true, gatewayLockTries: 8 } });
    const e = caught(() => dev.readFlash(0, 16));
    expect(e.code).toBe('FLASH_GATEWAY_LOCKED');
    expect(e.message).toContain('Can not obtain Flash semaphore');
  });

  it('a transaction whose BUSY never clears → FLASH_GATEWAY_TIMEOUT', () => {
    const { dev } = simCard({ personality: 'cx4lx@14.14.1100', faults: ['busy-stuck,op=gateway,nth=3'] }, { flash: { forceGateway: true, gatewayBusyPolls: 50 } });
    expect(caught(() => dev.readFlash(0, 64)).code).toBe('FLASH_GATEWAY_TIMEOUT');
  });
});

describe('14.14.1100 warm-boot hang (§4.6)', () => {
  it('after MFAI + MFRL 0x40 the next ICMD command times out (ICMD_BUSY_TIMEOUT), then the interface is busy', () => {
    const { sim, dev } = simCard('cx4lx@14.14.1100', { icmd: { pollBudget: 40 } });
    const levels = dev.mfrlLevels();
    expect(levels & 0x40).toBe(0x40); // §8: read the supported levels first
    dev.mfai({ address: 0 });
    dev.mfrl(0x40);
    const e = caught(() => dev.writeFlash(0, Uint8Array.from([0, 0, 0, 0])));
    expect(e.code).toBe('ICMD_BUSY_TIMEOUT');
    expect(e.message).toContain('MFE_CMDIF_TIMEOUT_ERR');
    expect(e.data?.flintName).toBe('MFE_CMDIF_TIMEOUT_ERR');
    expect(e.data?.polls).toBe(40);
    expect(caught(() => dev.readFlash(0, 4)).code).toBe('ICMD_IFC_BUSY');
    expect(sim.model.stats().icmd.hung).toBeGreaterThan(0);
    sim.model.reset('warm');
    expect(Array.from(dev.readFlash(0, 16))).toEqual(MAGIC);
  });

  it('14.25.1020 does not hang after the same request', () => {
    const { dev } = simCard('cx4lx@14.25.1020');
    dev.mfai({ address: 0 });
    dev.mfrl(0x40);
    expect(Array.from(dev.readFlash(0, 16))).toEqual(MAGIC);
  });
});

describe('semaphores held by other owners', () => {
  it('ICMD semaphore (space 0xA + 0) → SEMAPHORE_HELD with the owner id', () => {
    const { dev } = simCard({ personality: 'cx4lx@14.25.1020', faults: ['sem-held:4242,op=sem-icmd,times=inf'] }, { icmd: { semaphoreTries: 6 } });
    const e = caught(() => dev.fwVersion());
    expect(e.code).toBe('SEMAPHORE_HELD');
    expect(e.message).toContain('held by another owner (id 4242)');
    expect(e.data).toMatchObject({ owner: 4242, semaphore: 'ICMD', offset: 0 });
  });

  it('flash-programming semaphore (space 0xA + 0x10) → SEMAPHORE_HELD on the first write', () => {
    const { dev } = simCard({ personality: 'cx4lx@14.25.1020', faults: ['sem-held:777,op=sem-flash,times=inf'] });
    expect(Array.from(dev.readFlash(0, 4))).toEqual(MAGIC.slice(0, 4)); // reads do not need it
    const e = caught(() => dev.eraseSector(SCRATCH));
    expect(e.code).toBe('SEMAPHORE_HELD');
    expect(e.data).toMatchObject({ owner: 777, semaphore: 'flash-programming', offset: 0x10, tries: 40 });
  });

  it('VSEC semaphore → VSEC_SEM_LOCKED', () => {
    const sim = createSimDevice({ personality: 'cx4lx@14.25.1020', faults: ['sem-held:9,op=sem-vsec,times=inf'] });
    const e = caught(() => openDevice(sim, { clock: virtualClock(), vsec: { semRetries: 16 } }));
    expect(e.code).toBe('VSEC_SEM_LOCKED');
  });
});

describe('FW faults on the register path', () => {
  it('ICMD status 5 → ICMD_FW_BUSY (MFE_CMDIF_TIMEOUT_ERR); retried when asked', () => {
    const spec = { personality: 'cx4lx@14.25.1020', faults: ['icmd-status:5,reg=MFBA,method=get'] };
    const e = caught(() => simCard(spec).dev.readFlash(0, 4));
    expect(e.code).toBe('ICMD_FW_BUSY');
    expect(e.message).toContain('MFE_CMDIF_TIMEOUT_ERR');
    const { dev } = simCard(spec, { registers: { busyRetries: 2 } });
    expect(Array.from(dev.readFlash(0, 4))).toEqual(MAGIC.slice(0, 4));
    expect(dev.stats().registers.busyRetries).toBe(1);
  });

  it('interface busy before go → ICMD_IFC_BUSY', () => {
    const { dev } = simCard({ personality: 'cx4lx@14.25.1020', faults: ['ifc-busy:3,reg=MGIR'] });
    expect(caught(() => dev.fwVersion()).code).toBe('ICMD_IFC_BUSY');
  });

  it('register BAD_PARAM → REGISTER_BAD_PARAM with flint’s hint', () => {
    const { dev } = simCard({ personality: 'cx4lx@14.25.1020', faults: ['reg-status:7,reg=MFRL,method=set'] });
    const e = caught(() => dev.mfrl(0x40));
    expect(e.code).toBe('REGISTER_BAD_PARAM');
    expect(e.hint).toMatch(/already updated on flash/);
  });

  it('the busy bit stuck → ICMD_BUSY_TIMEOUT within the configured budget', () => {
    const { dev } = simCard({ personality: 'cx4lx@14.25.1020', faults: ['busy-stuck,reg=MFPA'] }, { icmd: { pollBudget: 20 } });
    expect(caught(() => dev.flashParams()).code).toBe('ICMD_BUSY_TIMEOUT');
  });
});

describe('FSM and reset registers for the flows', () => {
  it('MCQS / MCQI / MCC GET on 14.25.1020', () => {
    const { dev } = simCard('cx4lx@14.25.1020');
    expect(dev.mcqs(0)).toMatchObject({ lastIndexFlag: true, componentIndex: 0, identifier: 1 });
    expect(dev.mcqi(0).capabilities).toMatchObject({ mcdaMaxWriteSize: 128, maxComponentSize: 0x800000 });
    const mcc = dev.mccQuery({ updateHandle: 0 });
    expect(mcc.controlState).toBe(0); // IDLE
    expect(mcc.updateHandle).not.toBe(0);
    expect(dev.mfrlLevels()).toBe(0x49);
  });

  it('MCAM-gated registers are REG_NOT_SUPP on 14.14.1100', () => {
    const { dev } = simCard('cx4lx@14.14.1100');
    expect(caught(() => dev.mccQuery()).code).toBe('REGISTER_NOT_SUPPORTED');
    expect(dev.mcam()).toBeUndefined();
  });

  it('MFAI round trip', () => {
    const { dev } = simCard('cx4lx@14.25.1020');
    dev.mfai({ address: 0x400000 });
    expect(dev.mfaiQuery()).toMatchObject({ useAddress: true, address: 0x400000 });
  });
});

describe('operation counts', () => {
  it('the client’s config counts match the card’s', () => {
    const { sim, dev } = simCard('cx4lx@14.25.1020');
    dev.identify({ readImage: false });
    dev.readFlash(0, 1024);
    const mine = dev.stats();
    const card = sim.model.stats();
    expect(mine.config).toEqual(card.config);
    expect(mine.icmd.commands).toBe(card.icmd.commands);
    expect(mine.registers.accesses['MFBA.GET']).toBe(1024 / 128 + 0);
    expect(card.vsec.unlockedAccesses).toBe(0);
    expect(card.icmd.withoutSemaphore).toBe(0);
  });

  it('holding the VSEC semaphore per command cuts the semaphore traffic', () => {
    const a = simCard('cx4lx@14.25.1020').dev;
    const b = simCard('cx4lx@14.25.1020', { icmd: { holdVsecPerCommand: true } }).dev;
    a.readFlash(0, 4096);
    b.readFlash(0, 4096);
    expect(Array.from(b.readFlash(0, 16))).toEqual(MAGIC);
    const sa = a.stats();
    const sb = b.stats();
    expect(sb.vsec.semAcquires).toBeLessThan(sa.vsec.semAcquires / 4);
    expect(sb.config.reads + sb.config.writes).toBeLessThan(sa.config.reads + sa.config.writes);
  });

  it('FLAG latency shows up as flag polls', () => {
    const { dev } = simCard({ personality: 'cx4lx@14.25.1020', knobs: { vsecFlagLatency: 2 } });
    dev.fwVersion();
    expect(dev.stats().vsec.flagPolls).toBeGreaterThan(0);
  });
});
