/** Running the built CLI (dist/) as a user would, in a child process. */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { PROJECT_ROOT } from './fixtures.js';

export const CLI = join(PROJECT_ROOT, 'dist/cli/main.js');

export interface CliRun {
  status: number;
  stdout: string;
  stderr: string;
}

export function runCli(args: string[], opts: { env?: Record<string, string>; input?: string; cwd?: string } = {}): CliRun {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    encoding: 'utf8',
    env: { ...process.env, ...opts.env },
    input: opts.input ?? '',
    cwd: opts.cwd ?? PROJECT_ROOT,
    timeout: 120_000,
    maxBuffer: 64 << 20,
  });
  return { status: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

export function runCliJson<T = any>(args: string[]): { status: number; json: T; stderr: string } {
  const r = runCli([...args, '--json']);
  return { status: r.status, json: JSON.parse(r.stdout) as T, stderr: r.stderr };
}
