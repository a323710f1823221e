/** Access-register layouts (§3.3, §4.3, §8): each codec round-trips, and pins the byte positions the facts give. */
import { describe, expect, it } from 'vitest';
import {
  capMaskFor,
  capMaskPosition,
  decodeJedec,
  decodeMfba,
  encodeMfba,
  fsmErrorText,
  fsmStateName,
  fwManagedSupport,
  MCAM,
  mcamHasFeature,
  mcamSupportsRegister,
  MCC,
  MCC_SHORT_SIZE,
  MCDA,
  MCQI,
  MCQS,
  MFAI,
  MFBE,
  MFPA,
  MFRL,
  mfrlSupports,
  MGIR,
  mgirFwVersion,
  RegId,
  type RegisterCodec,
} from '../src/registers/index.js';

function roundTrip<T>(codec: RegisterCodec<T>, value: T): Uint8Array {
  const bytes = codec.encode(value);
  expect(bytes.length).toBe(codec.size);
  expect(codec.decode(bytes)).toEqual(value);
  expect(Array.from(codec.encode(codec.decode(bytes)))).toEqual(Array.from(bytes));
  return bytes;
}

const be32 = (b: Uint8Array, off: number) => ((b[off]! << 24) | (b[off + 1]! << 16) | (b[off + 2]! << 8) | b[off + 3]!) >>> 0;

describe('MGIR 0x9020', () => {
  it('round-trips; hw_dev_id at 0x0A, version bytes at 0x21–0x23, extended at 0x44/0x48/0x4C', () => {
    const b = roundTrip(MGIR, { hwDevId: 0x20b, fwMajor: 14, fwMinor: 14, fwSubminor: 0x4c, extendedMajor: 14, extendedMinor: 14, extendedSubminor: 1100 });
    expect(MGIR.id).toBe(0x9020);
    expect(MGIR.size).toBe(0xa0);
    expect((b[0x0a]! << 8) | b[0x0b]!).toBe(0x20b);
    expect([b[0x21], b[0x22], b[0x23]]).toEqual([14, 14, 0x4c]);
    expect([be32(b, 0x44), be32(b, 0x48), be32(b, 0x4c)]).toEqual([14, 14, 1100]);
  });
  it('prefers the extended version; decodes a 0x9C-byte (mlxsw) reply', () => {
    const b = MGIR.encode({ fwMajor: 14, fwMinor: 14, fwSubminor: 76, extendedMajor: 14, extendedMinor: 14, extendedSubminor: 1100 });
    expect(mgirFwVersion(MGIR.decode(b.subarray(0, 0x9c)))).toEqual({ major: 14, minor: 14, subminor: 1100 });
    expect(mgirFwVersion(MGIR.decode(MGIR.encode({ fwMajor: 12, fwMinor: 1, fwSubminor: 2 })))).toEqual({ major: 12, minor: 1, subminor: 2 });
  });
});

describe('MCAM 0x907F', () => {
  const all = [RegId.MCQS, RegId.MCQI, RegId.MCC, RegId.MCDA, RegId.MQIS, RegId.MGIR, RegId.MCDD];
  it('round-trips; cap_mask[0] at byte 8 holds MCQS bit 0 … MQIS bit 4, MGIR is cap_mask[2] bit 0', () => {
    const mask = capMaskFor(all);
    const b = roundTrip(MCAM, { accessRegGroup: 0, featureGroup: 0, regCapMask: mask, featureMask: [1, 2, 3, 4] });
    expect(be32(b, 8)).toBe(0x1f);
    expect(be32(b, 12)).toBe(1 << 28); // MCDD
    expect(be32(b, 16)).toBe(1); // MGIR
    expect(capMaskPosition(0x9060)).toEqual({ dword: 0, bit: 0 });
    expect(capMaskPosition(0x9020)).toEqual({ dword: 2, bit: 0 });
    expect(capMaskPosition(0x9100)).toBeUndefined();
  });
  it('names every missing register of the FW-managed gate (§3.1)', () => {
    const m = MCAM.decode(MCAM.encode({ regCapMask: capMaskFor(all) }));
    expect(fwManagedSupport(m)).toEqual({ supported: true, missing: [], mcddDma: true });
    const noMqis = MCAM.decode(MCAM.encode({ regCapMask: capMaskFor(all.filter((r) => r !== RegId.MQIS && r !== RegId.MGIR)) }));
    expect(fwManagedSupport(noMqis)).toMatchObject({ supported: false, missing: ['MQIS', 'MGIR'] });
    expect(mcamSupportsRegister(noMqis, RegId.MCC)).toBe(true);
  });
  it('reads feature bits with the NIC dword reversal by default, canonical on request', () => {
    const m = MCAM.decode(MCAM.encode({ featureMask: [0x1, 0, 0, 0x80000000] }));
    expect(mcamHasFeature(m, 0)).toBe(true); // reversed: bit 0 in dword 10
    expect(mcamHasFeature(m, 127)).toBe(true);
    expect(mcamHasFeature(m, 0, 'canonical')).toBe(false);
    expect(mcamHasFeature(m, 31, 'canonical')).toBe(true); // dword 13 bit 31
  });
});

describe('MFPA 0x9010', () => {
  it('round-trips; jedec at dw5, write-protect bits at dw4 17/16, capabilities at dw7', () => {
    const v = {
      addCap32b: false,
      fs: 0,
      bootAddress: 0x400000,
      wip: false,
      bulk32: true,
      bulk64: true,
      sectorWrp: true,
      subsectorWrp: false,
      flashNum: 1,
      jedecId: 0x1840ef,
      blockSize: 0,
      blockAlign: 0,
      sectorSizeLog2: 12,
      capabilityMask: 1 << 16,
    };
    const b = roundTrip(MFPA, v);
    expect(be32(b, 20)).toBe(0x1840ef);
    expect(be32(b, 16)).toBe(((1 << 30) | (1 << 29) | (1 << 17) | 1) >>> 0);
  });
  it('splits the JEDEC id: density<<16 | type<<8 | vendor (§4.3)', () => {
    expect(decodeJedec(0x1840ef)).toEqual({ jedecId: 0x1840ef, vendorId: 0xef, vendor: 'Winbond', type: 0x40, density: 0x18, sizeBytes: 16 << 20 });
    expect(decodeJedec(0x1940c8).vendor).toBe('GigaDevice');
    expect(decodeJedec(0x1820aa).vendor).toMatch(/unknown/);
  });
});

describe('MFBA 0x9011', () => {
  it('data dword i is the LE value of flash bytes 4i..4i+3 (§4.3)', () => {
    const data = Uint8Array.from([0x4d, 0x54, 0x46, 0x57, 1, 2, 3, 4]);
    const b = encodeMfba({ address: 0x1000, data });
    expect(b.length).toBe(12 + 8);
    expect(be32(b, 4) & 0x1ff).toBe(8);
    expect(be32(b, 8)).toBe(0x1000);
    expect(Array.from(b.subarray(12))).toEqual([0x57, 0x46, 0x54, 0x4d, 4, 3, 2, 1]);
    const d = decodeMfba(b);
    expect(d).toMatchObject({ address: 0x1000, size: 8, fs: 0, addCap32b: false });
    expect(Array.from(d.data)).toEqual(Array.from(data));
  });
  it('a GET request is the 12-byte header only', () => {
    const b = encodeMfba({ address: 0x80, size: 128 });
    expect(b.length).toBe(12);
    expect(decodeMfba(b)).toMatchObject({ address: 0x80, size: 128 });
  });
});

describe('MFBE / MFAI / MFRL', () => {
  it('MFBE round-trips; bulk64 is dw0 bit 29', () => {
    const b = roundTrip(MFBE, { addCap32b: false, bulk32: false, bulk64: true, fs: 0, address: 0x10000 });
    expect(be32(b, 0)).toBe(1 << 29);
    expect(be32(b, 8)).toBe(0x10000);
  });
  it('MFAI round-trips; use_address bit 30, address 23:0', () => {
    const b = roundTrip(MFAI, { useImageId: false, useAddress: true, permanent: false, address: 0x400000 });
    expect(be32(b, 0)).toBe(((1 << 30) | 0x400000) >>> 0);
  });
  it('MFRL round-trips; level in dw1 7:0; GET mask checks', () => {
    const b = roundTrip(MFRL, { resetLevel: 0x40 });
    expect(be32(b, 4)).toBe(0x40);
    expect(mfrlSupports(0x49, 0x40)).toBe(true);
    expect(mfrlSupports(0x09, 0x40)).toBe(false);
  });
});

describe('FSM registers', () => {
  it('MCQS round-trips', () => {
    roundTrip(MCQS, {
      lastIndexFlag: true,
      notSupported: false,
      deviceIndex: 0,
      componentIndex: 3,
      identifier: 1,
      progress: 100,
      componentStatus: 2,
      updateState: 1,
    });
  });
  it('MCQI round-trips with capabilities at 0x18 (kernel layout)', () => {
    const bytes = MCQI.encode({ componentIndex: 0, infoType: 0, infoSize: 0x14, dataSize: 0x14, capabilities: { supportedInfoBitmask: 3, componentSize: 0x400000, maxComponentSize: 0x800000, logMcdaWordSize: 2, mcdaMaxWriteSize: 128 } });
    expect(bytes.length).toBe(0x94);
    const d = MCQI.decode(bytes);
    expect(d.capabilities).toEqual({ supportedInfoBitmask: 3, componentSize: 0x400000, maxComponentSize: 0x800000, logMcdaWordSize: 2, mcdaMaxWriteSize: 128 });
    expect(be32(bytes, 0x20)).toBe(0x800000);
    expect(Array.from(MCQI.encode(d))).toEqual(Array.from(bytes));
  });
  it('MCC round-trips; a 0x1C reply decodes without specific_err', () => {
    const v = {
      timeElapsed: 5,
      activationDelay: 0,
      instruction: 1,
      componentIndex: 0,
      autoUpdate: false,
      updateHandle: 0xabcdef,
      ownerType: 0,
      ownerHost: 0,
      progress: 50,
      errorCode: 9,
      controlState: 3,
      componentSize: 0x400000,
      deviceIndex: 0,
      warning: 0,
      deviceType: 0,
      rejectedIndex: 0,
      indexSize: 0,
      specificErr: 7,
    };
    const b = roundTrip(MCC, v);
    expect(be32(b, 12)).toBe((50 << 16) | (9 << 8) | 3);
    const short = MCC.decode(b.subarray(0, MCC_SHORT_SIZE));
    expect(short.specificErr).toBeUndefined();
    expect(short.updateHandle).toBe(0xabcdef);
    expect(fsmStateName(3)).toBe('FSMST_DOWNLOAD');
    expect(fsmErrorText(9)).toBe('pending reset');
    expect(fsmErrorText(42)).toBe('unknown error');
  });
  it('MCDA round-trips; data dwords are LE values of the image bytes (§3.3)', () => {
    const data = new Uint8Array(128).map((_, i) => i);
    const b = MCDA.encode({ updateHandle: 0x123, offset: 0x80, size: 128, data });
    expect(b.length).toBe(0x90);
    expect(Array.from(b.subarray(16, 20))).toEqual([3, 2, 1, 0]);
    const d = MCDA.decode(b);
    expect(d).toMatchObject({ updateHandle: 0x123, offset: 0x80, size: 128 });
    expect(Array.from(d.data)).toEqual(Array.from(data));
  });
  it('refuses fields that do not fit', () => {
    expect(() => MCC.encode({ updateHandle: 1 << 24 })).toThrow(/does not fit/);
    expect(() => MCDA.encode({ data: new Uint8Array(3) })).toThrow(/multiple of 4/);
  });
});
