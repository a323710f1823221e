/**
 * Access registers over ICMD (§6.3): opcode 0x9001, operation TLV + register TLV + image,
 * reply status → typed error. ICMD errors are re-thrown with the register and method named.
 */
import { Fs3BurnError, isFs3BurnError } from '../errors.js';
import type { IcmdChannel } from '../icmd/icmd.js';
import { realClock, type Clock } from '../vsec/clock.js';
import type { RegisterCodec } from './fields.js';
import { Method, registerName, type MethodName } from './ids.js';
import { registerStatusError } from './status.js';
import { decodeRegAccess, encodeRegAccess, ICMD_OPCODE_REG_ACCESS, OP_TLV_TYPE, REG_DATA_OFFSET, RegStatus } from './tlv.js';

export interface RegisterAccessOptions {
  /**
   * Retries when the FW answers busy (register DEV_BUSY or ICMD status 5). Default 0: flint's
   * MFBA path does not retry (§4.5); §4.6 suggests retrying as a mitigation.
   */
  busyRetries?: number;
  /** Delay between busy retries (ms). */
  busyRetryDelayMs?: number;
  clock?: Clock;
}

export interface RegisterStats {
  /** Accesses per `NAME.METHOD` (e.g. `MFBA.GET`). */
  accesses: Record<string, number>;
  busyRetries: number;
  failures: number;
}

export interface RawAccess {
  registerId: number;
  method: MethodName;
  /** Register bytes to send. */
  payload: Uint8Array;
  /** Register bytes to read back (after the 20 TLV bytes). */
  readSize: number;
  /** Size announced in the register TLV (default: payload length). */
  regSize?: number;
}

export class RegisterAccess {
  readonly stats: RegisterStats = { accesses: {}, busyRetries: 0, failures: 0 };
  private tid = 0n;
  private readonly clock: Clock;

  constructor(
    readonly icmd: IcmdChannel,
    private readonly opts: RegisterAccessOptions = {},
  ) {
    this.clock = opts.clock ?? realClock;
  }

  /** Largest register image that fits the mailbox with its TLVs (§6.3: 0x340 − 20). */
  get maxRegisterSize(): number {
    return this.icmd.mailboxSize - REG_DATA_OFFSET;
  }

  /** One register access; returns the `readSize` register bytes of the reply. */
  raw(a: RawAccess): Uint8Array {
    const name = registerName(a.registerId);
    const key = `${name}.${a.method}`;
    const retries = this.opts.busyRetries ?? 0;
    for (let attempt = 0; ; attempt++) {
      this.stats.accesses[key] = (this.stats.accesses[key] ?? 0) + 1;
      try {
        return this.once(a, name);
      } catch (e) {
        const busy = isFs3BurnError(e) && (e.code === 'REGISTER_DEV_BUSY' || e.code === 'ICMD_FW_BUSY');
        if (busy && attempt < retries) {
          this.stats.busyRetries++;
          this.clock.sleep(this.opts.busyRetryDelayMs ?? 10);
          continue;
        }
        this.stats.failures++;
        throw e;
      }
    }
  }

  private once(a: RawAccess, name: string): Uint8Array {
    const context = `${name} ${a.method}`;
    const tid = ++this.tid;
    const mailbox = encodeRegAccess({
      registerId: a.registerId,
      method: Method[a.method],
      tid,
      register: a.payload,
      ...(a.regSize !== undefined ? { regSize: a.regSize } : {}),
    });
    let reply: Uint8Array;
    try {
      reply = this.icmd.send(ICMD_OPCODE_REG_ACCESS, mailbox, REG_DATA_OFFSET + a.readSize);
    } catch (e) {
      if (!isFs3BurnError(e)) throw e;
      throw new Fs3BurnError(e.code, `${context}: ${e.message}`, {
        ...(e.hint !== undefined ? { hint: e.hint } : {}),
        data: { ...e.data, register: name, registerId: a.registerId, method: a.method },
        cause: e,
      });
    }
    const r = decodeRegAccess(reply);
    const data = { register: name, registerId: a.registerId, method: a.method };
    if (r.opType !== OP_TLV_TYPE || r.registerId !== a.registerId) {
      throw new Fs3BurnError('REGISTER_REPLY_INVALID', `${context}: the reply does not answer this request (TLV type ${r.opType}, register 0x${r.registerId.toString(16)})`, {
        data: { ...data, replyType: r.opType, replyRegisterId: r.registerId },
      });
    }
    if (r.status !== RegStatus.OK) throw registerStatusError(r.status, context, data);
    // A reply whose register TLV announces fewer bytes than asked (MCC 0x1C, §8) is cut there.
    const announced = r.regTlvLen >= 2 ? r.regTlvLen * 4 - 4 : a.readSize;
    return r.register.subarray(0, Math.min(a.readSize, announced));
  }

  /** GET a register: send `key` (the query fields), decode the full reply. */
  get<T>(codec: RegisterCodec<T>, key: Partial<T> = {}): T {
    const payload = codec.encode(key);
    return codec.decode(this.raw({ registerId: codec.id, method: 'GET', payload, readSize: codec.size }));
  }

  /** SET a register; returns the decoded reply image. */
  set<T>(codec: RegisterCodec<T>, value: Partial<T>): T {
    const payload = codec.encode(value);
    return codec.decode(this.raw({ registerId: codec.id, method: 'SET', payload, readSize: codec.size }));
  }
}
