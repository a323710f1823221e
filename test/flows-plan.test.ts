/**
 * planBurn: the flow and why, the steps in order, the risks, the modelled time.
 */
import { describe, expect, it } from 'vitest';
import { openDevice } from '../src/device/index.js';
import { burnFwManaged } from '../src/flows/fw-managed/index.js';
import { planBurn } from '../src/flows/plan.js';
import { identifyForFlow, type FlowIdentity } from '../src/flows/select.js';
import { catalogImage, catalogParams } from '../src/image/catalog.js';
import { parseFs3 } from '../src/image/fs3.js';
import { SectionType } from '../src/image/sections.js';
import { createSimDevice } from '../src/sim/index.js';
import { virtualClock } from '../src/vsec/index.js';

const bytes1432 = catalogImage('cx4lx-14.32.1908');
const img1432 = parseFs3(bytes1432);
const img1414 = parseFs3(catalogImage('cx4lx-14.14.1100'));

function identity(spec: string): FlowIdentity {
  return identifyForFlow(openDevice(createSimDevice(spec), { clock: virtualClock() }));
}
const id1414 = identity('cx4lx@14.14.1100');
const id1425 = identity('cx4lx@14.25.1020');

/** The 14.32.1908 image with MAIN_CODE `extra` bytes larger. */
function bigger(extra: number) {
  const p = catalogParams('cx4lx-14.32.1908');
  p.sections = p.sections!.map((s) => (s.type === SectionType.MAIN_CODE && s.size !== undefined ? { ...s, size: s.size + extra } : s));
  return parseFs3(catalogImage('cx4lx-14.32.1908', { sections: p.sections }));
}

describe('planBurn, FW-managed (14.25.1020 → 14.32.1908)', () => {
  const plan = planBurn(id1425, img1432, {});

  it('says which flow and why', () => {
    expect(plan.flow).toBe('fw-managed');
    expect(plan.reasons.length).toBeGreaterThan(0);
    expect(plan.versions).toEqual({ from: '14.25.1020', to: '14.32.1908', change: 'upgrade' });
    expect(plan.blocked).toBe(false);
  });

  it('lists the steps in order: lock, update component, download N blocks, verify, activate, release', () => {
    expect(plan.steps.map((s) => s.id)).toEqual(['query', 'lock', 'update', 'download', 'verify', 'activate', 'release']);
    const blocks = Math.ceil(plan.image.bytes / 128);
    expect(plan.steps[3]!.title).toBe(`Download ${blocks} blocks`);
    for (const s of plan.steps) expect(s.fact).toMatch(/§|docs/);
  });

  it('names the risks (reset needed; pending reset)', () => {
    expect(plan.risks.map((r) => r.id)).toEqual(['activation', 'pending-reset']);
  });

  it('models a time > 0 from the sim’s time constants, close to what the simulated card charges', () => {
    expect(plan.time.totalUs).toBeGreaterThan(0);
    expect(plan.time.counts.icmdCommands).toBeGreaterThan(plan.time.counts.bytes / 128);
    const sim = createSimDevice('cx4lx@14.25.1020');
    const dev = openDevice(sim, { clock: virtualClock() });
    const t0 = sim.model.nowUs;
    burnFwManaged(dev, bytes1432, img1432);
    const charged = sim.model.nowUs - t0;
    expect(plan.time.totalUs / charged).toBeGreaterThan(0.8);
    expect(plan.time.totalUs / charged).toBeLessThan(1.25);
  });

  it('is plain JSON', () => {
    expect(JSON.parse(JSON.stringify(plan))).toEqual(plan);
  });
});

describe('planBurn, legacy', () => {
  it('14.14.1100 card: legacy steps in fs3burn’s order, the §4.6 risk, slots 0 → 0x400000', () => {
    const plan = planBurn(id1414, img1432, {});
    expect(plan.flow).toBe('legacy');
    expect(plan.reasons[0]).toMatch(/MCAM/);
    expect(plan.slots).toEqual({ oldStart: 0, newStart: 0x400000 });
    expect(plan.steps.map((s) => s.id)).toEqual(['checks', 'write', 'restore-signature', 'invalidate-old', 'boot-address']);
    const risk = plan.risks.find((r) => r.id === 'warm-boot-hang')!;
    expect(risk.text).toMatch(/FW 14\.14\.1100 may stop answering ICMD after the warm-boot request \(§4\.6\); fs3burn invalidates the old image first and can finish through the direct gateway/);
    expect(plan.time.counts.erases4k).toBeGreaterThan(0);
    expect(plan.time.counts.pagePrograms).toBeGreaterThan(0);
    expect(plan.time.counts.configAccesses).toBeGreaterThan(0);
  });

  it('flintOrder: the boot address comes before the invalidation, and the risk is a warning', () => {
    const plan = planBurn(id1414, img1432, { flintOrder: true });
    expect(plan.steps.map((s) => s.id)).toEqual(['checks', 'write', 'restore-signature', 'boot-address', 'invalidate-old']);
    expect(plan.risks.find((r) => r.id === 'warm-boot-hang')).toMatchObject({ level: 'warning' });
  });

  it('an unsigned image on a MCC-capable card: legacy with the reason; a downgrade is blocking unless allowed', () => {
    const plan = planBurn(id1425, img1414, {});
    expect(plan.flow).toBe('legacy');
    expect(plan.reasons[0]).toMatch(/SM_NONE/);
    expect(plan.versions.change).toBe('downgrade');
    expect(plan.blocked).toBe(true);
    expect(planBurn(id1425, img1414, { allowDowngrade: true }).blocked).toBe(false);
  });

  it('noFwCtrl on a 14.25 card: legacy; nofs adds the not-failsafe warning and the CR path', () => {
    const plan = planBurn(id1425, img1432, { noFwCtrl: true, nofs: true });
    expect(plan.flow).toBe('legacy');
    expect(plan.risks.map((r) => r.id)).toContain('not-failsafe');
    expect(plan.steps.find((s) => s.id === 'boot-address')!.title).toMatch(/CR path/);
  });

  it('a PSID mismatch is blocking unless allowPsidChange', () => {
    const other = parseFs3(catalogImage('cx4lx-14.32.1908', { psid: 'MT_0000000001' }));
    expect(planBurn(id1425, other, {}).risks.find((r) => r.id === 'psid-mismatch')?.level).toBe('blocking');
    expect(planBurn(id1425, other, { allowPsidChange: true }).risks.find((r) => r.id === 'psid-mismatch')?.level).toBe('warning');
  });
});

describe('modelled time grows with the image size', () => {
  const big = bigger(0x100000);
  it('FW-managed', () => {
    const a = planBurn(id1425, img1432, {});
    const b = planBurn(id1425, big, {});
    expect(b.image.bytes).toBeGreaterThan(a.image.bytes);
    expect(b.time.totalUs).toBeGreaterThan(a.time.totalUs);
  });
  it('legacy (FW access and the direct gateway)', () => {
    const a = planBurn(id1414, img1432, {});
    const b = planBurn(id1414, big, {});
    expect(b.time.totalUs).toBeGreaterThan(a.time.totalUs);
    expect(b.time.counts.erases4k).toBeGreaterThan(a.time.counts.erases4k);
    const gw: FlowIdentity = { ...id1414, accessMethod: { method: 'gateway', reason: 'test' } };
    expect(planBurn(gw, big, {}).time.totalUs).toBeGreaterThan(planBurn(gw, img1432, {}).time.totalUs);
  });
  it('the time model is a knob', () => {
    const slow = planBurn(id1425, img1432, { timeModel: { configAccessUs: 100 } });
    expect(slow.time.totalUs).toBeGreaterThan(planBurn(id1425, img1432, {}).time.totalUs);
  });
});

describe('§2.2 new image start', () => {
  it('the plan puts the new image where the legacy flow will (one rule, src/flows/legacy/convertor.ts)', () => {
    const at = (start: number, log2: number) => ({ ...id1414, image: { ...id1414.image!, start, log2Chunk: log2 } });
    expect(planBurn(at(0, 0x16), img1432, {}).slots).toEqual({ oldStart: 0, newStart: 0x400000 });
    expect(planBurn(at(0x400000, 0x16), img1432, {}).slots).toEqual({ oldStart: 0x400000, newStart: 0 });
  });
});
