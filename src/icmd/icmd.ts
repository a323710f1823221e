/**
 * The ICMD command interface over an AddressSpaceAccess (§6.1, §6.2, §4.5): readiness,
 * the ICMD owner semaphore, opcode, mailbox, go, busy polling, status and syndrome. The
 * semaphore is released on every path.
 */
import { Fs3BurnError } from '../errors.js';
import type { AddressSpaceAccess } from '../transport/mst/address-space.js';
import { readDwords, writeDwords } from '../vsec/block.js';
import { realClock, type Clock } from '../vsec/clock.js';
import { hex, Space } from '../vsec/constants.js';
import { ICMD_SEMAPHORE, takePidSemaphore } from '../vsec/pid-semaphore.js';
import {
  BACK_TO_BACK_POLLS,
  CR_ICMD_READY_CX4,
  CTRL_BUSY,
  ctrlStatus,
  DEFAULT_POLL_BUDGET,
  FLINT_TIMEOUT_NAME,
  HOST_MAX_MAILBOX,
  ICMD_CTRL,
  ICMD_MAILBOX,
  ICMD_MAX_MAILBOX_SIZE_ADDR,
  ICMD_NOT_READY_BIT,
  ICMD_SPACE,
  ICMD_STATUS_NAMES,
  ICMD_SYNDROME,
  IcmdStatus,
  MAX_POLL_SLEEP_MS,
} from './constants.js';
import { pollSleepMs } from './poll.js';

export interface IcmdOptions {
  clock?: Clock;
  /** Busy-bit polls before ICMD_BUSY_TIMEOUT (§4.5: 5120, flint's ICMD_DEFAULT_TIMEOUT / MFT_ICMD_TIMEOUT). */
  pollBudget?: number;
  /** Cap of the growing sleep between polls (§4.5: 8 ms). */
  maxPollSleepMs?: number;
  /** Owner id written to the ICMD semaphore (default process.pid, §5.3). */
  ownerId?: number;
  /** ICMD semaphore tries (§5.3: 256). */
  semaphoreTries?: number;
  /** Random source for the semaphore back-off (default Math.random). */
  random?: () => number;
  /** CR address of the readiness bit (§6.1: 0xB0004 for CX4/CX4LX), or null to skip the check. */
  readyAddress?: number | null;
  /**
   * Run each session (one command, or the commands of `session()`) inside this wrapper (e.g.
   * VsecSpaceAccess.exclusive, holding the VSEC semaphore once per session instead of once per
   * dword). Default: none, as flint.
   */
  commandScope?: <T>(fn: () => T) => T;
  /**
   * Let `session(fn)` run several commands under one ICMD semaphore hold (default false: every
   * command takes and releases the semaphore, as flint; `session` then only groups them).
   */
  sessions?: boolean;
  /**
   * Run a sleep between busy polls inside this wrapper (e.g. VsecSpaceAccess.released: the
   * VSEC semaphore is let go while nothing is sent). Default: none.
   */
  sleepScope?: <T>(fn: () => T) => T;
}

export interface IcmdStats {
  commands: number;
  /** Busy-bit reads after go. */
  polls: number;
  sleeps: number;
  sleptMs: number;
  failed: number;
  /** Sessions: one ICMD semaphore hold (a lone command is a session of one). */
  sessions: number;
  /** Mailbox dwords not written because the mailbox already held them (this session wrote or read them). */
  mailboxDwordsSkipped: number;
  /** Commands whose ctrl read-modify-write and busy check were known from this session's last poll. */
  ctrlChecksSkipped: number;
}

/** Options of one command. */
export interface IcmdSendOptions {
  /**
   * Reply bytes [from, to) (dword-aligned) that the caller does not need: they are not read,
   * and the returned reply holds the request's bytes there instead. E.g. an MFBA reply's TLV
   * and register header, which repeat what was sent (§4.3, §6.3).
   */
  skip?: { from: number; to: number };
}

/** What an ICMD command looks like to the register layer (and to test fakes). */
export interface IcmdChannel {
  /** Largest mailbox the device and host accept (§6.1). */
  readonly mailboxSize: number;
  /** Run `opcode` with `input` in the mailbox; return the first `readSize` mailbox bytes after it. */
  send(opcode: number, input: Uint8Array, readSize: number, opts?: IcmdSendOptions): Uint8Array;
  /** Run several commands under one ICMD semaphore hold (optional; see IcmdInterface.session). */
  session?<T>(fn: () => T): T;
  /** `send` with the mailbox as BE dwords (optional; see IcmdInterface.sendWords). */
  sendWords?(opcode: number, input: Uint32Array, inWords: number, readWords: number, skipFrom?: number, skipTo?: number): Uint32Array;
}

function timeoutError(
  code: 'ICMD_BUSY_TIMEOUT' | 'ICMD_IFC_BUSY' | 'ICMD_FW_BUSY',
  what: string,
  data: Record<string, unknown>,
  hint: string,
): Fs3BurnError {
  return new Fs3BurnError(code, `${what} (${FLINT_TIMEOUT_NAME})`, { hint, data: { ...data, flintName: FLINT_TIMEOUT_NAME } });
}

const MAILBOX_DWORDS = HOST_MAX_MAILBOX / 4;

/** Block access into / from a caller's array (VsecSpaceAccess has it; same traffic as the block calls, §5.3). */
interface FastBlockAccess {
  readSpaceInto(space: number, offset: number, out: Uint32Array, from: number, count: number): void;
  writeSpaceFrom(space: number, offset: number, src: Uint32Array, from: number, count: number): void;
}

/**
 * The ICMD interface. Every command runs inside a **session**: readiness checked (§6.1), the
 * ICMD semaphore taken (§5.3), the commands, the semaphore released (§6.2 steps 1, 2, 9). A
 * lone `send` is a session of one command, which is flint's sequence. With the `sessions`
 * option, `session(fn)` runs several commands under one hold; while the semaphore is held
 * nobody else may use the interface, so within a session the client knows
 * - the ctrl word after its last poll (BUSY clear, the opcode in 31:16): BUSY is set only by a
 *   host's go and nobody else may send a command, so step 3 (opcode read-modify-write) and
 *   step 5 (BUSY must be 0) would read what is known; both are skipped for the next command of
 *   the same opcode. After any error nothing is known, and the next command does both;
 * - the mailbox dwords it wrote or read since the last go: step 4 writes only the dwords that
 *   differ from them (after a go the FW owns the mailbox: only what is read back is known).
 */
export class IcmdInterface implements IcmdChannel {
  readonly stats: IcmdStats = { commands: 0, polls: 0, sleeps: 0, sleptMs: 0, failed: 0, sessions: 0, mailboxDwordsSkipped: 0, ctrlChecksSkipped: 0 };
  private readonly clock: Clock;
  private readonly pollBudget: number;
  private readonly maxPollSleepMs: number;
  private readonly readyAddress: number | null;
  private mailbox = 0;
  /** Inside a session: the semaphore is ours. */
  private inSession = false;
  /** The ctrl word seen by this session's last poll (BUSY clear), when known. */
  private knownCtrl: number | undefined;
  /** Mailbox dwords known to hold `known[i]` (written or read since the last go, this session). */
  private readonly known = new Uint32Array(MAILBOX_DWORDS);
  private readonly knownValid = new Uint8Array(MAILBOX_DWORDS);
  private readonly inWords = new Uint32Array(MAILBOX_DWORDS);
  private readonly replyWords = new Uint32Array(MAILBOX_DWORDS);
  /** The provider's allocation-free block calls, when it has them (VsecSpaceAccess). */
  private readonly fast: FastBlockAccess | undefined;

  constructor(
    readonly access: AddressSpaceAccess,
    private readonly opts: IcmdOptions = {},
  ) {
    this.clock = opts.clock ?? realClock;
    this.pollBudget = opts.pollBudget ?? DEFAULT_POLL_BUDGET;
    this.maxPollSleepMs = opts.maxPollSleepMs ?? MAX_POLL_SLEEP_MS;
    this.readyAddress = opts.readyAddress === undefined ? CR_ICMD_READY_CX4 : opts.readyAddress;
    const f = access as Partial<FastBlockAccess>;
    this.fast = typeof f.readSpaceInto === 'function' && typeof f.writeSpaceFrom === 'function' ? (access as unknown as FastBlockAccess) : undefined;
  }

  private get name(): string {
    return this.access.name;
  }

  /** §6.1: max mailbox size at space-3 0x1000, capped at the host's 0x340. Read once. */
  get mailboxSize(): number {
    if (this.mailbox === 0) {
      const dev = this.access.readSpace32(ICMD_SPACE, ICMD_MAX_MAILBOX_SIZE_ADDR) >>> 0;
      this.mailbox = dev === 0 ? HOST_MAX_MAILBOX : Math.min(dev, HOST_MAX_MAILBOX);
    }
    return this.mailbox;
  }

  /** §6.1 readiness: CR 0xB0004 bit 31 = 0. */
  isReady(): boolean {
    if (this.readyAddress === null) return true;
    return (this.access.readSpace32(Space.CR, this.readyAddress) & ICMD_NOT_READY_BIT) === 0;
  }

  /**
   * Run `fn` — any number of `send`s — under one session: readiness checked once, the ICMD
   * semaphore taken once and released on every path (§6.2 steps 1, 2, 9), inside the
   * commandScope (the VSEC hold) if any. Reentrant: a nested call joins the open session.
   * Keep sessions short (a flash sector's work): other tools wait for the semaphore meanwhile.
   */
  session<T>(fn: () => T, opcode?: number): T {
    if (this.inSession || (!this.opts.sessions && opcode === undefined)) return fn();
    const run = (): T => {
      // 1. readiness (§6.1)
      if (!this.isReady()) {
        throw new Fs3BurnError('ICMD_NOT_READY', `${this.name}: ICMD interface not ready`, {
          hint: 'the firmware is not running (recovery / livefish mode?) or is still booting',
          data: { device: this.name, ...(opcode !== undefined ? { opcode } : {}), readyAddress: this.readyAddress },
        });
      }
      // 2. ICMD semaphore (§5.3, space 0xA offset 0)
      const sem = takePidSemaphore(this.access, ICMD_SEMAPHORE, {
        clock: this.clock,
        ...(this.opts.ownerId !== undefined ? { ownerId: this.opts.ownerId } : {}),
        ...(this.opts.semaphoreTries !== undefined ? { tries: this.opts.semaphoreTries } : {}),
        ...(this.opts.random !== undefined ? { random: this.opts.random } : {}),
      });
      this.stats.sessions++;
      this.inSession = true;
      this.forget();
      try {
        return fn();
      } finally {
        this.inSession = false;
        this.forget();
        // 9. release (§6.2), on every path
        sem.release();
      }
    };
    return this.opts.commandScope ? this.opts.commandScope(run) : run();
  }

  /** Drop what this session knows about ctrl and the mailbox. */
  private forget(): void {
    this.knownCtrl = undefined;
    this.knownValid.fill(0);
  }

  send(opcode: number, input: Uint8Array, readSize: number, opts: IcmdSendOptions = {}): Uint8Array {
    const n = (input.length + 3) >>> 2;
    const words = this.inWords;
    for (let i = 0; i < n; i++) {
      const o = i << 2;
      words[i] = (((input[o] ?? 0) << 24) | ((input[o + 1] ?? 0) << 16) | ((input[o + 2] ?? 0) << 8) | (input[o + 3] ?? 0)) >>> 0;
    }
    const readWords = (readSize + 3) >>> 2;
    const skipFrom = opts.skip ? Math.min(readWords, opts.skip.from >>> 2) : readWords;
    const skipTo = opts.skip ? Math.min(readWords, Math.max(skipFrom, opts.skip.to >>> 2)) : readWords;
    const reply = this.sendWords(opcode, words, n, readWords, skipFrom, skipTo, Math.max(input.length, readSize));
    const out = new Uint8Array(readSize);
    for (let i = 0; i < readSize; i++) out[i] = (reply[i >>> 2]! >>> (24 - 8 * (i & 3))) & 0xff;
    return out;
  }

  /**
   * The same with the mailbox as dwords (§5.3: each dword is the BE value of 4 mailbox bytes):
   * `input[0, inWords)` is written; `readWords` dwords are read back, except [skipFrom, skipTo),
   * which hold the input's dwords instead. The returned array is reused by the next command.
   */
  sendWords(opcode: number, input: Uint32Array, inWords: number, readWords: number, skipFrom = readWords, skipTo = readWords, bytes = 4 * Math.max(inWords, readWords)): Uint32Array {
    this.stats.commands++;
    try {
      const mb = this.mailboxSize;
      if (4 * inWords > mb || 4 * readWords > mb) {
        throw new Fs3BurnError('ICMD_MAILBOX_TOO_SMALL', `${this.name}: ICMD command ${hex(opcode)} needs ${bytes} mailbox bytes; the mailbox holds ${mb}`, {
          data: { device: this.name, opcode, inputSize: 4 * inWords, readSize: 4 * readWords, mailboxSize: mb },
        });
      }
      if (this.inSession) return this.command(opcode, input, inWords, readWords, skipFrom, skipTo);
      return this.session(() => this.command(opcode, input, inWords, readWords, skipFrom, skipTo), opcode);
    } catch (e) {
      this.stats.failed++;
      throw e;
    }
  }

  /** §6.2 steps 3–8, inside a session. */
  private command(opcode: number, input: Uint32Array, inWords: number, readWords: number, skipFrom: number, skipTo: number): Uint32Array {
    try {
      const op = opcode & 0xffff;
      // What this session's last poll showed (BUSY clear, this opcode): while the semaphore is
      // ours nobody else may touch ctrl, so steps 3 and 5 would read what we know already.
      const known = this.knownCtrl;
      this.knownCtrl = undefined;
      let ctrl1: number;
      if (known !== undefined && known >>> 16 === op) {
        this.stats.ctrlChecksSkipped++;
        // 4. mailbox (§5.3 BE byte stream), the dwords the mailbox does not hold already
        this.writeMailbox(input, inWords);
        ctrl1 = known;
      } else {
        // 3. ctrl read-modify-write: opcode in 31:16 (§6.2)
        const ctrl0 = this.access.readSpace32(ICMD_SPACE, ICMD_CTRL);
        this.access.writeSpace32(ICMD_SPACE, ICMD_CTRL, ((ctrl0 & 0xffff) | (op << 16)) >>> 0);
        // 4. mailbox
        this.writeMailbox(input, inWords);
        // 5. BUSY must be 0 before go (§4.5 cause 2)
        ctrl1 = this.access.readSpace32(ICMD_SPACE, ICMD_CTRL);
        if (ctrl1 & CTRL_BUSY) {
          throw timeoutError('ICMD_IFC_BUSY', `${this.name}: ICMD command ${hex(opcode)} not sent: the ICMD interface is already busy (ME_ICMD_STATUS_IFC_BUSY)`, { device: this.name, opcode, ctrl: ctrl1 }, 'a previous command never finished (the firmware may be hung, e.g. after a warm-boot request); reset the card or power cycle, then retry');
        }
      }
      // 6. go, then poll (§4.5); from here the FW owns the mailbox
      this.knownValid.fill(0);
      this.access.writeSpace32(ICMD_SPACE, ICMD_CTRL, (ctrl1 | CTRL_BUSY) >>> 0);
      const ctrl = this.pollBusy(opcode);
      // 7. status (§6.1)
      const status = ctrlStatus(ctrl);
      if (status !== IcmdStatus.OK) throw this.statusError(opcode, status);
      if (this.inSession && this.opts.sessions) this.knownCtrl = ctrl;
      // 8. reply
      return this.readReply(input, inWords, readWords, skipFrom, skipTo);
    } catch (e) {
      this.forget();
      throw e;
    }
  }

  private writeMailbox(input: Uint32Array, n: number): void {
    const known = this.known;
    const valid = this.knownValid;
    const remember = this.opts.sessions === true ? 1 : 0;
    let runStart = -1;
    for (let i = 0; i <= n; i++) {
      const skip = i < n && valid[i] === 1 && known[i] === input[i];
      if (i < n && !skip) {
        known[i] = input[i]!;
        valid[i] = remember;
        if (runStart < 0) runStart = i;
        continue;
      }
      if (skip) this.stats.mailboxDwordsSkipped++;
      if (runStart >= 0) {
        this.writeRun(input, runStart, i - runStart);
        runStart = -1;
      }
    }
  }

  /** Mailbox dwords [from, from + count) of `input`, as one block (§5.3). */
  private writeRun(input: Uint32Array, from: number, count: number): void {
    const off = ICMD_MAILBOX + 4 * from;
    if (this.fast) this.fast.writeSpaceFrom(ICMD_SPACE, off, input, from, count);
    else if (count === 1) this.access.writeSpace32(ICMD_SPACE, off, input[from]!);
    else writeDwords(this.access, ICMD_SPACE, off, input.subarray(from, from + count));
  }

  /** Mailbox dwords [a, b) into `out[a, b)`, as one block (§5.3), remembered for this session. */
  private readRun(out: Uint32Array, a: number, b: number): void {
    if (b <= a) return;
    if (this.fast) this.fast.readSpaceInto(ICMD_SPACE, ICMD_MAILBOX + 4 * a, out, a, b - a);
    else out.set(readDwords(this.access, ICMD_SPACE, ICMD_MAILBOX + 4 * a, b - a), a);
    const remember = this.opts.sessions === true ? 1 : 0;
    for (let i = a; i < b; i++) {
      this.known[i] = out[i]!;
      this.knownValid[i] = remember;
    }
  }

  /** Read reply dwords [0, readWords), except [skipFrom, skipTo) (the request's dwords there). */
  private readReply(input: Uint32Array, inWords: number, readWords: number, skipFrom: number, skipTo: number): Uint32Array {
    const out = this.replyWords;
    this.readRun(out, 0, skipFrom);
    for (let i = skipFrom; i < skipTo; i++) out[i] = i < inWords ? input[i]! : 0;
    this.readRun(out, skipTo, readWords);
    return out.subarray(0, readWords);
  }

  private pollBusy(opcode: number): number {
    for (let n = 1; n <= this.pollBudget; n++) {
      const ms = pollSleepMs(n, this.maxPollSleepMs, BACK_TO_BACK_POLLS);
      if (ms > 0) {
        this.stats.sleeps++;
        this.stats.sleptMs += ms;
        if (this.opts.sleepScope) this.opts.sleepScope(() => this.clock.sleep(ms));
        else this.clock.sleep(ms);
      }
      this.stats.polls++;
      const ctrl = this.access.readSpace32(ICMD_SPACE, ICMD_CTRL);
      if ((ctrl & CTRL_BUSY) === 0) return ctrl;
    }
    throw timeoutError('ICMD_BUSY_TIMEOUT', `${this.name}: ICMD command ${hex(opcode)} timed out: the busy bit did not clear within ${this.pollBudget} polls (ME_ICMD_STATUS_EXECUTE_TO)`, { device: this.name, opcode, polls: this.pollBudget }, 'the firmware stopped answering commands (known after a warm-boot request on FW 14.14); reset the card or power cycle, then retry; a larger poll budget may help a slow firmware');
  }

  private statusError(opcode: number, status: number): Fs3BurnError {
    const syndrome = this.access.readSpace32(ICMD_SPACE, ICMD_SYNDROME) & 0xffffff;
    const name = ICMD_STATUS_NAMES[status] ?? `unknown status ${status}`;
    const data = { device: this.name, opcode, status, statusName: name, syndrome };
    const base = `${this.name}: ICMD command ${hex(opcode)} failed: ${name} (status ${status}, syndrome ${hex(syndrome)})`;
    switch (status) {
      case IcmdStatus.BUSY:
        return timeoutError('ICMD_FW_BUSY', `${base}: the firmware answered busy (ME_ICMD_BUSY)`, data, 'the firmware is busy with another operation; wait and retry');
      case IcmdStatus.BAD_PARAM:
        return new Fs3BurnError('ICMD_BAD_PARAM', `${base} (MFE_ICMD_BAD_PARAM)`, {
          hint: 'This may indicate that a FW image was already updated on flash, but not loaded by the device; reset the card and retry',
          data,
        });
      case IcmdStatus.WRITE_PROTECT:
        return new Fs3BurnError('ICMD_WRITE_PROTECTED', `${base}`, { hint: 'the flash is write-protected; clear the protection before burning', data });
      default:
        return new Fs3BurnError('ICMD_STATUS_ERROR', base, { data });
    }
  }
}
