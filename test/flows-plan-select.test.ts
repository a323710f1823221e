/**
 * selectFlow (§3.1): FW-managed only when the device advertises the MCC registers, the image
 * is signed with mcc_en, no legacy fallback applies and noFwCtrl is not set.
 */
import { describe, expect, it } from 'vitest';
import { openDevice, type DeviceIdentity } from '../src/device/index.js';
import { identifyForFlow, selectFlow, type FlowIdentity } from '../src/flows/select.js';
import { catalogImage } from '../src/image/catalog.js';
import { parseFs3 } from '../src/image/fs3.js';
import { createSimDevice } from '../src/sim/index.js';
import { virtualClock } from '../src/vsec/index.js';

const signed = parseFs3(catalogImage('cx4lx-14.32.1908'));
const unsigned = parseFs3(catalogImage('cx4lx-14.14.1100'));

function identity(spec: string): FlowIdentity {
  return identifyForFlow(openDevice(createSimDevice(spec), { clock: virtualClock() }));
}
const id1414 = identity('cx4lx@14.14.1100');
const id1425 = identity('cx4lx@14.25.1020');

describe('selectFlow on the simulated card', () => {
  it('14.14.1100 → legacy: MCAM answers REG_NOT_SUPP, and the reason names it', () => {
    const s = selectFlow(id1414, signed, {});
    expect(s.flow).toBe('legacy');
    expect(s.reasons[0]).toMatch(/FW 14\.14\.1100 does not answer MCAM \(REG_NOT_SUPP\)/);
  });

  it('14.25.1020 + a signed image → fw-managed, with every reason a sentence', () => {
    const s = selectFlow(id1425, signed, {});
    expect(s.flow).toBe('fw-managed');
    expect(s.reasons).toHaveLength(3);
    expect(s.reasons[0]).toMatch(/advertises MCQS, MCQI, MCC, MCDA, MQIS and MGIR/);
    expect(s.reasons[1]).toMatch(/IMAGE_SIGNATURE_256.*PUBLIC_KEYS_2048.*mcc_en/);
    expect(s.reasons[2]).toMatch(/None of the legacy fallbacks/);
    for (const r of s.reasons) expect(r).toMatch(/^[A-Z].*\.$/);
  });

  it('an unsigned image (14.14.1100) → legacy, saying what it lacks', () => {
    const s = selectFlow(id1425, unsigned, {});
    expect(s.flow).toBe('legacy');
    expect(s.reasons[0]).toMatch(/lacks a signature section .*public-keys section.*IMAGE_INFO\.mcc_en/);
    expect(s.reasons[0]).toMatch(/SM_NONE/);
  });

  it('noFwCtrl → legacy', () => {
    const s = selectFlow(id1425, signed, { noFwCtrl: true });
    expect(s).toEqual({ flow: 'legacy', reasons: [expect.stringMatching(/noFwCtrl/)] });
  });

  it('identifyForFlow adds the running image’s run_from_any', () => {
    expect(id1425.image?.runFromAny).toBe(true);
    expect(id1414.image?.runFromAny).toBe(false);
  });
});

describe('selectFlow rules on crafted identities', () => {
  const base: FlowIdentity = { ...id1425, image: { ...id1425.image!, runFromAny: true } };
  const withCaps = (missing: string[]): FlowIdentity => ({ ...base, capabilities: { mcamSupported: true, fwManagedFlow: missing.length === 0, missing, mcddDma: false } });

  it('names each MCAM bit that is missing (flint’s stricter rule, §8)', () => {
    const s = selectFlow(withCaps(['MQIS', 'MGIR']), signed, {});
    expect(s.flow).toBe('legacy');
    expect(s.reasons[0]).toMatch(/does not advertise MQIS, MGIR; flint requires all of MCQS, MCQI, MCC, MCDA, MQIS and MGIR/);
  });

  it('no ICMD (no capabilities) → legacy', () => {
    const { capabilities: _c, ...noCaps } = base;
    expect(selectFlow({ ...noCaps, livefish: true } as FlowIdentity, signed).reasons[0]).toMatch(/livefish/);
  });

  it('§3.1 step 4: run_from_any device at 0 + an old 4 MiB image (run_from_any 0) → legacy', () => {
    const old = parseFs3(catalogImage('cx4lx-14.32.1908', { runFromAny: false }));
    const s = selectFlow(base, old);
    expect(s.flow).toBe('legacy');
    expect(s.reasons[0]).toMatch(/run_from_any at 0x0 and the new image is an old 4 MiB image/);
  });

  it('§3.1 step 4: device not run_from_any + an 8 MiB image → legacy (and the 8 MB shift)', () => {
    const big = parseFs3(catalogImage('cx4lx-14.32.1908', { chunkLog2: 0x17 }));
    const s = selectFlow({ ...base, image: { ...base.image!, runFromAny: false } }, big);
    expect(s.flow).toBe('legacy');
    expect(s.reasons.join(' ')).toMatch(/not run_from_any and the new image uses 8 MiB chunks/);
    expect(s.reasons.join(' ')).toMatch(/8 MB shift/);
  });

  it('an unknown run_from_any that matters → legacy, said so', () => {
    const old = parseFs3(catalogImage('cx4lx-14.32.1908', { runFromAny: false }));
    const plain: DeviceIdentity = { ...id1425, image: { ...id1425.image!, start: 0 } };
    delete (plain.image as { runFromAny?: boolean }).runFromAny;
    expect(selectFlow(plain, old).reasons[0]).toMatch(/run_from_any is unknown/);
  });

  it('SwitchIB is never updated through MCC', () => {
    expect(selectFlow({ ...base, hwId: 0x247 }, signed).reasons[0]).toMatch(/SwitchIB/);
  });
});
