/**
 * Knobs: the behaviours of the model that the facts sheet leaves open (UNVERIFIED) or that a
 * test wants to vary. Each knob names the fact it rests on; docs/device-model.md lists them
 * all with their defaults.
 */
import { DEFAULT_JEDEC_ID, Space } from './constants.js';

export interface Knobs {
  /** JEDEC id = density<<16 | type<<8 | vendor (§4.3). The flash size is 1<<density. */
  jedecId: number;
  /** Flash block-protect bits set at power-on: programs and erases are refused. MFPA reports it in dw4 sector_wrp/subsector_wrp (bits 17/16) and sets dw7 bit 16 "write protect supported" (§4.3). */
  writeProtect: boolean;
  /** Force "no FW": cache-replacement registers zero, ICMD not ready, PCI id = HW id (§4.1, §7). */
  livefish: boolean;
  /**
   * Config accesses through the VSEC ADDR/DATA while nobody holds the VSEC semaphore (§5.3).
   * 'allow': the hardware cannot tell who is accessing; the semaphore is a convention between
   * clients, so the access is done (and counted in stats). 'reject': the access is not done and
   * ADDR's syndrome bit is set. UNVERIFIED; default 'allow'.
   */
  vsecUnlockedAccess: 'allow' | 'reject';
  /**
   * The FW "ignores the MSB of the space" (§4.6, PR #1047): CTRL keeps only bits 7:0 of a
   * space written as 0x1xx, so 0x102 reads back as 0x002 (and then selects CR space).
   */
  vsecIgnoresSpaceMsb: boolean;
  /** Extra ADDR reads during which the FLAG keeps its old value (exercises flag polling, §5.3). */
  vsecFlagLatency: number;
  /** Address spaces whose CTRL status is non-zero (§5.2: VSEC mode needs CR, ICMD_EXT, SEMAPHORE). */
  supportedSpaces: readonly number[];
  /** Extra ctrl reads during which an ICMD command's busy bit stays set after it ran (§6.2 step 6). */
  icmdBusyPolls: number;
  /**
   * After MFRL SET 0x40 (warm boot request) the next ICMD command's busy bit never clears
   * until reset (an UNVERIFIED reading of §4.6). 'personality' takes the personality's value.
   */
  warmBootHang: 'personality' | 'on' | 'off';
  /** RDSR transactions that still show WIP after a program / erase via the gateway (§4.2). */
  spiWipPolls: number;
  /** Extra cmd reads during which the gateway's BUSY bit stays set after a transaction (§4.2). */
  gatewayBusyPolls: number;
  /**
   * The FW answers MFBA / MFBE with DEV_BUSY while the host holds the HW flash gateway lock
   * (§4.2: the lock is a HW semaphore the FW's flash access shares). UNVERIFIED.
   */
  fwHonoursGatewayLock: boolean;
  /** How MFBA SET / MFBE answer a write-protected flash: ICMD status 7 (§6.1) or register BAD_PARAM. UNVERIFIED. */
  writeProtectReply: 'icmd-status' | 'bad-param';
  /** MCC GET polls spent in INITIALIZE / VERIFY / ACTIVATE before the state moves on (§3.2, §8). */
  fsmInitializePolls: number;
  fsmVerifyPolls: number;
  fsmActivatePolls: number;
  /** After an activation, UPDATE_COMPONENT fails with error 9 "pending reset" until reset (§8). UNVERIFIED. */
  fsmPendingResetBlocks: boolean;
  /**
   * VERIFY_COMPONENT accepts a component whose 16 magic bytes are masked to 0xFF (§3.2
   * "FwExtract4MBImage(mask magic …)"); the FW writes the magic itself, last.
   */
  fsmAcceptMaskedMagic: boolean;
  /** VERIFY_COMPONENT requires a signature section 0xA0/0xA3 (§3.1, §8 error 6). */
  fsmRequireSignature: boolean;
}

export const DEFAULT_KNOBS: Readonly<Knobs> = Object.freeze({
  jedecId: DEFAULT_JEDEC_ID,
  writeProtect: false,
  livefish: false,
  vsecUnlockedAccess: 'allow',
  vsecIgnoresSpaceMsb: true,
  vsecFlagLatency: 0,
  supportedSpaces: Object.freeze([Space.ICMD_EXT, Space.CR, Space.ICMD, Space.SEMAPHORE]),
  icmdBusyPolls: 0,
  warmBootHang: 'personality',
  spiWipPolls: 1,
  gatewayBusyPolls: 0,
  fwHonoursGatewayLock: true,
  writeProtectReply: 'icmd-status',
  fsmInitializePolls: 2,
  fsmVerifyPolls: 0,
  fsmActivatePolls: 2,
  fsmPendingResetBlocks: true,
  fsmAcceptMaskedMagic: true,
  fsmRequireSignature: true,
}) as Readonly<Knobs>;

const ENUMS: Partial<Record<keyof Knobs, readonly string[]>> = {
  vsecUnlockedAccess: ['allow', 'reject'],
  warmBootHang: ['personality', 'on', 'off'],
  writeProtectReply: ['icmd-status', 'bad-param'],
};

/** Merge and validate knobs; throws a plain Error naming the bad knob (the caller wraps it). */
export function resolveKnobs(k: Partial<Knobs> | undefined): Knobs {
  const out: Knobs = { ...DEFAULT_KNOBS, supportedSpaces: [...DEFAULT_KNOBS.supportedSpaces] };
  for (const [name, value] of Object.entries(k ?? {})) {
    if (value === undefined) continue;
    if (!(name in DEFAULT_KNOBS)) throw new Error(`unknown knob ${name}`);
    const def = (DEFAULT_KNOBS as unknown as Record<string, unknown>)[name];
    const allowed = ENUMS[name as keyof Knobs];
    if (allowed) {
      if (typeof value !== 'string' || !allowed.includes(value)) {
        throw new Error(`knob ${name} must be one of ${allowed.join(', ')}`);
      }
    } else if (Array.isArray(def)) {
      if (!Array.isArray(value) || value.some((x) => !Number.isInteger(x) || x < 0)) {
        throw new Error(`knob ${name} must be a list of integers`);
      }
    } else if (typeof def === 'number') {
      if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
        throw new Error(`knob ${name} must be an integer ≥ 0`);
      }
    } else if (typeof def === 'boolean') {
      if (typeof value !== 'boolean') throw new Error(`knob ${name} must be true or false`);
    }
    (out as unknown as Record<string, unknown>)[name] = value;
  }
  return out;
}

/** Parse a knob value written in a spec string (`&spiWipPolls=3`, `&writeProtect=1`). */
export function parseKnobValue(name: string, text: string): unknown {
  if (!(name in DEFAULT_KNOBS)) throw new Error(`unknown knob ${name}`);
  const def = (DEFAULT_KNOBS as unknown as Record<string, unknown>)[name];
  if (ENUMS[name as keyof Knobs]) return text;
  if (Array.isArray(def)) return text.split(/[,+]/).filter((s) => s !== '').map((s) => parseIntStrict(s, name));
  if (typeof def === 'boolean') {
    if (/^(1|true|on|yes)$/i.test(text)) return true;
    if (/^(0|false|off|no)$/i.test(text)) return false;
    throw new Error(`knob ${name} must be true or false, not ${JSON.stringify(text)}`);
  }
  return parseIntStrict(text, name);
}

export function parseIntStrict(text: string, what: string): number {
  const t = text.trim();
  if (!/^(0x[0-9a-f]+|\d+)$/i.test(t)) throw new Error(`${what}: ${JSON.stringify(text)} is not a number`);
  return Number(t);
}
