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

/** Modelled time, per kind, in microseconds. */
export class TimeLedger {
  private readonly totals: Record<TimeKind, number> = {
    config: 0,
    icmd: 0,
    erase: 0,
    program: 0,
    read: 0,
    fsm: 0,
    reset: 0,
  };
  charge(kind: TimeKind, us: number): void {
    this.totals[kind] += us;
  }
  get nowUs(): number {
    let t = 0;
    for (const k of TIME_KINDS) t += this.totals[k];
    return t;
  }
  snapshot(): Record<TimeKind, number> & { total: number } {
    return { ...this.totals, total: this.nowUs };
  }
  clear(): void {
    for (const k of TIME_KINDS) this.totals[k] = 0;
  }
}
