/**
 * The register-access mailbox (§6.3, `packets_layout.c`): a 16-byte operation TLV, a
 * 4-byte register TLV header, then the register image, all big-endian.
 *
 * Operation TLV: dw0 type 1 in 31:27, len 4 in 26:16, dr 15, status 14:8; dw1 register_id
 * 31:16, r 15, method 14:8, class 1 in 7:0; dw2–3 tid. Register TLV: type 3 in 31:27,
 * len (reg_size + 4) / 4 in 26:16.
 */
import { Fs3BurnError } from '../errors.js';
import { getBE32, setBE32 } from '../vsec/bytes.js';

export const OP_TLV_SIZE = 16;
export const REG_TLV_HEADER_SIZE = 4;
/** Register bytes start here in the mailbox; sizes on the wire are 20 + the register's (§6.3). */
export const REG_DATA_OFFSET = OP_TLV_SIZE + REG_TLV_HEADER_SIZE;
export const OP_TLV_TYPE = 1;
export const OP_TLV_LEN = 4;
export const REG_TLV_TYPE = 3;
export const REG_CLASS = 1;
/** ICMD opcode of register access (§6.3). */
export const ICMD_OPCODE_REG_ACCESS = 0x9001;

export interface RegAccessRequest {
  registerId: number;
  method: number;
  tid: bigint;
  /** Register image to send (may be shorter than the register, e.g. MFBA GET sends 12 bytes). */
  register: Uint8Array;
  /**
   * Register size announced in the register TLV's len (default register.length); flint
   * announces the size of what it sends.
   */
  regSize?: number;
}

export interface RegAccessReply {
  opType: number;
  opLen: number;
  /** dr bit 15: set by FW in replies. */
  dr: boolean;
  status: number;
  registerId: number;
  r: boolean;
  method: number;
  regClass: number;
  tid: bigint;
  regTlvType: number;
  regTlvLen: number;
  /** The register image that followed. */
  register: Uint8Array;
}

export function encodeRegAccess(req: RegAccessRequest): Uint8Array {
  const out = new Uint8Array(REG_DATA_OFFSET + req.register.length);
  setBE32(out, 0, ((OP_TLV_TYPE << 27) | (OP_TLV_LEN << 16)) >>> 0);
  setBE32(out, 4, (((req.registerId & 0xffff) << 16) | ((req.method & 0x7f) << 8) | REG_CLASS) >>> 0);
  setBE32(out, 8, Number((req.tid >> 32n) & 0xffffffffn));
  setBE32(out, 12, Number(req.tid & 0xffffffffn));
  const regSize = req.regSize ?? req.register.length;
  setBE32(out, OP_TLV_SIZE, ((REG_TLV_TYPE << 27) | ((Math.ceil((regSize + 4) / 4) & 0x7ff) << 16)) >>> 0);
  out.set(req.register, REG_DATA_OFFSET);
  return out;
}

export function decodeRegAccess(bytes: Uint8Array): RegAccessReply {
  if (bytes.length < REG_DATA_OFFSET) {
    throw new Fs3BurnError('REGISTER_REPLY_INVALID', `register-access reply is ${bytes.length} bytes; at least ${REG_DATA_OFFSET} expected`, {
      data: { length: bytes.length },
    });
  }
  const d0 = getBE32(bytes, 0);
  const d1 = getBE32(bytes, 4);
  const r0 = getBE32(bytes, OP_TLV_SIZE);
  return {
    opType: d0 >>> 27,
    opLen: (d0 >>> 16) & 0x7ff,
    dr: (d0 & 0x8000) !== 0,
    status: (d0 >>> 8) & 0x7f,
    registerId: d1 >>> 16,
    r: (d1 & 0x8000) !== 0,
    method: (d1 >>> 8) & 0x7f,
    regClass: d1 & 0xff,
    tid: (BigInt(getBE32(bytes, 8)) << 32n) | BigInt(getBE32(bytes, 12)),
    regTlvType: r0 >>> 27,
    regTlvLen: (r0 >>> 16) & 0x7ff,
    register: bytes.slice(REG_DATA_OFFSET),
  };
}

/** Register status codes of the operation TLV (§6.3 `return_by_reg_status`). */
export const RegStatus = {
  OK: 0,
  DEV_BUSY: 1,
  VER_NOT_SUPP: 2,
  UNKNOWN_TLV: 3,
  REG_NOT_SUPP: 4,
  CLASS_NOT_SUPP: 5,
  METHOD_NOT_SUPP: 6,
  BAD_PARAM: 7,
  RES_NOT_AVLBL: 8,
  MSG_RECPT_ACK: 9,
} as const;
