/**
 * The time model. The simulated card never sleeps: every operation adds its modelled cost
 * to a ledger, and `stats()` reports the totals, so a test can say "this burn would take
 * about N seconds on the real card" without waiting for it.
 *
 * Durations that a client polls for (SPI WIP, ICMD busy, FSM transitional states) are
 * counted in polls (knobs.ts), not in modelled microseconds: the model's clock is a ledger,
 * not a scheduler, and a client's real sleeps do not advance it.
 */

export interface TimeModel {
  /** One 4-byte config access through sysfs (the cost measured on this project's host). */
  configAccessUs: number;
  /** Firmware overhead of one ICMD command, on top of the config accesses that carry it. UNVERIFIED. */
  icmdCommandUs: number;
  /** SPI NOR 4 KiB sector erase, typical (Winbond W25Q128-class datasheet). */
  erase4kUs: number;
  /** 32 KiB block erase, typical. */
  erase32kUs: number;
  /** 64 KiB block erase, typical. */
  erase64kUs: number;
  /** Whole-chip erase, typical. */
  chipEraseUs: number;
  /** One page program (≤ 256 B), typical. */
  pageProgramUs: number;
  /** Write status register, typical. */
  writeStatusUs: number;
  /** Reading flash from the SPI bus, per byte (≈ 100 MHz single-lane). */
  flashReadPerByteUs: number;
  /** FW work of the FSM's INITIALIZE state (UNVERIFIED). */
  fsmInitializeUs: number;
  /** FW work of VERIFY_COMPONENT, excluding flash reads (UNVERIFIED). */
  fsmVerifyUs: number;
  /** FW overhead of ACTIVATE, excluding the flash erases / programs it does (UNVERIFIED). */
  fsmActivateUs: number;
  /** A reset and boot of the card (UNVERIFIED). */
  resetUs: number;
}

export const DEFAULT_TIME_MODEL: Readonly<TimeModel> = Object.freeze({
  configAccessUs: 17.5,
  icmdCommandUs: 100,
  erase4kUs: 45_000,
  erase32kUs: 120_000,
  erase64kUs: 150_000,
  chipEraseUs: 40_000_000,
  pageProgramUs: 700,
  writeStatusUs: 10_000,
  flashReadPerByteUs: 0.08,
  fsmInitializeUs: 200_000,
  fsmVerifyUs: 500_000,
  fsmActivateUs: 100_000,
  resetUs: 1_500_000,
});

export type TimeKind = 'config' | 'icmd' | 'erase' | 'program' | 'read' | 'fsm' | 'reset';
export const TIME_KINDS: readonly TimeKind[] = ['config', 'icmd', 'erase', 'program', 'read', 'fsm', 'reset'];

export function resolveTimeModel(t: Partial<TimeModel> | undefined): TimeModel {
  const out: TimeModel = { ...DEFAULT_TIME_MODEL };
  for (const [k, v] of Object.entries(t ?? {})) {
    if (!(k in out)) throw new Error(`unknown time model field ${k}`);
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new Error(`time model field ${k} must be a number ≥ 0`);
    (out as unknown as Record<string, number>)[k] = v;
  }
  return out;
}

/**
 * Modelled time, per kind, in microseconds. One named field per kind (not a record indexed by
 * a string): charge() runs on every config access, and a keyed store there cost ~15 % of a
 * simulated burn's CPU (measured with --cpu-prof).
 */
export class TimeLedger {
  private config = 0;
  private icmd = 0;
  private erase = 0;
  private program = 0;
  private read = 0;
  private fsm = 0;
  private reset = 0;
  charge(kind: TimeKind, us: number): void {
    switch (kind) {
      case 'config':
        this.config += us;
        break;
      case 'icmd':
        this.icmd += us;
        break;
      case 'erase':
        this.erase += us;
        break;
      case 'program':
        this.program += us;
        break;
      case 'read':
        this.read += us;
        break;
      case 'fsm':
        this.fsm += us;
        break;
      case 'reset':
        this.reset += us;
        break;
    }
  }
  /** The config-access fast path (every dword the client moves). */
  chargeConfig(us: number): void {
    this.config += us;
  }
  get nowUs(): number {
    return this.config + this.icmd + this.erase + this.program + this.read + this.fsm + this.reset;
  }
  snapshot(): Record<TimeKind, number> & { total: number } {
    const { config, icmd, erase, program, read, fsm, reset } = this;
    return { config, icmd, erase, program, read, fsm, reset, total: this.nowUs };
  }
  clear(): void {
    this.config = this.icmd = this.erase = this.program = this.read = this.fsm = this.reset = 0;
  }
}
