/**
 * `fs3burn sim ...`: the simulated card as a process of its own.
 *
 *   fs3burn sim serve --socket PATH --personality 14.14.1100 [--state FILE] [--fault SPEC]... [--knob K=V]...
 *   fs3burn sim reset --state FILE [--cold]
 *   fs3burn sim info  --state FILE [--json]
 *   fs3burn sim stats --socket PATH [--json]
 *
 * `serve` answers config-space reads and writes over a UNIX socket (src/sim/server.ts) so
 * that the unmodified mstflint, through native-shims/sim-preload.c, drives the same model
 * as an in-process client (docs/mstflint-bridge.md).
 */
import type { Command } from 'commander';
import { Fs3BurnError } from '../errors.js';
import { describeImage } from '../image/query.js';
import { parseFs3 } from '../image/fs3.js';
import { createSimDevice, type SimDevice, type SimOptions } from '../sim/index.js';
import { IMAGE_STARTS } from '../sim/constants.js';
import { parseFault, type FaultSpec } from '../sim/faults.js';
import { parseIntStrict, parseKnobValue, type Knobs } from '../sim/knobs.js';
import { readStateFile } from '../sim/state.js';
import { SimClient, SimServer } from '../sim/server.js';
import { globalOpts, out, printJson } from './io.js';

interface ServeOpts {
  socket: string;
  personality?: string;
  state?: string;
  fault: string[];
  knob: string[];
  seed?: string;
  spinUs?: string;
  shm?: boolean;
  verbose?: boolean;
}

function usage(message: string, hint?: string): Fs3BurnError {
  return new Fs3BurnError('USAGE', message, hint ? { hint } : {});
}

const collect = (v: string, prev: string[]): string[] => [...prev, v];

/** `14.14.1100` or `cx4lx@14.14.1100`. */
function personalityName(p: string): string {
  return p.includes('@') ? p : `cx4lx@${p}`;
}

/** SimOptions from the serve/reset options, in the spec strings' own syntax (one fault / knob each). */
export function simOptionsFrom(o: { personality?: string; state?: string; fault?: string[]; knob?: string[]; seed?: string }): SimOptions {
  let personality = o.personality;
  if (!personality && o.state) {
    const saved = readStateFile(o.state);
    if (saved) personality = saved.header.personality;
  }
  if (!personality) throw usage('no --personality given (and no existing --state file to take it from)', 'e.g. --personality 14.14.1100');
  const faults: FaultSpec[] = [];
  for (const f of o.fault ?? []) {
    try {
      faults.push(parseFault(f));
    } catch (e) {
      throw new Fs3BurnError('SIM_BAD_FAULT', `--fault ${JSON.stringify(f)}: ${(e as Error).message}`, {
        hint: 'see "Fault plans" in docs/device-model.md',
      });
    }
  }
  const knobs: Partial<Knobs> = {};
  for (const kv of o.knob ?? []) {
    const eq = kv.indexOf('=');
    if (eq <= 0) throw usage(`--knob ${JSON.stringify(kv)}: expected NAME=VALUE`);
    const name = kv.slice(0, eq);
    try {
      (knobs as Record<string, unknown>)[name] = parseKnobValue(name, kv.slice(eq + 1));
    } catch (e) {
      throw new Fs3BurnError('SIM_BAD_OPTIONS', `--knob ${JSON.stringify(kv)}: ${(e as Error).message}`, {
        hint: 'see "Knobs" in docs/device-model.md',
      });
    }
  }
  const opts: SimOptions = { personality: personalityName(personality), faults, knobs };
  if (o.state) opts.statePath = o.state;
  if (o.seed !== undefined) {
    try {
      opts.seed = parseIntStrict(o.seed, 'seed');
    } catch (e) {
      throw usage(`--seed: ${(e as Error).message}`);
    }
  }
  return opts;
}

/** What runs on a card, as `sim info` prints it. */
export function describeCard(dev: SimDevice): Record<string, unknown> {
  const m = dev.model;
  const r = m.running;
  const base: Record<string, unknown> = {
    device: m.personality.device.name,
    personality: m.personality.name,
    running: r ? { version: r.versionString, start: `0x${r.start.toString(16)}`, psid: r.psid, bootedVia: r.bootedVia } : null,
    icmdHung: m.icmdHung,
    fsmState: m.fsmState,
    description: m.describe(),
  };
  if (!r) return base;
  // the image that runs: hide the magic of image starts before it so the parser finds it
  const flash = m.flash.dump().slice();
  for (const a of IMAGE_STARTS) if (a < r.start) flash.fill(0xff, a, a + 16);
  try {
    const q = describeImage(parseFs3(flash));
    base.image = { fwVersion: q.fwVersion, psid: q.psid, guid: q.guid?.base ?? null, mac: q.mac?.base ?? null, imageStart: q.imageStart };
  } catch (e) {
    base.image = { error: (e as Error).message };
  }
  return base;
}

function printCard(info: Record<string, unknown>): void {
  const r = info.running as { version: string; start: string; psid: string; bootedVia: string } | null;
  const img = info.image as { guid?: string | null; mac?: string | null } | undefined;
  const lines = [
    `Device:       ${String(info.device)}`,
    `Running FW:   ${r ? `${r.version} from ${r.start} (booted via ${r.bootedVia})` : 'none (livefish)'}`,
  ];
  if (r) lines.push(`PSID:         ${r.psid}`);
  if (img?.guid !== undefined) lines.push(`Base GUID:    ${img.guid ?? 'N/A'}`);
  if (img?.mac !== undefined) lines.push(`Base MAC:     ${img.mac ?? 'N/A'}`);
  lines.push(`ICMD hung:    ${info.icmdHung ? 'yes' : 'no'}`);
  out(`${lines.join('\n')}\n`);
}

function needState(state: string | undefined, cmd: string): string {
  if (!state) throw usage(`sim ${cmd} needs --state FILE`);
  if (!readStateFile(state)) {
    throw new Fs3BurnError('FILE_NOT_FOUND', `no simulated-card state file ${state}`, {
      hint: 'create one with `fs3burn sim serve --state FILE ...` (or any sim:...?state=FILE device)',
    });
  }
  return state;
}

export function registerSimCommands(program: Command): void {
  const sim = program.command('sim').description('the simulated ConnectX-4 Lx as a process: serve it over a socket, reset it, inspect it');

  sim
    .command('serve')
    .description('serve the simulated card’s PCI config space over a UNIX socket (for mstflint through native-shims/sim-preload.c)')
    .requiredOption('--socket <path>', 'UNIX socket to listen on')
    .option('--personality <version>', 'FW version of a fresh card: 14.14.1100, 14.25.1020, 14.32.1908 (or cx4lx@VERSION)')
    .option('--state <file>', 'card state file: loaded if it exists, saved on client disconnect and on exit')
    .option('--fault <spec>', 'fault plan entry (docs/device-model.md), repeatable', collect, [])
    .option('--knob <name=value>', 'model knob, repeatable', collect, [])
    .option('--seed <n>', 'card seed (GUID/MAC, fault draws)')
    .option('--spin-us <n>', 'after a reply, wait this long (µs) for the next request without blocking (default 100; 0 = never)')
    .option('--no-shm', 'do not offer clients the shared-memory fast path (everything over the socket)')
    .option('--verbose', 'log connections and errors on stderr')
    .action(async (o: ServeOpts) => {
      let spinUs: number | undefined;
      if (o.spinUs !== undefined) {
        try {
          spinUs = parseIntStrict(o.spinUs, 'spin-us');
        } catch (e) {
          throw usage(`--spin-us: ${(e as Error).message}`);
        }
      }
      const dev = createSimDevice(simOptionsFrom(o));
      const log = o.verbose ? (l: string) => process.stderr.write(`fs3burn sim: ${l}\n`) : undefined;
      let server: SimServer;
      try {
        server = await SimServer.listen({ socketPath: o.socket, device: dev, ...(log ? { log } : {}), ...(spinUs !== undefined ? { spinUs } : {}), sharedMemory: o.shm !== false });
      } catch (e) {
        throw new Fs3BurnError('SIM_STATE_IO', `cannot listen on ${o.socket}: ${(e as Error).message}`, { data: { socket: o.socket } });
      }
      out(`listening ${o.socket} (${dev.model.describe()})\n`);
      await new Promise<void>((resolve) => {
        let stopping = false;
        const stop = (sig: string) => {
          if (stopping) return;
          stopping = true;
          log?.(`${sig}: saving and exiting`);
          server.close().then(
            () => {
              dev.close();
              resolve();
            },
            (e: unknown) => {
              process.stderr.write(`-E- ${(e as Error).message}\n`);
              resolve();
            },
          );
        };
        process.once('SIGTERM', () => stop('SIGTERM'));
        process.once('SIGINT', () => stop('SIGINT'));
        process.once('SIGHUP', () => stop('SIGHUP'));
      });
    });

  sim
    .command('reset')
    .description('reset the card in a state file (warm: honours a requested boot address; cold: a power cycle)')
    .option('--state <file>', 'card state file')
    .option('--cold', 'power cycle instead of a warm reset')
    .action((o: { state?: string; cold?: boolean }, cmd: Command) => {
      const state = needState(o.state, 'reset');
      const dev = createSimDevice(simOptionsFrom({ state }));
      dev.model.reset(o.cold ? 'cold' : 'warm');
      const info = describeCard(dev);
      dev.close();
      if (globalOpts(cmd).json) printJson(info);
      else {
        out(`reset (${o.cold ? 'cold' : 'warm'}): ${String(info.description)}\n`);
        printCard(info);
      }
    });

  sim
    .command('info')
    .description('what a card in a state file runs: FW version, PSID, GUID, MAC')
    .option('--state <file>', 'card state file')
    .action((o: { state?: string }, cmd: Command) => {
      const state = needState(o.state, 'info');
      const dev = createSimDevice(simOptionsFrom({ state }));
      const info = describeCard(dev);
      dev.close();
      if (globalOpts(cmd).json) printJson(info);
      else printCard(info);
    });

  sim
    .command('stats')
    .description('statistics of a card served by `sim serve`: config-space operations, ICMD commands, modelled time')
    .requiredOption('--socket <path>', 'the server’s socket')
    .action(async (o: { socket: string }, cmd: Command) => {
      let client: SimClient;
      try {
        client = await SimClient.connect(o.socket);
      } catch (e) {
        throw new Fs3BurnError('DEVICE_NOT_FOUND', `no simulated card served on ${o.socket}: ${(e as Error).message}`);
      }
      const s = await client.stats();
      await client.close();
      if (globalOpts(cmd).json) {
        printJson(s);
        return;
      }
      const st = s.stats;
      out(
        [
          `Card:            ${s.device} — ${s.running ? `FW ${s.running.versionString}` : 'no FW'}${s.icmdHung ? ' (ICMD hung)' : ''}`,
          `Config reads:    ${st.config.reads}`,
          `Config writes:   ${st.config.writes}`,
          `ICMD commands:   ${st.icmd.commands} (failures ${st.icmd.failures}, register failures ${st.icmd.regFailures}, hung ${st.icmd.hung})`,
          `Registers:       ${Object.entries(st.icmd.byRegister)
            .map(([k, v]) => `${k} ${v.get}/${v.set}`)
            .join(', ') || '-'}`,
          `Modelled time:   ${(st.time.total / 1e6).toFixed(3)} s`,
          '',
        ].join('\n'),
      );
    });
}
