/**
 * The upgrade-path rule engine over several rule tables.
 */
import { describe, expect, it } from 'vitest';
import { inRange, planUpgradePath, type AvailableImage } from '../src/flows/upgrade-path.js';
import { UPGRADE_RULES, type UpgradeRule } from '../src/flows/upgrade-rules.js';

const PSID = 'MT_2420110034';
const img = (version: string, psid = PSID): AvailableImage => ({ version, source: `fw-${version}.bin`, psid });
const all = [img('14.14.1100'), img('14.25.1020'), img('14.32.1908')];

describe('version ranges', () => {
  it.each([
    ['14.14.1100', '14.14.*', true],
    ['14.15.0', '14.14.*', false],
    ['14.25.1020', '>=14.25', true],
    ['14.24.9999', '>=14.25', false],
    ['14.25.1020', '14.25.1020', true],
    ['14.25.1020', '=14.25.1021', false],
    ['14.20.0', '>=14.20 <14.25.1021', true],
    ['14.26.0', '>=14.20 <14.25.1021', false],
    ['14.26.0', '14.14.* || >=14.26', true],
    ['16.1.0', '*', true],
    ['14.25.1020', '14.*', true],
  ])('%s in %s → %s', (v, r, want) => {
    expect(inRange(v, r)).toBe(want);
  });
  it('rejects a bad term', () => {
    expect(() => inRange('14.1.1', '>=abc')).toThrow(/bad version range/);
  });
});

describe('the default table (UPGRADE_RULES)', () => {
  it('every rule carries a reason and its evidence', () => {
    for (const r of UPGRADE_RULES) {
      expect(r.reason.length).toBeGreaterThan(20);
      expect(r.evidence).toMatch(/§/);
    }
  });

  it('fs3burn (mitigations on): 14.14.1100 → 14.32.1908 is direct; the flint-order rule is a note', () => {
    const p = planUpgradePath('14.14.1100', '14.32.1908', all);
    expect(p).toMatchObject({ ok: true, direct: true });
    expect(p.hops).toEqual([{ from: '14.14.1100', to: '14.32.1908', source: 'fw-14.32.1908.bin', reason: 'No rule forbids FW 14.14.1100 → 14.32.1908.' }]);
    expect(p.notes[0]).toMatch(/Rule cx4lx-14\.14-warm-boot-hang would step via 14\.25\.1020/);
  });

  it('flint order: via 14.25.1020 because of §4.6, with the hop note', () => {
    const p = planUpgradePath('14.14.1100', '14.32.1908', all, { flintOrder: true });
    expect(p.ok).toBe(true);
    expect(p.hops.map((h) => [h.from, h.to])).toEqual([
      ['14.14.1100', '14.25.1020'],
      ['14.25.1020', '14.32.1908'],
    ]);
    expect(p.hops[0]).toMatchObject({ ruleId: 'cx4lx-14.14-warm-boot-hang', source: 'fw-14.25.1020.bin' });
    expect(p.hops[0]!.reason).toMatch(/^Stepping stone: FW 14\.14 has no FW-managed update/);
    expect(p.hops[0]!.note).toMatch(/MFT 4\.22\.1/);
  });

  it('flint order without the stepping stone: no path, and it says why', () => {
    const p = planUpgradePath('14.14.1100', '14.32.1908', [img('14.32.1908')], { flintOrder: true });
    expect(p.ok).toBe(false);
    expect(p.reason).toMatch(/should not go straight to 14\.32\.1908 \(rule cx4lx-14\.14-warm-boot-hang.*stepping stone in 14\.25\.1020/);
  });

  it('the stepping stone itself is a direct hop even in flint order', () => {
    expect(planUpgradePath('14.14.1100', '14.25.1020', all, { flintOrder: true })).toMatchObject({ ok: true, direct: true });
  });
});

describe('other tables', () => {
  const chain: UpgradeRule[] = [
    { id: 'a', from: '<2.0', to: '>=3.0', via: '2.*', reason: 'A needs 2.x first.', evidence: 'test', appliesWhen: 'always' },
    { id: 'b', from: '2.*', to: '>=4.0', via: '3.5.0', reason: 'B needs 3.5.0 first.', evidence: 'test', appliesWhen: 'always' },
  ];
  const versions = ['1.0.0', '2.1.0', '2.3.0', '3.0.0', '3.5.0', '4.0.0'].map((v) => img(v));

  it('chains rules: 1.0 → 2.3 (highest in 2.*) → 3.5.0 → 4.0', () => {
    const p = planUpgradePath('1.0.0', '4.0.0', versions, { rules: chain });
    expect(p.hops.map((h) => h.to)).toEqual(['2.3.0000', '3.5.0000', '4.0.0000']);
    expect(p.hops.map((h) => h.ruleId)).toEqual(['a', 'b', undefined]);
    expect(p.hops[0]!.reason).toBe('Stepping stone: A needs 2.x first.');
  });

  it('an empty table always jumps directly', () => {
    expect(planUpgradePath('1.0.0', '4.0.0', versions, { rules: [] })).toMatchObject({ ok: true, direct: true });
  });

  it('a rule whose via is unavailable leaves no path', () => {
    const p = planUpgradePath('1.0.0', '4.0.0', versions.filter((v) => !v.version.startsWith('2.')), { rules: chain });
    expect(p.ok).toBe(false);
    expect(p.reason).toMatch(/rule a: A needs 2\.x first\./);
  });

  it('a blanket ban with no via has no path', () => {
    const ban: UpgradeRule[] = [{ id: 'ban', from: '*', to: '>=9', via: '<0', reason: 'Never.', evidence: 'test', appliesWhen: 'always' }];
    expect(planUpgradePath('1.0.0', '9.0.0', [img('9.0.0'), img('5.0.0')], { rules: ban }).ok).toBe(false);
  });

  it('ignores images of another PSID as stepping stones', () => {
    const mixed = [img('1.0.0'), img('2.3.0', 'MT_OTHER'), img('3.5.0'), img('4.0.0')];
    const p = planUpgradePath('1.0.0', '4.0.0', mixed, { rules: chain });
    expect(p.ok).toBe(false);
  });

  it('no image for the target; already running; a downgrade', () => {
    expect(planUpgradePath('1.0.0', '7.0.0', versions).reason).toMatch(/No available image holds FW 7\.0\.0000/);
    expect(planUpgradePath('4.0.0', '4.0.0', versions)).toMatchObject({ ok: true, hops: [] });
    const down = planUpgradePath('4.0.0', '2.1.0', versions, { rules: chain });
    expect(down).toMatchObject({ ok: true, direct: true });
    expect(down.hops[0]!.reason).toMatch(/Downgrade/);
  });

  it('a bad version string says so', () => {
    expect(planUpgradePath('x', '4.0.0', versions).reason).toMatch(/not a FW version/);
  });
});
