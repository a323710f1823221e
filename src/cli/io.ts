/** Small output helpers shared by the CLI commands. */
import type { Command } from 'commander';

/** Options every command may see: flint-style globals (`-i`, `-d`, `--psid`, `--json`). */
export interface GlobalOpts {
  image?: string;
  device?: string;
  psid?: string;
  json?: boolean;
}

/** The merged global options, wherever on the command line they were given. */
export function globalOpts(cmd: Command): GlobalOpts {
  return cmd.optsWithGlobals() as GlobalOpts;
}

export function out(text: string): void {
  process.stdout.write(text);
}

/** One JSON document on stdout, ending in a newline. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/**
 * Thrown by a command that has already printed its result (e.g. a verify report that
 * failed) and only needs the process to end with `status`.
 */
export class ExitWith extends Error {
  constructor(readonly status: number) {
    super(`exit ${status}`);
  }
}
