#!/usr/bin/env node
/**
 * The `fs3burn` command: a thin shell over the library. Arguments follow flint's style
 * (`fs3burn -i IMAGE q`) and the subcommand style (`fs3burn query -i IMAGE`). Every failure
 * is a typed Fs3BurnError printed as `-E- message` with its exit status (docs/cli.md).
 * Modules are loaded on demand so that the common image commands start fast.
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ExitCode, Fs3BurnError, isFs3BurnError } from '../errors.js';
import { ExitWith } from './io.js';
import { parseSimpleImageCommand } from './simple-args.js';

function report(e: Fs3BurnError, json: boolean): void {
  if (json) {
    process.stdout.write(`${JSON.stringify({ error: e.toJSON() }, null, 2)}\n`);
    return;
  }
  process.stderr.write(`-E- ${e.message}\n`);
  if (e.hint) process.stderr.write(`-I- ${e.hint}\n`);
}

const COMMANDER_OK = new Set(['commander.helpDisplayed', 'commander.version', 'commander.help']);

export async function main(argv: string[]): Promise<number> {
  const json = argv.includes('--json');
  try {
    const simple = process.env.FS3BURN_NO_FAST_PATH ? undefined : parseSimpleImageCommand(argv);
    if (simple) {
      const { runImageCommand } = await import('./query-verify-command.js');
      await runImageCommand(simple);
      return ExitCode.OK;
    }
    const { buildProgram } = await import('./program.js');
    await buildProgram().parseAsync(argv, { from: 'user' });
    return ExitCode.OK;
  } catch (e) {
    const code = (e as { code?: unknown })?.code;
    if (typeof code === 'string' && code.startsWith('commander.')) {
      // commander already printed help or the argument error
      return COMMANDER_OK.has(code) ? ExitCode.OK : ExitCode.USAGE;
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
const self = fileURLToPath(import.meta.url);
let invoked = process.argv[1] ?? '';
try {
  invoked = realpathSync(invoked);
} catch {
  // keep the name as given
}
if (invoked === self) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e) => {
      process.stderr.write(`-E- ${String(e)}\n`);
      process.exitCode = ExitCode.INTERNAL;
    },
  );
}
