/**
 * planUpgradePath: from the running FW to a target through the available images (files or
 * MFA1 archive entries), stepping through intermediate versions where a rule
 * (src/flows/upgrade-rules.ts) says a direct jump is unsafe. Pure: versions in, hops out.
 *
 * An edge a → b (a hop) is blocked by an active rule when a ∈ rule.from, b ∈ rule.to and
 * b ∉ rule.via. The path is the one with the fewest hops (breadth-first, trying the highest
 * stepping stones first); each hop carries its reason.
 */
import { UPGRADE_RULES, type UpgradeRule } from './upgrade-rules.js';

export interface AvailableImage {
  /** "14.25.1020" (also "14.0025.0100", §2.5). */
  version: string;
  /** Where the image is: a file path, or "ARCHIVE.mfa#PSID". */
  source: string;
  psid?: string;
}

export interface UpgradeHop {
  from: string;
  to: string;
  source: string;
  reason: string;
  /** The rule that made this hop a stepping stone. */
  ruleId?: string;
  note?: string;
}

export interface UpgradePath {
  running: string;
  target: string;
  /** A path exists (possibly empty: already running the target). */
  ok: boolean;
  /** One hop, straight to the target. */
  direct: boolean;
  hops: UpgradeHop[];
  /** Why there is no path, when ok is false. */
  reason?: string;
  /** Rules that did not bind (flint-order rules under fs3burn's mitigations), as sentences. */
  notes: string[];
}

export interface UpgradePathOptions {
  /** The rule table (default UPGRADE_RULES). */
  rules?: readonly UpgradeRule[];
  /** Plan for a flint-style burn (no mitigations): 'flint-order' rules bind too. */
  flintOrder?: boolean;
  /** Only images of this PSID (default: the target image's PSID, when it has one). */
  psid?: string;
}

type Version = readonly number[];

export function parseVersionText(text: string): Version | undefined {
  const m = /^\s*(\d+)(?:\.(\d+))?(?:\.(\d+))?\s*$/.exec(text);
  if (!m) return undefined;
  return [Number(m[1]), Number(m[2] ?? 0), Number(m[3] ?? 0)];
}

function cmp(a: Version, b: Version): number {
  for (let i = 0; i < 3; i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

function termMatches(term: string, v: Version): boolean {
  if (term === '*') return true;
  const wild = /^(\d+(?:\.\d+)*)\.\*$/.exec(term);
  if (wild) return wild[1]!.split('.').every((p, i) => Number(p) === v[i]);
  const op = /^(>=|<=|>|<|=)?(.+)$/.exec(term)!;
  const ref = parseVersionText(op[2]!);
  if (!ref) throw new RangeError(`bad version range term "${term}"`);
  const d = cmp(v, ref);
  switch (op[1]) {
    case '>=':
      return d >= 0;
    case '<=':
      return d <= 0;
    case '>':
      return d > 0;
    case '<':
      return d < 0;
    default:
      return d === 0;
  }
}

/** Whether `version` lies in `range` (grammar in upgrade-rules.ts). */
export function inRange(version: string | Version, range: string): boolean {
  const v = typeof version === 'string' ? parseVersionText(version) : version;
  if (!v) throw new RangeError(`bad version "${String(version)}"`);
  return range.split('||').some((alt) => alt.trim().split(/\s+/).filter(Boolean).every((t) => termMatches(t, v)));
}

function blockingRules(rules: readonly UpgradeRule[], a: Version, b: Version): UpgradeRule[] {
  return rules.filter((r) => inRange(a, r.from) && inRange(b, r.to) && !inRange(b, r.via));
}

function text(v: Version): string {
  return `${v[0]}.${v[1]}.${String(v[2]).padStart(4, '0')}`;
}

interface Node {
  version: Version;
  image: AvailableImage;
}

/** Propose the hops from `running` to `target` through `available`. */
export function planUpgradePath(running: string, target: string, available: readonly AvailableImage[], opts: UpgradePathOptions = {}): UpgradePath {
  const rules = opts.rules ?? UPGRADE_RULES;
  const active = rules.filter((r) => r.appliesWhen === 'always' || opts.flintOrder === true);
  const idle = rules.filter((r) => !active.includes(r));
  const base: UpgradePath = { running, target, ok: false, direct: false, hops: [], notes: [] };
  const from = parseVersionText(running);
  const to = parseVersionText(target);
  if (!from || !to) return { ...base, reason: `"${!from ? running : target}" is not a FW version (MAJOR.MINOR.SUBMINOR).` };

  const targetImage = available.find((i) => parseVersionText(i.version) && cmp(parseVersionText(i.version)!, to) === 0 && (!opts.psid || i.psid === undefined || i.psid === opts.psid));
  if (!targetImage) {
    const list = available.map((i) => i.version).join(', ') || 'none';
    return { ...base, reason: `No available image holds FW ${text(to)}${opts.psid ? ` for PSID ${opts.psid}` : ''} (available: ${list}).` };
  }
  const psid = opts.psid ?? targetImage.psid;
  if (cmp(from, to) === 0) return { ...base, ok: true, notes: [`The card already runs FW ${text(to)}.`] };

  for (const r of idle) {
    if (inRange(from, r.from) && inRange(to, r.to) && !inRange(to, r.via)) {
      base.notes.push(`Rule ${r.id} would step via ${r.via} for a flint-style burn (${r.reason}); fs3burn's mitigations make the direct jump safe.`);
    }
  }

  // candidate stepping stones: same PSID, strictly between running and target (upgrades only)
  const stones: Node[] = [];
  for (const img of available) {
    const v = parseVersionText(img.version);
    if (!v || (psid && img.psid !== undefined && img.psid !== psid)) continue;
    if (cmp(v, from) > 0 && cmp(v, to) < 0 && !stones.some((s) => cmp(s.version, v) === 0)) stones.push({ version: v, image: img });
  }
  stones.sort((a, b) => cmp(b.version, a.version)); // highest first
  const goal: Node = { version: to, image: targetImage };

  // breadth-first over versions; a downgrade target allows only the direct hop
  const prev = new Map<Node | 'start', Node | 'start'>();
  const queue: (Node | 'start')[] = ['start'];
  const versionOf = (n: Node | 'start') => (n === 'start' ? from : n.version);
  while (queue.length > 0 && !prev.has(goal)) {
    const cur = queue.shift()!;
    const next = cmp(to, from) < 0 ? [goal] : [goal, ...stones.filter((s) => cmp(s.version, versionOf(cur)) > 0)];
    for (const n of next) {
      if (prev.has(n) || n === cur) continue;
      if (blockingRules(active, versionOf(cur), n.version).length > 0) continue;
      prev.set(n, cur);
      queue.push(n);
    }
  }

  if (!prev.has(goal)) {
    const why = blockingRules(active, from, to);
    const r = why[0];
    const list = available.map((i) => i.version).join(', ');
    return {
      ...base,
      reason: r
        ? `FW ${text(from)} should not go straight to ${text(to)} (rule ${r.id}: ${r.reason}) and no available image is a stepping stone in ${r.via} that leads on to ${text(to)} (available: ${list}).`
        : `No sequence of the available images leads from FW ${text(from)} to ${text(to)} without a blocked jump (available: ${list}).`,
    };
  }

  const chain: Node[] = [];
  for (let n: Node | 'start' = goal; n !== 'start'; n = prev.get(n)!) chain.unshift(n);
  let at: Version = from;
  for (const n of chain) {
    base.hops.push(hopOf(at, n, to, active, cmp(to, from) < 0));
    at = n.version;
  }
  return { ...base, ok: true, direct: base.hops.length === 1 };
}

function hopOf(at: Version, n: Node, to: Version, active: readonly UpgradeRule[], downgrade: boolean): UpgradeHop {
  const hop: UpgradeHop = { from: text(at), to: text(n.version), source: n.image.source, reason: '' };
  if (cmp(n.version, to) === 0) {
    hop.reason = downgrade
      ? `Downgrade straight to FW ${text(to)} (needs allowDowngrade).`
      : `No rule forbids FW ${text(at)} → ${text(to)}.`;
    return hop;
  }
  const why = blockingRules(active, at, to);
  const r = why.find((x) => inRange(n.version, x.via)) ?? why[0];
  if (r) {
    hop.ruleId = r.id;
    hop.reason = `Stepping stone: ${r.reason}`;
    if (r.hopNote && inRange(n.version, r.via)) hop.note = r.hopNote;
  } else {
    hop.reason = `Stepping stone on the way to FW ${text(to)}: a later hop is blocked from FW ${text(at)}.`;
  }
  return hop;
}
