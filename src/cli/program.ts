/** The full commander program: every command, help, and argument errors. */
import { Command } from 'commander';
import { registerBurnCommand } from './burn-command.js';
import { registerDeviceCommands } from './device-command.js';
import { registerPlanCommand } from './plan-command.js';
import { registerSimCommands } from './sim-command.js';
import { registerImageCommands } from './image-command.js';
import { registerMfaCommands } from './mfa-command.js';
import { registerQueryVerify } from './query-verify-command.js';

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('fs3burn')
    .description('Read, verify and burn FS3 firmware (ConnectX-4 / ConnectX-4 Lx)')
    .option('-i, --image <file>', 'firmware image file (FS3) or MFA1 archive')
    .option('-d, --device <device>', 'device: sim:cx4lx@VERSION, a PCI address, or /dev/mst/...')
    .option('--psid <psid>', 'select the image of this PSID inside an MFA1 archive')
    .option('--json', 'print one JSON document instead of text (burn: one JSON event per line)')
    .option('-y, --yes', 'burn without asking for confirmation')
    .showHelpAfterError()
    .exitOverride();
  registerQueryVerify(program);
  registerMfaCommands(program);
  registerImageCommands(program);
  registerDeviceCommands(program);
  registerBurnCommand(program);
  registerPlanCommand(program);
  registerSimCommands(program);
  return program;
}
