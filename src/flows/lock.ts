/**
 * One burn per device at a time (docs/guards.md). Two burns on one card interleave their
 * erases and writes and can leave neither image bootable, so a burn takes a lock per device
 * before its first device access and releases it on every exit path.
 *
 * The lock is proper-lockfile's (an atomic mkdir of `TARGET.lock`); fs3burn adds an owner
 * record next to it (`TARGET.lock-owner.json`: pid, host, command, start time) so that a
 * refusal names the holder, and a lock whose holder died (no such pid on this host) is taken
 * over at once. TARGET is, per device:
 *
 * - a simulated card with a state file (`sim:…?state=FILE`): FILE itself (resolved);
 * - any other device: `fs3burn-NAME` under the system temp dir, NAME being the device name
 *   sanitised (a PCI function by its canonical address, so `03:00.0`, `0000:03:00.0` and
 *   `/dev/0000:03:00.0_mstconf` share one lock);
 * - a simulated card without a state file lives in its process only: nothing to lock.
 *
 * proper-lockfile's own staleness rule (the lock directory's mtime, refreshed by a timer) is
 * set out of reach (a day): a burn is synchronous for long stretches, the timer cannot run
 * then, and a live burn must never be taken over. The owner record decides instead.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import lockfile from 'proper-lockfile';
import { Fs3BurnError } from '../errors.js';
import { parseSimSpec } from '../sim/spec.js';
import { formatPciAddress, parseDeviceName } from '../transport/device-name.js';

/** Who holds a lock (the owner record). */
export interface LockOwner {
  pid: number;
  host: string;
  /** What the holder runs, for messages (e.g. `burn 14.32.1908.bin`). */
  command: string;
  device: string;
  /** ISO time the lock was taken. */
  since: string;
  /** Linux: the process start time (/proc/PID/stat field 22), to tell a reused pid. */
  startTime?: string;
  /** Inode of the lock directory this record belongs to. */
  lockIno?: number;
}

export interface DeviceLock {
  readonly device: string;
  /** False for a device with nothing to lock (a simulated card without a state file). */
  readonly locked: boolean;
  /** The path locked (the state file, or the temp-dir name); undefined when not locked. */
  readonly target?: string;
  /** The lock directory (proper-lockfile's). */
  readonly lockPath?: string;
  readonly ownerPath?: string;
  /** A stale lock this one replaced, and why it was stale. */
  readonly tookOver?: { owner?: LockOwner; reason: string };
  /** Set when another process removed or changed the lock while this one held it. */
  readonly compromised?: Error;
  /** Release the lock (idempotent). */
  release(): Promise<void>;
}

export interface LockOptions {
  /** Directory of the per-device locks (default: the system temp dir). */
  dir?: string;
  /** What the holder runs, recorded for the refusal message of a second burn. */
  command?: string;
  /** A lock directory without an owner record is stale after this long (default 60 s). */
  ownerlessStaleMs?: number;
}

/** proper-lockfile staleness: out of reach (see above), below setTimeout's 2^31 ms limit. */
const PL_STALE_MS = 24 * 3600 * 1000;
const OWNERLESS_STALE_MS = 60_000;
const MAX_NAME = 120;

/** The lock target of a device, or undefined when there is nothing to lock. */
export function lockTarget(deviceName: string, opts: Pick<LockOptions, 'dir'> = {}): string | undefined {
  const parsed = parseDeviceName(deviceName);
  const dir = opts.dir ?? tmpdir();
  switch (parsed.kind) {
    case 'sim': {
      const statePath = parseSimSpec(parsed.spec).statePath;
      return statePath === undefined ? undefined : resolve(statePath);
    }
    case 'pci':
      return join(dir, `fs3burn-${sanitise(`pci-${parsed.canonical}`)}`);
    case 'mst':
      if (parsed.address) return join(dir, `fs3burn-${sanitise(`pci-${formatPciAddress(parsed.address)}`)}`);
      return join(dir, `fs3burn-${sanitise(`mst-${basename(parsed.path)}`)}`);
  }
}

/** A file-name-safe form of a device name: [A-Za-z0-9._-], bounded, a hash when shortened. */
export function sanitise(name: string): string {
  let s = name.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^[.]+/, '_');
  if (s.length > MAX_NAME) s = `${s.slice(0, MAX_NAME - 17)}-${createHash('sha256').update(name).digest('hex').slice(0, 16)}`;
  return s || '_';
}

// ---- the owner record --------------------------------------------------------------------

function procStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    // field 2 (comm) is in parentheses and may hold spaces: split after the last ')'
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return rest[19]; // field 22
  } catch {
    return undefined;
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'; // alive, someone else's
  }
}

function readOwner(ownerPath: string): LockOwner | undefined {
  try {
    const o = JSON.parse(readFileSync(ownerPath, 'utf8')) as LockOwner;
    return Number.isInteger(o.pid) && o.pid > 0 && typeof o.host === 'string' ? o : undefined;
  } catch {
    return undefined;
  }
}

function writeOwner(ownerPath: string, owner: LockOwner): void {
  const tmp = `${ownerPath}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(owner, null, 2)}\n`);
  renameSync(tmp, ownerPath);
}

function inodeOf(path: string): { ino: number; mtimeMs: number } | undefined {
  try {
    const st = statSync(path);
    return { ino: st.ino, mtimeMs: st.mtimeMs };
  } catch {
    return undefined;
  }
}

/** Why the lock at `lockPath` is stale, or undefined when its holder may still run. */
function staleReason(owner: LockOwner | undefined, lock: { ino: number; mtimeMs: number }, ownerlessMs: number): string | undefined {
  if (owner && owner.lockIno === lock.ino) {
    if (owner.host !== hostname()) return undefined; // another host's process: cannot tell
    if (owner.pid === process.pid) return undefined; // this process holds it
    if (!pidAlive(owner.pid)) return `its holder, pid ${owner.pid}, is no longer running`;
    const now = procStartTime(owner.pid);
    if (owner.startTime !== undefined && now !== undefined && now !== owner.startTime) {
      return `its holder, pid ${owner.pid}, is no longer running (the pid now belongs to another process)`;
    }
    return undefined;
  }
  // no record for this lock directory: taken a moment ago (the record follows), or its taker died at once
  const age = Date.now() - lock.mtimeMs;
  return age > ownerlessMs ? `it has no owner record and is ${Math.round(age / 1000)} s old` : undefined;
}

/** Move a stale lock directory out of the way; false when another process moved or replaced it first. */
function takeOver(lockPath: string, judged: { ino: number }): boolean {
  const aside = `${lockPath}.stale-${process.pid}-${Date.now()}`;
  try {
    renameSync(lockPath, aside);
  } catch {
    return false; // gone already: the next attempt sees
  }
  const moved = inodeOf(aside);
  if (!moved || moved.ino !== judged.ino) {
    // a fresh lock replaced the stale one between the check and the rename: put it back
    try {
      renameSync(aside, lockPath);
    } catch {
      // its holder will find its lock compromised
    }
    return false;
  }
  rmSync(aside, { recursive: true, force: true });
  return true;
}

// ---- cleanup at exit ------------------------------------------------------------------------

/** Locks held by this process: removed on process exit (proper-lockfile removes its directories too). */
const held = new Map<string, { lockPath: string; ownerPath: string }>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const h of held.values()) {
      try {
        unlinkSync(h.ownerPath);
      } catch {
        // gone
      }
      try {
        rmSync(h.lockPath, { recursive: true, force: true });
      } catch {
        // gone
      }
    }
  });
}

// ---- errors -----------------------------------------------------------------------------------

function describeOwner(o: LockOwner): string {
  return `pid ${o.pid}${o.host !== hostname() ? ` on ${o.host}` : ''}${o.pid === process.pid ? ' (this process)' : ''}, running \`${o.command}\` since ${o.since}`;
}

function lockedError(device: string, lockPath: string, owner: LockOwner | undefined): Fs3BurnError {
  const who = owner ? `another burn holds it: ${describeOwner(owner)}` : 'another burn is taking it right now (no owner record yet)';
  const hint = owner
    ? `wait for that burn to finish, then run this one again; if pid ${owner.pid} is not running any more, run again: a lock whose process is gone is taken over (or remove ${lockPath})`
    : `wait a moment and run again; a lock without an owner record is taken over after a minute (or remove ${lockPath})`;
  return new Fs3BurnError('GUARD_DEVICE_LOCKED', `${device} is locked: ${who}. Two burns on one device at the same time would mix their writes. Nothing was written: the card is left as it was.`, {
    hint,
    data: { device, lockPath, ...(owner ? { owner } : {}) },
  });
}

function lockFailed(device: string, lockPath: string, e: unknown): Fs3BurnError {
  const err = e as NodeJS.ErrnoException;
  return new Fs3BurnError('GUARD_LOCK_FAILED', `${device}: cannot take the burn lock ${lockPath}: ${err?.message ?? String(e)}. Nothing was written.`, {
    hint: `fs3burn locks each device before burning it; check that ${dirname(lockPath)} is writable`,
    data: { device, lockPath, errno: err?.code },
    cause: e,
  });
}

// ---- taking and releasing ---------------------------------------------------------------------

const NO_LOCK = (device: string): DeviceLock => ({ device, locked: false, release: async () => undefined });

/**
 * Take the burn lock of `deviceName` (before the first access of the device). Throws
 * GUARD_DEVICE_LOCKED (exit 7) with the holder when another live process holds it; a lock
 * whose holder is gone is taken over and reported in `tookOver`.
 */
export async function acquireDeviceLock(deviceName: string, opts: LockOptions = {}): Promise<DeviceLock> {
  const target = lockTarget(deviceName, opts);
  if (target === undefined) return NO_LOCK(deviceName);
  const lockPath = `${target}.lock`;
  const ownerPath = `${target}.lock-owner.json`;
  if (opts.dir !== undefined) mkdirSync(opts.dir, { recursive: true });
  let tookOver: DeviceLock['tookOver'];
  let compromised: Error | undefined;
  for (let attempt = 0; attempt < 4; attempt++) {
    let release: () => Promise<void>;
    try {
      release = await lockfile.lock(target, {
        realpath: false,
        lockfilePath: lockPath,
        stale: PL_STALE_MS,
        retries: 0,
        onCompromised: (e) => {
          compromised = e;
        },
      });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' && !inodeOf(dirname(target))) return NO_LOCK(deviceName); // no such directory: no card there to burn (opening it says so)
      if (code !== 'ELOCKED') throw lockFailed(deviceName, lockPath, e);
      const lock = inodeOf(lockPath);
      if (!lock) continue; // released meanwhile: try again
      const owner = readOwner(ownerPath);
      const reason = staleReason(owner, lock, opts.ownerlessStaleMs ?? OWNERLESS_STALE_MS);
      if (reason !== undefined) {
        // moved aside: take it; lost the race to another taker: look again (it holds it now)
        if (takeOver(lockPath, lock)) tookOver = { ...(owner && owner.lockIno === lock.ino ? { owner } : {}), reason };
        continue;
      }
      throw lockedError(deviceName, lockPath, owner && owner.lockIno === lock.ino ? owner : undefined);
    }
    const record: LockOwner = {
      pid: process.pid,
      host: hostname(),
      command: opts.command ?? 'fs3burn',
      device: deviceName,
      since: new Date().toISOString(),
    };
    const st = procStartTime(process.pid);
    if (st !== undefined) record.startTime = st;
    const ino = inodeOf(lockPath)?.ino;
    if (ino !== undefined) record.lockIno = ino;
    try {
      writeOwner(ownerPath, record);
    } catch (e) {
      await release().catch(() => undefined);
      throw lockFailed(deviceName, lockPath, e);
    }
    installExitHook();
    held.set(lockPath, { lockPath, ownerPath });
    let released = false;
    const handle: DeviceLock = {
      device: deviceName,
      locked: true,
      target,
      lockPath,
      ownerPath,
      ...(tookOver ? { tookOver } : {}),
      get compromised() {
        return compromised;
      },
      async release() {
        if (released) return;
        released = true;
        held.delete(lockPath);
        // the record first: a lock directory without a record is never judged by a stale pid
        if (readOwner(ownerPath)?.pid === process.pid) {
          try {
            unlinkSync(ownerPath);
          } catch {
            // gone
          }
        }
        await release().catch(() => undefined); // compromised or already removed: nothing to undo
      },
    };
    return handle;
  }
  const owner = readOwner(ownerPath);
  throw lockedError(deviceName, lockPath, owner && owner.lockIno === inodeOf(lockPath)?.ino ? owner : undefined);
}

/** Run `fn` holding the burn lock of `deviceName`; the lock is released on every exit path. */
export async function withDeviceLock<T>(deviceName: string, fn: (lock: DeviceLock) => T | Promise<T>, opts: LockOptions = {}): Promise<T> {
  const lock = await acquireDeviceLock(deviceName, opts);
  try {
    return await fn(lock);
  } finally {
    await lock.release();
  }
}
