/**
 * Running the reference tool. Tests that compare with mstflint use `describeMstflint`:
 * where mstflint is installed they run; where it is missing they are skipped on a
 * developer's machine, but under CI (CI=true) they run and fail loudly, so a missing
 * install step can never turn into a silent pass.
 */
import { spawnSync } from 'node:child_process';
import { describe } from 'vitest';

function findMstflint(): string | undefined {
  const r = spawnSync('mstflint', ['--version'], { encoding: 'utf8' });
  return r.status === 0 ? 'mstflint' : undefined;
}

export const MSTFLINT = findMstflint();
export const IN_CI = process.env.CI === 'true' || process.env.CI === '1';

/** describe() that runs when mstflint exists or CI is set (and then fails without it). */
export const describeMstflint: typeof describe = (MSTFLINT || IN_CI ? describe : describe.skip) as typeof describe;

export interface ToolRun {
  status: number;
  stdout: string;
  stderr: string;
}

/** Run `mstflint ARGS...`; throws a clear error if it is not installed. */
export function mstflint(args: string[], env: Record<string, string> = {}): ToolRun {
  if (!MSTFLINT) throw new Error('mstflint is not installed: apt-get install -y mstflint (CI installs it in .ci/run)');
  const r = spawnSync(MSTFLINT, args, { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 120_000 });
  return { status: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}
