/**
 * MCQS 0x9060, component query status (§3.3): dw0 last_index_flag 31, not_supported 30,
 * device_index 27:16, component_index 15:0; dw1 identifier 15:0; dw2 progress 15:9,
 * component_status 8:4, update_state 3:0. §8: the kernel reserves dw0 30:24 and has
 * fw_device in 23:16, so only last_index_flag and component_index are reliable.
 */
import { getField, getFlag, image, setField, setFlag, type RegisterCodec } from './fields.js';
import { RegId } from './ids.js';

export const MCQS_SIZE = 0x10;

export interface Mcqs {
  lastIndexFlag: boolean;
  /** mstflint's reading; not reliable (§8). */
  notSupported: boolean;
  /** mstflint's reading; not reliable (§8). */
  deviceIndex: number;
  componentIndex: number;
  identifier: number;
  progress: number;
  componentStatus: number;
  updateState: number;
}

export const MCQS: RegisterCodec<Mcqs> = {
  name: 'MCQS',
  id: RegId.MCQS,
  size: MCQS_SIZE,
  encode(v) {
    const b = image(MCQS_SIZE);
    setFlag(b, 0, 31, v.lastIndexFlag);
    setFlag(b, 0, 30, v.notSupported);
    setField(b, 0, 27, 16, v.deviceIndex ?? 0, 'MCQS.device_index');
    setField(b, 0, 15, 0, v.componentIndex ?? 0, 'MCQS.component_index');
    setField(b, 1, 15, 0, v.identifier ?? 0, 'MCQS.identifier');
    setField(b, 2, 15, 9, v.progress ?? 0, 'MCQS.progress');
    setField(b, 2, 8, 4, v.componentStatus ?? 0, 'MCQS.component_status');
    setField(b, 2, 3, 0, v.updateState ?? 0, 'MCQS.update_state');
    return b;
  },
  decode(b) {
    return {
      lastIndexFlag: getFlag(b, 0, 31),
      notSupported: getFlag(b, 0, 30),
      deviceIndex: getField(b, 0, 27, 16),
      componentIndex: getField(b, 0, 15, 0),
      identifier: getField(b, 1, 15, 0),
      progress: getField(b, 2, 15, 9),
      componentStatus: getField(b, 2, 8, 4),
      updateState: getField(b, 2, 3, 0),
    };
  },
};
