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
import { bytesToDwordsBE, dwordsToBytesBE } from '../vsec/bytes.js';
import { decodeRegAccess, encodeRegAccess, ICMD_OPCODE_REG_ACCESS, OP_TLV_TYPE, REG_CLASS, REG_DATA_OFFSET, REG_TLV_TYPE, RegStatus } from './tlv.js';

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
  /**
   * Reply bytes of the register image, [from, to), that need not be read (they repeat what
   * was sent, e.g. MFBA's 12-byte header, §4.3): the reply holds the request's bytes there.
   * The operation TLV's first dword (its status) is always read. Only for registers whose
   * reply layout is fixed: the register TLV and the rest of the operation TLV are then not
   * read either, so a shorter reply (§8) or another register's cannot be noticed.
   */
  skipReply?: { from: number; to: number };
}

/**
 * One register access with the register image as dwords (the BE values that cross the
 * mailbox, §5.3 / §6.3): the fast path of the flash registers. See RawAccess.
 */
export interface RawWordsAccess {
  registerId: number;
  method: MethodName;
  /** Register image dwords to send: `payload[0, payloadWords)`. */
  payload: Uint32Array;
  payloadWords: number;
  /** Register image dwords to read back. */
  readWords: number;
  /** Size in bytes announced in the register TLV. */
  regSize: number;
  /** Register image dwords [0, skipWords) of the reply are not read (they hold the request's). */
  skipWords?: number;
}

const MAILBOX_WORDS = 0x340 / 4;
const OP_TLV_DW0 = ((OP_TLV_TYPE << 27) | (4 << 16)) >>> 0; // type 1, len 4 (§6.3)

export class RegisterAccess {
  readonly stats: RegisterStats = { accesses: {}, busyRetries: 0, failures: 0 };
  private tid = 0;
  private readonly clock: Clock;
  private readonly mb = new Uint32Array(MAILBOX_WORDS);
  private readonly keys = new Map<number, string>();

  constructor(
    readonly icmd: IcmdChannel,
    private readonly opts: RegisterAccessOptions = {},
  ) {
    this.clock = opts.clock ?? realClock;
  }

  /** Run `fn` under one ICMD session (one semaphore hold, §6.2) when the channel has sessions. */
  session<T>(fn: () => T): T {
    return this.icmd.session ? this.icmd.session(fn) : fn();
  }

  /** Largest register image that fits the mailbox with its TLVs (§6.3: 0x340 − 20). */
  get maxRegisterSize(): number {
    return this.icmd.mailboxSize - REG_DATA_OFFSET;
  }

  private key(registerId: number, method: MethodName): string {
    const k = registerId * 4 + Method[method];
    let s = this.keys.get(k);
    if (s === undefined) this.keys.set(k, (s = `${registerName(registerId)}.${method}`));
    return s;
  }

  /** Count, run, retry on busy (register DEV_BUSY or ICMD status 5) when asked. */
  private attempt<T>(key: string, once: () => T): T {
    const retries = this.opts.busyRetries ?? 0;
    for (let attempt = 0; ; attempt++) {
      this.stats.accesses[key] = (this.stats.accesses[key] ?? 0) + 1;
      try {
        return once();
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

  /** One register access; returns the `readSize` register bytes of the reply. */
  raw(a: RawAccess): Uint8Array {
    const name = registerName(a.registerId);
    return this.attempt(this.key(a.registerId, a.method), () => this.once(a, name));
  }

  /** One register access, dwords in and out (the returned array is reused by the next access). */
  rawWords(a: RawWordsAccess): Uint32Array {
    return this.attempt(this.key(a.registerId, a.method), () => this.onceWords(a));
  }

  private icmdError(e: unknown, name: string, a: { registerId: number; method: MethodName }): unknown {
    if (!isFs3BurnError(e)) return e;
    return new Fs3BurnError(e.code, `${name} ${a.method}: ${e.message}`, {
      ...(e.hint !== undefined ? { hint: e.hint } : {}),
      data: { ...e.data, register: name, registerId: a.registerId, method: a.method },
      cause: e,
    });
  }

  private onceWords(a: RawWordsAccess): Uint32Array {
    const mb = this.mb;
    const tid = ++this.tid;
    mb[0] = OP_TLV_DW0;
    mb[1] = (((a.registerId & 0xffff) << 16) | ((Method[a.method] & 0x7f) << 8) | REG_CLASS) >>> 0;
    mb[2] = Math.floor(tid / 0x100000000) >>> 0;
    mb[3] = tid >>> 0;
    mb[4] = ((REG_TLV_TYPE << 27) | ((Math.ceil((a.regSize + 4) / 4) & 0x7ff) << 16)) >>> 0;
    mb.set(a.payload.subarray(0, a.payloadWords), 5);
    const inWords = 5 + a.payloadWords;
    const readWords = 5 + a.readWords;
    // with skipWords, only the operation TLV's status dword and the data are read
    const skipFrom = a.skipWords ? 1 : readWords;
    const skipTo = a.skipWords ? 5 + a.skipWords : readWords;
    let reply: Uint32Array;
    try {
      if (this.icmd.sendWords) {
        reply = this.icmd.sendWords(ICMD_OPCODE_REG_ACCESS, mb, inWords, readWords, skipFrom, skipTo);
      } else {
        const bytes = this.icmd.send(ICMD_OPCODE_REG_ACCESS, dwordsToBytesBE(mb.subarray(0, inWords)), 4 * readWords, a.skipWords ? { skip: { from: 4 * skipFrom, to: 4 * skipTo } } : {});
        reply = bytesToDwordsBE(bytes);
      }
    } catch (e) {
      throw this.icmdError(e, registerName(a.registerId), a);
    }
    const d0 = reply[0]!;
    const replyId = reply[1]! >>> 16;
    if (d0 >>> 27 !== OP_TLV_TYPE || replyId !== (a.registerId & 0xffff)) {
      const name = registerName(a.registerId);
      throw new Fs3BurnError('REGISTER_REPLY_INVALID', `${name} ${a.method}: the reply does not answer this request (TLV type ${d0 >>> 27}, register 0x${replyId.toString(16)})`, {
        data: { register: name, registerId: a.registerId, method: a.method, replyType: d0 >>> 27, replyRegisterId: replyId },
      });
    }
    const status = (d0 >>> 8) & 0x7f;
    if (status !== RegStatus.OK) {
      const name = registerName(a.registerId);
      throw registerStatusError(status, `${name} ${a.method}`, { register: name, registerId: a.registerId, method: a.method });
    }
    return reply.subarray(5, readWords);
  }

  private once(a: RawAccess, name: string): Uint8Array {
    const context = `${name} ${a.method}`;
    const tid = ++this.tid;
    const mailbox = encodeRegAccess({
      registerId: a.registerId,
      method: Method[a.method],
      tid: BigInt(tid),
      register: a.payload,
      ...(a.regSize !== undefined ? { regSize: a.regSize } : {}),
    });
    let reply: Uint8Array;
    try {
      const skip = a.skipReply ? { from: 4, to: REG_DATA_OFFSET + a.skipReply.to } : undefined;
      if (skip && a.skipReply!.from !== 0) throw new RangeError('skipReply must start at the register image');
      reply = skip
        ? this.icmd.send(ICMD_OPCODE_REG_ACCESS, mailbox, REG_DATA_OFFSET + a.readSize, { skip })
        : this.icmd.send(ICMD_OPCODE_REG_ACCESS, mailbox, REG_DATA_OFFSET + a.readSize);
    } catch (e) {
      throw this.icmdError(e, name, a);
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
