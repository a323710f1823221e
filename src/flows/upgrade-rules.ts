/**
 * Upgrade rules: DATA. Each rule says "a card running a version in `from` should not jump
 * straight to a version in `to`; step via a version in `via` first", with the reason and the
 * evidence it rests on. The engine is src/flows/upgrade-path.ts; docs/planning.md lists the
 * table. Adding a rule is adding an object here.
 *
 * Version ranges (all terms must hold; `||` separates alternatives):
 *   `*`  `14.14.*`  `14.*`  `14.25.1020`  `=14.25.1020`  `>=14.25`  `>14.14`  `<14.20`  `<=14.25.1020`
 * Missing parts compare as 0 (`>=14.25` is `>=14.25.0`).
 */

export interface UpgradeRule {
  /** Stable id, printed with each hop it causes. */
  id: string;
  /** Running versions the rule applies to. */
  from: string;
  /** Targets the direct jump to which is unsafe. */
  to: string;
  /** Acceptable stepping stones (a hop into `via` is never blocked by this rule). */
  via: string;
  /** Why, as a sentence. */
  reason: string;
  /** The fact / report the rule rests on. */
  evidence: string;
  /**
   * 'always': the rule binds every burn. 'flint-order': it binds only a burn done flint's way
   * (BurnOptions.flintOrder, or another tool); with fs3burn's mitigations the direct jump is
   * allowed and the rule is reported as a note.
   */
  appliesWhen: 'always' | 'flint-order';
  /** Advice for the hop into `via` (e.g. which tool to use). */
  hopNote?: string;
}

export const UPGRADE_RULES: readonly UpgradeRule[] = Object.freeze([
  {
    id: 'cx4lx-14.14-warm-boot-hang',
    from: '14.14.*',
    to: '>=14.25',
    via: '14.25.1020',
    reason:
      'FW 14.14 has no FW-managed update (no MCAM), so it is burned through the flash registers; after the warm-boot request (MFAI + MFRL 0x40) it may stop answering ICMD, and a tool that invalidates the old image only then fails ("Failed to invalidate old fw signature ... MFE_CMDIF_TIMEOUT_ERR"). Once on 14.25.1020 the card updates through MCC.',
    evidence:
      'fs3-facts.md §4.4–§4.6: NVIDIA forum thread 359286 (MCX4121A-ACA on 14.14.1100 → 14.25 / 14.32: the latest MFT failed at the old-signature invalidation; MFT 4.22.1-526 succeeded on that card; the same host burned a 14.23.1020 card through MCC). The analysis of the hang is UNVERIFIED.',
    appliesWhen: 'flint-order',
    hopNote: 'burn this hop with fs3burn (old image invalidated before the warm-boot request) or with MFT 4.22.1, as in the field report',
  },
]) as readonly UpgradeRule[];
