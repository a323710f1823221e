/**
 * The ICMD command interface over an AddressSpaceAccess (§6.1, §6.2, §4.5): readiness,
 * the ICMD owner semaphore, opcode, mailbox, go, busy polling, status and syndrome. The
 * semaphore is released on every path.
 */
import { Fs3BurnError } from '../errors.js';
import type { AddressSpaceAccess } from '../transport/mst/address-space.js';
import { readBytesBE, writeBytesBE } from '../vsec/block.js';
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
   * Run each whole command inside this wrapper (e.g. VsecSpaceAccess.exclusive, holding the
   * VSEC semaphore once per command instead of once per dword). Default: none, as flint.
   */
  commandScope?: <T>(fn: () => T) => T;
}

export interface IcmdStats {
  commands: number;
  /** Busy-bit reads after go. */
  polls: number;
  sleeps: number;
  sleptMs: number;
  failed: number;
}

/** What an ICMD command looks like to the register layer (and to test fakes). */
export interface IcmdChannel {
  /** Largest mailbox the device and host accept (§6.1). */
  readonly mailboxSize: number;
  /** Run `opcode` with `input` in the mailbox; return the first `readSize` mailbox bytes after it. */
  send(opcode: number, input: Uint8Array, readSize: number): Uint8Array;
}

function timeoutError(
  code: 'ICMD_BUSY_TIMEOUT' | 'ICMD_IFC_BUSY' | 'ICMD_FW_BUSY',
  what: string,
  data: Record<string, unknown>,
  hint: string,
): Fs3BurnError {
  return new Fs3BurnError(code, `${what} (${FLINT_TIMEOUT_NAME})`, { hint, data: { ...data, flintName: FLINT_TIMEOUT_NAME } });
}

export class IcmdInterface implements IcmdChannel {
  readonly stats: IcmdStats = { commands: 0, polls: 0, sleeps: 0, sleptMs: 0, failed: 0 };
  private readonly clock: Clock;
  private readonly pollBudget: number;
  private readonly maxPollSleepMs: number;
  private readonly readyAddress: number | null;
  private mailbox = 0;

  constructor(
    readonly access: AddressSpaceAccess,
    private readonly opts: IcmdOptions = {},
  ) {
    this.clock = opts.clock ?? realClock;
    this.pollBudget = opts.pollBudget ?? DEFAULT_POLL_BUDGET;
    this.maxPollSleepMs = opts.maxPollSleepMs ?? MAX_POLL_SLEEP_MS;
    this.readyAddress = opts.readyAddress === undefined ? CR_ICMD_READY_CX4 : opts.readyAddress;
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

  send(opcode: number, input: Uint8Array, readSize: number): Uint8Array {
    const run = (): Uint8Array => this.sendLocked(opcode, input, readSize);
    this.stats.commands++;
    try {
      return this.opts.commandScope ? this.opts.commandScope(run) : run();
    } catch (e) {
      this.stats.failed++;
      throw e;
    }
  }

  private sendLocked(opcode: number, input: Uint8Array, readSize: number): Uint8Array {
    const mb = this.mailboxSize;
    if (input.length > mb || readSize > mb) {
      throw new Fs3BurnError('ICMD_MAILBOX_TOO_SMALL', `${this.name}: ICMD command ${hex(opcode)} needs ${Math.max(input.length, readSize)} mailbox bytes; the mailbox holds ${mb}`, {
        data: { device: this.name, opcode, inputSize: input.length, readSize, mailboxSize: mb },
      });
    }
    // 1. readiness (§6.1)
    if (!this.isReady()) {
      throw new Fs3BurnError('ICMD_NOT_READY', `${this.name}: ICMD interface not ready`, {
        hint: 'the firmware is not running (recovery / livefish mode?) or is still booting',
        data: { device: this.name, opcode, readyAddress: this.readyAddress },
      });
    }
    // 2. ICMD semaphore (§5.3, space 0xA offset 0)
    const sem = takePidSemaphore(this.access, ICMD_SEMAPHORE, {
      clock: this.clock,
      ...(this.opts.ownerId !== undefined ? { ownerId: this.opts.ownerId } : {}),
      ...(this.opts.semaphoreTries !== undefined ? { tries: this.opts.semaphoreTries } : {}),
      ...(this.opts.random !== undefined ? { random: this.opts.random } : {}),
    });
    try {
      // 3. ctrl read-modify-write: opcode in 31:16 (§6.2)
      const ctrl0 = this.access.readSpace32(ICMD_SPACE, ICMD_CTRL);
      this.access.writeSpace32(ICMD_SPACE, ICMD_CTRL, ((ctrl0 & 0xffff) | ((opcode & 0xffff) << 16)) >>> 0);
      // 4. mailbox (§5.3 BE byte stream)
      if (input.length > 0) writeBytesBE(this.access, ICMD_SPACE, ICMD_MAILBOX, input);
      // 5. BUSY must be 0 before go (§4.5 cause 2)
      const ctrl1 = this.access.readSpace32(ICMD_SPACE, ICMD_CTRL);
      if (ctrl1 & CTRL_BUSY) {
        throw timeoutError('ICMD_IFC_BUSY', `${this.name}: ICMD command ${hex(opcode)} not sent: the ICMD interface is already busy (ME_ICMD_STATUS_IFC_BUSY)`, { device: this.name, opcode, ctrl: ctrl1 }, 'a previous command never finished (the firmware may be hung, e.g. after a warm-boot request); reset the card or power cycle, then retry');
      }
      // 6. go, then poll (§4.5)
      this.access.writeSpace32(ICMD_SPACE, ICMD_CTRL, (ctrl1 | CTRL_BUSY) >>> 0);
      const ctrl = this.pollBusy(opcode);
      // 7. status (§6.1)
      const status = ctrlStatus(ctrl);
      if (status !== IcmdStatus.OK) throw this.statusError(opcode, status);
      // 8. reply
      return readSize > 0 ? readBytesBE(this.access, ICMD_SPACE, ICMD_MAILBOX, readSize) : new Uint8Array(0);
    } finally {
      // 9. release (§6.2), on every path
      sem.release();
    }
  }

  private pollBusy(opcode: number): number {
    for (let n = 1; n <= this.pollBudget; n++) {
      const ms = pollSleepMs(n, this.maxPollSleepMs, BACK_TO_BACK_POLLS);
      if (ms > 0) {
        this.stats.sleeps++;
        this.stats.sleptMs += ms;
        this.clock.sleep(ms);
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
