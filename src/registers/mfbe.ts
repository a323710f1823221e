/**
 * MFBE 0x9012, flash block erase (§4.3): dw0 add_cap_32b 31, bulk32 30, bulk64 29, fs 5:4;
 * dw2 address. Erases a 4 KiB sector, or 64 KiB with bulk64 (bit 29).
 */
import type { RegisterAccess } from './access.js';
import { getField, getFlag, image, setField, setFlag, type RegisterCodec } from './fields.js';
import { RegId } from './ids.js';

export const MFBE_SIZE = 0xc;

export interface Mfbe {
  addCap32b: boolean;
  bulk32: boolean;
  bulk64: boolean;
  fs: number;
  address: number;
}

export const MFBE: RegisterCodec<Mfbe> = {
  name: 'MFBE',
  id: RegId.MFBE,
  size: MFBE_SIZE,
  encode(v) {
    const b = image(MFBE_SIZE);
    setFlag(b, 0, 31, v.addCap32b);
    setFlag(b, 0, 30, v.bulk32);
    setFlag(b, 0, 29, v.bulk64);
    setField(b, 0, 5, 4, v.fs ?? 0, 'MFBE.fs');
    setField(b, 2, 31, 0, (v.address ?? 0) >>> 0, 'MFBE.address');
    return b;
  },
  decode(b) {
    return {
      addCap32b: getFlag(b, 0, 31),
      bulk32: getFlag(b, 0, 30),
      bulk64: getFlag(b, 0, 29),
      fs: getField(b, 0, 5, 4),
      address: getField(b, 2, 31, 0),
    };
  },
};

/** Erase the 4 KiB sector (or 64 KiB block with `bulk64`) at `address`. */
export function mfbeErase(regs: RegisterAccess, address: number, opts: { bulk64?: boolean; fs?: number } = {}): void {
  const payload = MFBE.encode({ address, bulk64: opts.bulk64 ?? false, fs: opts.fs ?? 0, addCap32b: address > 0xffffff });
  // the reply repeats the request: only the operation TLV's status dword is read
  regs.raw({ registerId: RegId.MFBE, method: 'SET', payload, readSize: MFBE_SIZE, skipReply: { from: 0, to: MFBE_SIZE } });
}
