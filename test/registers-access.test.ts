/** Register access over ICMD (§6.3): TLV encoding, reply decoding, status → typed errors, retries. */
import { describe, expect, it } from 'vitest';
import { Fs3BurnError } from '../src/errors.js';
import type { IcmdChannel } from '../src/icmd/icmd.js';
import {
  decodeRegAccess,
  encodeRegAccess,
  ICMD_OPCODE_REG_ACCESS,
  MFRL,
  MGIR,
  mfbaRead,
  mfbaWrite,
  RegisterAccess,
  REG_DATA_OFFSET,
} from '../src/registers/index.js';
import { virtualClock } from '../src/vsec/index.js';

const be32 = (b: Uint8Array, off: number) => ((b[off]! << 24) | (b[off + 1]! << 16) | (b[off + 2]! << 8) | b[off + 3]!) >>> 0;

/** An ICMD channel that answers register accesses with a programmable handler. */
class FakeFw implements IcmdChannel {
  readonly mailboxSize = 0x340;
  sent: { opcode: number; input: Uint8Array; readSize: number }[] = [];
  constructor(private handler: (regId: number, method: number, reg: Uint8Array) => { status?: number; reg?: Uint8Array; throws?: Error }) {}
  send(opcode: number, input: Uint8Array, readSize: number): Uint8Array {
    this.sent.push({ opcode, input: input.slice(), readSize });
    const req = decodeRegAccess(input);
    const r = this.handler(req.registerId, req.method, req.register);
    if (r.throws) throw r.throws;
    const out = new Uint8Array(readSize);
    out.set(input.subarray(0, Math.min(input.length, readSize)));
    out[2] = (out[2]! & 0x80) | ((r.status ?? 0) & 0x7f); // status 14:8
    if (r.reg) out.set(r.reg.subarray(0, readSize - REG_DATA_OFFSET), REG_DATA_OFFSET);
    return out;
  }
}

function caught(fn: () => unknown): Fs3BurnError {
  try {
    fn();
  } catch (e) {
    if (e instanceof Fs3BurnError) return e;
    throw e;
  }
  throw new Error('expected an error');
}

describe('operation TLV + register TLV (§6.3)', () => {
  it('encodes type/len/method/register/class/tid at flint’s bit positions and decodes back', () => {
    const reg = new Uint8Array(12).fill(0xaa);
    const b = encodeRegAccess({ registerId: 0x9011, method: 1, tid: 0x1_0000_0002n, register: reg, regSize: 12 + 128 });
    expect(b.length).toBe(20 + 12);
    expect(be32(b, 0)).toBe(((1 << 27) | (4 << 16)) >>> 0);
    expect(be32(b, 4)).toBe(((0x9011 << 16) | (1 << 8) | 1) >>> 0);
    expect([be32(b, 8), be32(b, 12)]).toEqual([1, 2]);
    expect(be32(b, 16)).toBe(((3 << 27) | (((12 + 128 + 4) / 4) << 16)) >>> 0);
    const d = decodeRegAccess(b);
    expect(d).toMatchObject({ opType: 1, opLen: 4, dr: false, status: 0, registerId: 0x9011, method: 1, regClass: 1, tid: 0x1_0000_0002n, regTlvType: 3, regTlvLen: 36 });
    expect(Array.from(d.register)).toEqual(Array.from(reg));
  });
});

describe('RegisterAccess', () => {
  it('GET sends opcode 0x9001 with 20 + register bytes and decodes the reply', () => {
    const fw = new FakeFw(() => ({ reg: MGIR.encode({ hwDevId: 0x20b, extendedMajor: 14, extendedMinor: 32, extendedSubminor: 1908 }) }));
    const regs = new RegisterAccess(fw);
    const m = regs.get(MGIR);
    expect(m.hwDevId).toBe(0x20b);
    expect(m.extendedSubminor).toBe(1908);
    expect(fw.sent[0]!.opcode).toBe(ICMD_OPCODE_REG_ACCESS);
    expect(fw.sent[0]!.input.length).toBe(20 + 0xa0);
    expect(fw.sent[0]!.readSize).toBe(20 + 0xa0);
    expect(regs.stats.accesses['MGIR.GET']).toBe(1);
  });

  it.each([
    [1, 'REGISTER_DEV_BUSY', 'ME_REG_ACCESS_DEV_BUSY'],
    [2, 'REGISTER_VERSION_NOT_SUPPORTED', 'ME_REG_ACCESS_VER_NOT_SUPP'],
    [3, 'REGISTER_UNKNOWN_TLV', 'ME_REG_ACCESS_UNKNOWN_TLV'],
    [4, 'REGISTER_NOT_SUPPORTED', 'ME_REG_ACCESS_REG_NOT_SUPP'],
    [5, 'REGISTER_CLASS_NOT_SUPPORTED', 'ME_REG_ACCESS_CLASS_NOT_SUPP'],
    [6, 'REGISTER_METHOD_NOT_SUPPORTED', 'ME_REG_ACCESS_METHOD_NOT_SUPP'],
    [7, 'REGISTER_BAD_PARAM', 'ME_REG_ACCESS_BAD_PARAM'],
    [8, 'REGISTER_RESOURCE_NOT_AVAILABLE', 'ME_REG_ACCESS_RES_NOT_AVLBL'],
    [9, 'REGISTER_MSG_RECEIPT_ACK', 'ME_REG_ACCESS_MSG_RECPT_ACK'],
    [0x33, 'REGISTER_STATUS_UNKNOWN', undefined],
  ])('register status %i → %s', (status, code, flint) => {
    const regs = new RegisterAccess(new FakeFw(() => ({ status })));
    const e = caught(() => regs.set(MFRL, { resetLevel: 0x40 }));
    expect(e.code).toBe(code);
    expect(e.message).toMatch(/^MFRL SET: /);
    expect(e.data?.register).toBe('MFRL');
    if (flint) expect(e.data?.flintName).toBe(flint);
    if (status === 7) expect(e.hint).toMatch(/already updated on flash/);
  });

  it('re-throws ICMD errors with the register named and the code kept', () => {
    const inner = new Fs3BurnError('ICMD_BUSY_TIMEOUT', 'x: timed out (MFE_CMDIF_TIMEOUT_ERR)', { data: { flintName: 'MFE_CMDIF_TIMEOUT_ERR' } });
    const regs = new RegisterAccess(new FakeFw(() => ({ throws: inner })));
    const e = caught(() => mfbaRead(regs, 0, 128));
    expect(e.code).toBe('ICMD_BUSY_TIMEOUT');
    expect(e.message).toMatch(/^MFBA GET: .*MFE_CMDIF_TIMEOUT_ERR/);
    expect(e.data).toMatchObject({ register: 'MFBA', method: 'GET', flintName: 'MFE_CMDIF_TIMEOUT_ERR' });
    expect(e.cause).toBe(inner);
  });

  it('a reply for another register → REGISTER_REPLY_INVALID', () => {
    const fw: IcmdChannel = {
      mailboxSize: 0x340,
      send: (_o, input, readSize) => {
        const out = new Uint8Array(readSize);
        out.set(input.subarray(0, readSize));
        out[4] = 0x90;
        out[5] = 0x99;
        return out;
      },
    };
    expect(caught(() => new RegisterAccess(fw).get(MFRL)).code).toBe('REGISTER_REPLY_INVALID');
  });

  it('retries DEV_BUSY when asked (§4.6 mitigation), not by default', () => {
    let n = 0;
    const fw = new FakeFw(() => ({ status: ++n <= 2 ? 1 : 0, reg: MFRL.encode({ resetLevel: 0x49 }) }));
    const clock = virtualClock();
    const regs = new RegisterAccess(fw, { busyRetries: 3, busyRetryDelayMs: 5, clock });
    expect(regs.get(MFRL).resetLevel).toBe(0x49);
    expect(regs.stats.busyRetries).toBe(2);
    expect(clock.sleptMs).toBe(10);
    n = 0;
    expect(caught(() => new RegisterAccess(fw).get(MFRL)).code).toBe('REGISTER_DEV_BUSY');
  });

  it('MFBA GET sends the header only and announces 12 + size; SET reads back the header only', () => {
    const flash = new Uint8Array(256).map((_, i) => i);
    const fw = new FakeFw((id, method, reg) => {
      const addr = be32(reg, 8);
      const size = be32(reg, 4) & 0x1ff;
      if (method === 1) {
        const out = new Uint8Array(12 + size);
        out.set(reg.subarray(0, 12));
        for (let i = 0; i < size; i++) out[12 + i] = flash[addr + (i & ~3) + 3 - (i & 3)]!;
        return { reg: out };
      }
      for (let i = 0; i < size; i++) flash[addr + (i & ~3) + 3 - (i & 3)] = reg[12 + i]!;
      return {};
    });
    const regs = new RegisterAccess(fw);
    expect(Array.from(mfbaRead(regs, 8, 8))).toEqual([8, 9, 10, 11, 12, 13, 14, 15]);
    expect(fw.sent[0]!.input.length).toBe(20 + 12);
    expect(fw.sent[0]!.readSize).toBe(20 + 12 + 8);
    expect(be32(fw.sent[0]!.input, 16) >>> 16 & 0x7ff).toBe((12 + 8 + 4) / 4);
    mfbaWrite(regs, 16, Uint8Array.from([0xa, 0xb, 0xc, 0xd]));
    expect(fw.sent[1]!.readSize).toBe(20 + 12);
    expect(Array.from(flash.subarray(16, 20))).toEqual([0xa, 0xb, 0xc, 0xd]);
  });
});
