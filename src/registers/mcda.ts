/**
 * MCDA 0x9063, component data access (§3.3): dw0 update_handle 23:0; dw1 offset; dw2 size
 * 15:0; dw4… data[32], each data dword the little-endian value of 4 image bytes (§3.3,
 * agreed by the kernel, §8), so each 4-byte group is reversed in the BE register image.
 */
import { Fs3BurnError } from '../errors.js';
import { getField, image, setField, swapDwordBytes, type RegisterCodec } from './fields.js';
import { RegId } from './ids.js';

export const MCDA_HEADER_SIZE = 0x10;
export const MCDA_MAX_DATA = 0x80;
export const MCDA_SIZE = MCDA_HEADER_SIZE + MCDA_MAX_DATA;

export interface Mcda {
  updateHandle: number;
  offset: number;
  size: number;
  /** Component bytes in image order. */
  data: Uint8Array;
}

export const MCDA: RegisterCodec<Mcda> = {
  name: 'MCDA',
  id: RegId.MCDA,
  size: MCDA_SIZE,
  encode(v) {
    const data = v.data ?? new Uint8Array(0);
    if (data.length > MCDA_MAX_DATA || data.length % 4 !== 0) {
      throw new Fs3BurnError('REGISTER_ENCODE_INVALID', `MCDA: data of ${data.length} bytes must be a multiple of 4, at most ${MCDA_MAX_DATA}`, {
        data: { length: data.length },
      });
    }
    const b = image(MCDA_HEADER_SIZE + data.length);
    setField(b, 0, 23, 0, v.updateHandle ?? 0, 'MCDA.update_handle');
    setField(b, 1, 31, 0, v.offset ?? 0, 'MCDA.offset');
    setField(b, 2, 15, 0, v.size ?? data.length, 'MCDA.size');
    b.set(swapDwordBytes(data), MCDA_HEADER_SIZE);
    return b;
  },
  decode(b) {
    const size = getField(b, 2, 15, 0);
    const avail = Math.max(0, Math.min(size, b.length - MCDA_HEADER_SIZE)) & ~3;
    return {
      updateHandle: getField(b, 0, 23, 0),
      offset: getField(b, 1, 31, 0),
      size,
      data: swapDwordBytes(b.subarray(MCDA_HEADER_SIZE, MCDA_HEADER_SIZE + avail)),
    };
  },
};
