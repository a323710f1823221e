/**
 * `fs3burn -d DEVICE -i IMAGE burn` (alias `b`): the product's main job, a thin shell over
 * burnImage (src/flows). flint-compatible lines, a progress bar on a terminal, plain lines
 * otherwise, JSON events with --json. Without -y it asks before the first write; Ctrl-C
 * stops at the next safe point and says what state the flash is in and what to run next.
 */
import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import { connect, requireDevice } from '../device/connect.js';
import { openDevice } from '../device/open.js';
import { parseDeviceName } from '../transport/device-name.js';
import type { PciConfigTransport } from '../transport/types.js';
import { virtualClock } from '../vsec/clock.js';
import { ExitCode, Fs3BurnError } from '../errors.js';
import type { GuardOptions } from '../flows/guards.js';
import type { DeviceLock } from '../flows/lock.js';
import type { BurnOptions, BurnResult, ConfirmInfo } from '../flows/types.js';
import { openImage } from '../io/open-image.js';
import { ExitWith, globalOpts, printJson, type GlobalOpts } from './io.js';
import { createProgress, progressMode } from './progress.js';

export interface BurnCliOptions {
  allowPsidChange?: boolean;
  allowDowngrade?: boolean;
  force?: boolean;
  nofs?: boolean;
  fwCtrl?: boolean; // commander's --no-fw-ctrl
  flintOrder?: boolean;
  flashVerify?: boolean; // commander's --no-flash-verify
  gatewayFallback?: boolean; // --no-gateway-fallback
  via?: string[];
  clearSemaphore?: boolean;
}

async function ask(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = (await rl.question(question)).trim().toLowerCase();
    return answer === 'y' || answer === 'yes';
  } finally {
    rl.close();
  }
}

function confirmFn(g: GlobalOpts & { yes?: boolean }): BurnOptions['confirm'] {
  if (g.yes) return undefined;
  return async (info: ConfirmInfo) => {
    if (!process.stdin.isTTY) {
      throw new Fs3BurnError('USAGE', 'burn needs a confirmation and standard input is not a terminal: pass -y to burn without asking', {
        hint: `nothing was written; to burn: fs3burn -d ${info.device} -i IMAGE burn -y`,
      });
    }
    return ask(`\n Do you want to continue (${info.flow} flow, ${info.fromVersion ?? 'N/A'} -> ${info.toVersion}) ? (y/n) [n] : `);
  };
}

function burnOptions(g: GlobalOpts & { yes?: boolean }, o: BurnCliOptions, signal: AbortSignal, progress: ReturnType<typeof createProgress>): BurnOptions & GuardOptions {
  const opts: BurnOptions & GuardOptions = {
    signal,
    log: (line) => progress.line(line),
    onEvent: (e) => progress.event(e),
  };
  const confirm = confirmFn(g);
  if (confirm) opts.confirm = confirm;
  if (o.allowPsidChange) opts.allowPsidChange = true;
  if (o.allowDowngrade) opts.allowDowngrade = true;
  if (o.force) opts.force = true;
  if (o.nofs) opts.nofs = true;
  if (o.fwCtrl === false) opts.noFwCtrl = true;
  if (o.flintOrder) opts.flintOrder = true;
  if (o.flashVerify === false) opts.verify = false;
  if (o.gatewayFallback === false) opts.gatewayFallback = false;
  if (o.clearSemaphore) opts.clearSemaphore = true;
  return opts;
}

/** A transport that the device layer may "close" without closing the card (hops share it). */
function keepOpen(t: PciConfigTransport): PciConfigTransport {
  return { name: t.name, read32: (off) => t.read32(off), write32: (off, v) => t.write32(off, v), close: () => {} };
}

export async function runBurn(g: GlobalOpts & { yes?: boolean }, o: BurnCliOptions): Promise<BurnResult[]> {
  const deviceName = requireDevice(g.device, 'burn');
  if (!g.image) throw new Fs3BurnError('USAGE', 'burn needs an image: fs3burn -d DEVICE -i IMAGE burn');
  const hopFiles = [...(o.via ?? []).flatMap((v) => v.split(',')).filter((v) => v !== ''), g.image];
  const parsed = parseDeviceName(deviceName);
  if (hopFiles.length > 1 && parsed.kind !== 'sim') {
    throw new Fs3BurnError('USAGE', `--via needs a reset between hops, and fs3burn does not reset real devices (${deviceName})`, {
      hint: 'burn each hop on its own: burn, reset the card (mstfwreset or a reboot), then burn the next image',
    });
  }
  // every image is read and checked before anything is written
  const hops = [];
  for (const f of hopFiles) hops.push(await openImage(f, g.psid ? { psid: g.psid } : {}));
  const json = g.json === true;
  const progress = createProgress(progressMode(json));
  const controller = new AbortController();
  let interrupts = 0;
  const onSigint = () => {
    interrupts++;
    if (interrupts === 1) {
      progress.line('-W- Interrupted: stopping at the next safe point (press Ctrl-C again to quit at once)');
      controller.abort(new Fs3BurnError('BURN_ABORTED', 'burn interrupted by the user'));
    } else {
      process.stderr.write('\n-W- Quit during a burn step. A failsafe burn keeps one bootable image at every step; run the same burn command again to finish it.\n');
      process.exit(ExitCode.BURN_FAILED);
    }
  };
  process.on('SIGINT', onSigint);
  const { burnImage } = await import('../flows/burn.js');
  const { acquireDeviceLock } = await import('../flows/lock.js');
  const results: BurnResult[] = [];
  let lock: DeviceLock | undefined;
  try {
    // one burn per device at a time: locked before the first device access (docs/guards.md)
    lock = await acquireDeviceLock(deviceName, { command: `fs3burn -d ${deviceName} -i ${g.image} burn` });
    if (lock.tookOver) {
      const o = lock.tookOver.owner;
      progress.line(`-W- fs3burn: took over the burn lock of ${deviceName}${o ? ` left by pid ${o.pid} since ${o.since}` : ''}: ${lock.tookOver.reason}`);
    }
    if (hops.length === 1) {
      const conn = await connect(deviceName);
      try {
        if (json) progress.record({ type: 'start', device: deviceName, image: hops[0]!.source });
        results.push(await burnImage(conn.device, hops[0]!.bytes, burnOptions(g, o, controller.signal, progress)));
      } finally {
        conn.close();
      }
    } else {
      // several hops on one simulated card, with the card's reset between them
      const { createSimDevice } = await import('../sim/index.js');
      const sim = createSimDevice((parsed as { spec: string }).spec);
      try {
        for (const [i, hop] of hops.entries()) {
          progress.line(`-I- Hop ${i + 1}/${hops.length}: ${hop.source}`);
          if (json) progress.record({ type: 'start', device: deviceName, image: hop.source, hop: i + 1, hops: hops.length });
          const device = openDevice(keepOpen(sim), { clock: virtualClock() });
          try {
            results.push(await burnImage(device, hop.bytes, burnOptions(g, o, controller.signal, progress)));
          } finally {
            device.close();
          }
          if (i < hops.length - 1) {
            sim.model.reset('warm');
            const running = sim.model.running;
            if (!running) throw new Fs3BurnError('BURN_HOP_NOT_BOOTED', `after hop ${i + 1} and a reset the card booted no image`, { hint: 'read the flash (ri) and verify it; nothing more was written' });
            progress.line(`-I- Reset ${deviceName}: running FW ${running.versionString}`);
          }
        }
      } finally {
        sim.close();
      }
    }
    progress.stop();
    for (const result of results) {
      if (json) progress.record({ type: 'result', ...result });
      else for (const m of result.mitigations) progress.line(`-I- fs3burn: ${m}`);
    }
    if (parsed.kind === 'sim' && !/[?&]state=/.test(parsed.spec)) {
      progress.line(`-W- ${deviceName} has no state file, so this simulated card ends with this command; add ?state=FILE to keep it for reset and query`);
    }
    return results;
  } catch (e) {
    progress.stop();
    if (json && e instanceof Fs3BurnError) {
      progress.record({ type: 'error', error: e.toJSON() });
      throw new ExitWith(e.exitCode);
    }
    throw e;
  } finally {
    process.off('SIGINT', onSigint);
    await lock?.release();
  }
}

export function registerBurnCommand(program: Command): void {
  program
    .command('burn')
    .alias('b')
    .description('burn the image (-i) to the device (-d), failsafe: one bootable image at every step')
    .option('--allow-psid-change', 'burn an image whose PSID differs from the card\'s')
    .option('--allow-downgrade', 'burn an older FW version than the one on flash')
    .option('--force', 'burn even when the same version is on flash')
    .option('--nofs', 'not failsafe (flint -nofs): no version or chunk checks, and every other image start is invalidated')
    .option('--no-fw-ctrl', 'never use the FW-managed (MCC) flow')
    .option('--no-flash-verify', 'skip reading back what was written')
    .option('--no-gateway-fallback', 'do not finish through the direct flash gateway when ICMD stops answering')
    .option('--via <images...>', 'burn these images first, in order, resetting the (simulated) card between hops')
    .option('--flint-order', "mimic flint's order and budgets exactly, without fs3burn's mitigations (to reproduce flint's failure)")
    .option('--clear-semaphore', 'write 0 to an ICMD / flash-programming semaphore another owner holds (one that crashed), then burn')
    .action(async (o: BurnCliOptions, cmd: Command) => {
      await runBurn(globalOpts(cmd) as GlobalOpts & { yes?: boolean }, o);
    });
}
