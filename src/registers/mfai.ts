/**
 * MFAI 0x9029, flash active image (§4.3): dw0 use_image_id 31, use_address 30,
 * permanent 29, address 23:0. flint's ISFU path sends {address = new_start,
 * use_address = 1} (§2.3 step 4).
 */
import { getField, getFlag, image, setField, setFlag, type RegisterCodec } from './fields.js';
import { RegId } from './ids.js';

export const MFAI_SIZE = 0x10;

export interface Mfai {
  useImageId: boolean;
  useAddress: boolean;
  permanent: boolean;
  address: number;
}

export const MFAI: RegisterCodec<Mfai> = {
  name: 'MFAI',
  id: RegId.MFAI,
  size: MFAI_SIZE,
  encode(v) {
    const b = image(MFAI_SIZE);
    setFlag(b, 0, 31, v.useImageId);
    setFlag(b, 0, 30, v.useAddress);
    setFlag(b, 0, 29, v.permanent);
    setField(b, 0, 23, 0, v.address ?? 0, 'MFAI.address');
    return b;
  },
  decode(b) {
    return {
      useImageId: getFlag(b, 0, 31),
      useAddress: getFlag(b, 0, 30),
      permanent: getFlag(b, 0, 29),
      address: getField(b, 0, 23, 0),
    };
  },
};
