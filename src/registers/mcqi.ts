/**
 * MCQI 0x9061, component query information, 0x94 bytes (§3.3 gives only the ID and size).
 * The field layout is the Linux kernel's (mlx5_ifc / mlxsw, the §8 cross-check source):
 * dw0 read_pending_component 31, component_index 15:0; dw2 info_type 4:0; dw3 info_size;
 * dw4 offset; dw5 data_size 15:0; data from byte 0x18. For info_type 0 (CAPABILITIES) the
 * data holds supported_info_bitmask, component_size, max_component_size, then
 * log_mcda_word_size 31:28 and mcda_max_write_size 15:0. UNVERIFIED against mstflint.
 */
import { getField, getFlag, image, setField, setFlag, type RegisterCodec } from './fields.js';
import { RegId } from './ids.js';

export const MCQI_SIZE = 0x94;
export const MCQI_DATA_OFFSET = 0x18;
export const MCQI_DATA_MAX = MCQI_SIZE - MCQI_DATA_OFFSET;
export const McqiInfoType = { CAPABILITIES: 0, VERSION: 1, ACTIVATION_METHOD: 5 } as const;

export interface McqiCapabilities {
  supportedInfoBitmask: number;
  componentSize: number;
  maxComponentSize: number;
  logMcdaWordSize: number;
  mcdaMaxWriteSize: number;
}

export interface Mcqi {
  readPendingComponent: boolean;
  componentIndex: number;
  infoType: number;
  infoSize: number;
  offset: number;
  dataSize: number;
  /** Raw info data (BE as on the wire). */
  data: Uint8Array;
  /** Decoded when infoType is CAPABILITIES and the data holds it. */
  capabilities?: McqiCapabilities;
}

export function encodeMcqiCapabilities(c: Partial<McqiCapabilities>): Uint8Array {
  const b = image(16);
  setField(b, 0, 31, 0, c.supportedInfoBitmask ?? 0, 'MCQI.supported_info_bitmask');
  setField(b, 1, 31, 0, c.componentSize ?? 0, 'MCQI.component_size');
  setField(b, 2, 31, 0, c.maxComponentSize ?? 0, 'MCQI.max_component_size');
  setField(b, 3, 31, 28, c.logMcdaWordSize ?? 0, 'MCQI.log_mcda_word_size');
  setField(b, 3, 15, 0, c.mcdaMaxWriteSize ?? 0, 'MCQI.mcda_max_write_size');
  return b;
}

export const MCQI: RegisterCodec<Mcqi> = {
  name: 'MCQI',
  id: RegId.MCQI,
  size: MCQI_SIZE,
  encode(v) {
    const b = image(MCQI_SIZE);
    setFlag(b, 0, 31, v.readPendingComponent);
    setField(b, 0, 15, 0, v.componentIndex ?? 0, 'MCQI.component_index');
    setField(b, 2, 4, 0, v.infoType ?? 0, 'MCQI.info_type');
    setField(b, 3, 31, 0, v.infoSize ?? 0, 'MCQI.info_size');
    setField(b, 4, 31, 0, v.offset ?? 0, 'MCQI.offset');
    setField(b, 5, 15, 0, v.dataSize ?? 0, 'MCQI.data_size');
    const data = v.data ?? (v.capabilities ? encodeMcqiCapabilities(v.capabilities) : undefined);
    if (data) b.set(data.subarray(0, MCQI_DATA_MAX), MCQI_DATA_OFFSET);
    return b;
  },
  decode(b) {
    const out: Mcqi = {
      readPendingComponent: getFlag(b, 0, 31),
      componentIndex: getField(b, 0, 15, 0),
      infoType: getField(b, 2, 4, 0),
      infoSize: getField(b, 3, 31, 0),
      offset: getField(b, 4, 31, 0),
      dataSize: getField(b, 5, 15, 0),
      data: b.slice(MCQI_DATA_OFFSET, MCQI_SIZE),
    };
    if (out.infoType === McqiInfoType.CAPABILITIES && b.length >= MCQI_DATA_OFFSET + 16) {
      const d = b.subarray(MCQI_DATA_OFFSET);
      out.capabilities = {
        supportedInfoBitmask: getField(d, 0, 31, 0),
        componentSize: getField(d, 1, 31, 0),
        maxComponentSize: getField(d, 2, 31, 0),
        logMcdaWordSize: getField(d, 3, 31, 28),
        mcdaMaxWriteSize: getField(d, 3, 15, 0),
      };
    }
    return out;
  },
};
