#!/usr/bin/env node
/**
 * The `fs3burn` command: a thin shell over the library. Arguments follow flint's style
 * (`fs3burn -i IMAGE q`) and the subcommand style (`fs3burn query -i IMAGE`). Every failure
 * is a typed Fs3BurnError printed as `-E- message` with its exit status (docs/cli.md).
 */
import { Command, CommanderError } from 'commander';
import { ExitCode, Fs3BurnError, isFs3BurnError } from '../errors.js';
import { registerImageCommands } from './image-command.js';
import { ExitWith } from './io.js';
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
    .option('--json', 'print one JSON document instead of text')
    .showHelpAfterError()
    .exitOverride();
  registerQueryVerify(program);
  registerMfaCommands(program);
  registerImageCommands(program);
  return program;
}

function report(e: Fs3BurnError, json: boolean): void {
  if (json) {
    process.stdout.write(`${JSON.stringify({ error: e.toJSON() }, null, 2)}\n`);
    return;
  }
  process.stderr.write(`-E- ${e.message}\n`);
  if (e.hint) process.stderr.write(`-I- ${e.hint}\n`);
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  const json = argv.includes('--json');
  try {
    await program.parseAsync(argv, { from: 'user' });
    return ExitCode.OK;
  } catch (e) {
    if (e instanceof CommanderError) {
      // help and version are successful exits; anything else is a usage error.
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') {
        return ExitCode.OK;
      }
      return ExitCode.USAGE;
    }
    if (e instanceof ExitWith) return e.status;
    if (isFs3BurnError(e)) {
      report(e, json);
      return e.exitCode;
    }
    const err = new Fs3BurnError('INTERNAL', `internal error: ${(e as Error)?.message ?? String(e)}`, {
      hint: 'this is a bug in fs3burn; please report it with the command line you ran',
    });
    report(err, json);
    if (process.env.FS3BURN_DEBUG) process.stderr.write(`${(e as Error)?.stack ?? ''}\n`);
    return err.exitCode;
  }
}

// Run when executed as a program (also through the npm bin link), not when imported.
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
const self = fileURLToPath(import.meta.url);
const invoked = process.argv[1] ? (() => { try { return realpathSync(process.argv[1]!); } catch { return process.argv[1]!; } })() : '';
if (invoked === self) {
  main(process.argv.slice(2)).then(
    (code) => { process.exitCode = code; },
    (e) => { process.stderr.write(`-E- ${String(e)}\n`); process.exitCode = ExitCode.INTERNAL; },
  );
}
