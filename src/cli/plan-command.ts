/**
 * `fs3burn -d DEVICE -i IMAGE plan`: what a burn would do, without writing anything — the
 * flow and why, the steps, the risks, the modelled time (planBurn, src/flows/plan.ts).
 * With `--available IMG...` it also proposes an upgrade path (src/flows/upgrade-path.ts).
 */
import type { Command } from 'commander';
import { requireDevice, withDevice } from '../device/connect.js';
import { Fs3BurnError } from '../errors.js';
import { planBurn, type BurnPlan } from '../flows/plan.js';
import { identifyForFlow } from '../flows/select.js';
import { planUpgradePath, type AvailableImage, type UpgradePath } from '../flows/upgrade-path.js';
import { formatFwVersion, parseFs3 } from '../image/fs3.js';
import { openImage } from '../io/open-image.js';
import { globalOpts, out, printJson } from './io.js';

const hex = (n: number) => `0x${n.toString(16)}`;

export function formatPlan(p: BurnPlan): string {
  let s = `Plan: ${p.device.name}: ${p.versions.from ?? 'N/A'} -> ${p.versions.to} (${p.versions.change})\n`;
  s += `Flow: ${p.flow === 'legacy' ? 'legacy failsafe (fs3burn writes the flash)' : 'FW-managed (the firmware writes the flash, MCC/MCDA)'}\n`;
  for (const r of p.reasons) s += `  - ${r}\n`;
  if (p.slots) s += `Slots: new image at ${hex(p.slots.newStart)}, old image at ${hex(p.slots.oldStart)} stays bootable until the new one is complete and signed\n`;
  s += 'Steps:\n';
  p.steps.forEach((st, i) => {
    s += `  ${i + 1}. ${st.title}${st.detail ? `: ${st.detail}` : ''} [${st.fact}]\n`;
  });
  if (p.risks.length > 0) {
    s += 'Risks:\n';
    for (const r of p.risks) {
      s += `  - ${r.level.toUpperCase()}: ${r.text} [${r.fact}]\n`;
      if (r.mitigation) s += `      fs3burn: ${r.mitigation}\n`;
    }
  }
  const t = p.time;
  s += `Modelled time: ${t.totalSeconds.toFixed(1)} s (${t.counts.erases4k} sector erases, ${t.counts.pagePrograms} page programs, ${t.counts.icmdCommands} ICMD commands, ${t.counts.configAccesses} config accesses), plus a reset to load the new FW\n`;
  if (p.blocked) s += '-W- A blocking risk applies: burn refuses without the override named above.\n';
  return s;
}

function formatPath(u: UpgradePath): string {
  if (!u.ok) return `Upgrade path: none (${u.reason})\n`;
  let s = `Upgrade path: ${u.direct ? 'direct' : `${u.hops.length} hops`}\n`;
  u.hops.forEach((h, i) => {
    s += `  ${i + 1}. ${h.from} -> ${h.to} from ${h.source}: ${h.reason}\n`;
  });
  for (const n of u.notes) s += `  note: ${n}\n`;
  return s;
}

async function availableImages(files: string[], psid: string | undefined): Promise<AvailableImage[]> {
  const out: AvailableImage[] = [];
  for (const f of files) {
    const { bytes, source } = await openImage(f, psid ? { psid } : {});
    const ii = parseFs3(bytes).imageInfo;
    if (!ii) throw new Fs3BurnError('IMAGE_CORRUPT', `${source}: no IMAGE_INFO, so its version is unknown`);
    out.push({ version: formatFwVersion(ii.fwVersion), source, psid: ii.psid });
  }
  return out;
}

export function registerPlanCommand(program: Command): void {
  program
    .command('plan')
    .description('explain what burn would do: the flow and why, the steps, the risks and the modelled time (writes nothing)')
    .option('--available <images...>', 'other images at hand (files or archives with --psid): propose stepping stones')
    .option('--flint-order', "plan for flint's order, without fs3burn's mitigations")
    .action(async (o: { available?: string[]; flintOrder?: boolean }, cmd: Command) => {
      const g = globalOpts(cmd);
      const name = requireDevice(g.device, 'plan');
      if (!g.image) throw new Fs3BurnError('USAGE', 'plan needs an image: fs3burn -d DEVICE -i IMAGE plan');
      const { bytes, source } = await openImage(g.image, g.psid ? { psid: g.psid } : {});
      const image = parseFs3(bytes);
      const plan = await withDevice(name, (c) => planBurn(identifyForFlow(c.device), image, o.flintOrder ? { flintOrder: true } : {}));
      let path: UpgradePath | undefined;
      if (o.available && plan.versions.from) {
        const available = [...(await availableImages(o.available, g.psid)), { version: plan.versions.to, source, ...(image.imageInfo ? { psid: image.imageInfo.psid } : {}) }];
        path = planUpgradePath(plan.versions.from, plan.versions.to, available, o.flintOrder ? { flintOrder: true } : {});
      }
      if (g.json) {
        printJson({ source, ...plan, ...(path ? { upgradePath: path } : {}) });
        return;
      }
      out(formatPlan(plan));
      if (path) out(formatPath(path));
    });
}
