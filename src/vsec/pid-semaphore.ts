/**
 * Owner-id semaphores in address space 0xA (§5.3): take = write own id, read back, must
 * equal it; release = write 0. Offset 0x0 guards ICMD (256 tries, rand()%50 ms apart),
 * offset 0x10 guards flash programming (40 tries, 1–5 ms apart).
 */
import { Fs3BurnError } from '../errors.js';
import type { AddressSpaceAccess } from '../transport/mst/address-space.js';
import { realClock, type Clock } from './clock.js';
import { hex, Space } from './constants.js';

/** §5.3: ICMD semaphore at space 0xA offset 0, 256 tries, rand()%50 ms apart. */
export const ICMD_SEMAPHORE = Object.freeze({ label: 'ICMD', offset: 0x0, tries: 256, minDelayMs: 0, maxDelayMs: 49 });
/** §5.3 / §4.3: flash-programming semaphore at space 0xA offset 0x10, 40 tries, 1–5 ms apart. */
export const FLASH_SEMAPHORE = Object.freeze({ label: 'flash-programming', offset: 0x10, tries: 40, minDelayMs: 1, maxDelayMs: 5 });

export interface PidSemaphoreSpec {
  /** For messages: 'ICMD', 'flash-programming'. */
  label: string;
  offset: number;
  tries: number;
  minDelayMs: number;
  maxDelayMs: number;
}

export interface PidSemaphoreOptions {
  /** The id written to the semaphore (default: process.pid, as mstflint writes its PID). */
  ownerId?: number;
  clock?: Clock;
  /** Override the spec's number of tries. */
  tries?: number;
  /** Random source for the delay between tries (default Math.random). */
  random?: () => number;
}

export interface HeldSemaphore {
  readonly label: string;
  readonly offset: number;
  readonly ownerId: number;
  /** Write 0 (§5.3). Releasing twice is harmless. */
  release(): void;
}

export function defaultOwnerId(): number {
  const pid = typeof process !== 'undefined' ? process.pid : 1;
  return pid > 0 ? pid >>> 0 : 1;
}

export function takePidSemaphore(access: AddressSpaceAccess, spec: PidSemaphoreSpec, opts: PidSemaphoreOptions = {}): HeldSemaphore {
  const own = (opts.ownerId ?? defaultOwnerId()) >>> 0;
  const clock = opts.clock ?? realClock;
  const random = opts.random ?? Math.random;
  const tries = opts.tries ?? spec.tries;
  let owner = 0;
  for (let i = 1; i <= tries; i++) {
    access.writeSpace32(Space.SEMAPHORE, spec.offset, own);
    owner = access.readSpace32(Space.SEMAPHORE, spec.offset) >>> 0;
    if (owner === own) {
      let held = true;
      return {
        label: spec.label,
        offset: spec.offset,
        ownerId: own,
        release() {
          if (!held) return;
          held = false;
          access.writeSpace32(Space.SEMAPHORE, spec.offset, 0);
        },
      };
    }
    if (i < tries) clock.sleep(spec.minDelayMs + Math.floor(random() * (spec.maxDelayMs - spec.minDelayMs + 1)));
  }
  throw new Fs3BurnError('SEMAPHORE_HELD', `${access.name}: the ${spec.label} semaphore is held by another owner (id ${owner}) after ${tries} tries`, {
    hint: 'another tool is using the card (mstflint, mlxconfig, a running burn); wait for it to finish, or find the process with that id',
    data: { device: access.name, semaphore: spec.label, space: Space.SEMAPHORE, offset: spec.offset, owner, ownerHex: hex(owner), tries },
  });
}

/** What a probe of a PID semaphore found. */
export interface PidSemaphoreState {
  label: string;
  offset: number;
  /** Another owner kept it through every try. */
  held: boolean;
  /** The owner id read back (0 when free). */
  owner: number;
}

/**
 * Whether another owner holds the semaphore: take it (with the spec's tries, §5.3) and
 * release it at once. Writes nothing but the semaphore itself.
 */
export function probePidSemaphore(access: AddressSpaceAccess, spec: PidSemaphoreSpec, opts: PidSemaphoreOptions = {}): PidSemaphoreState {
  try {
    takePidSemaphore(access, spec, opts).release();
    return { label: spec.label, offset: spec.offset, held: false, owner: 0 };
  } catch (e) {
    if (!(e instanceof Fs3BurnError) || e.code !== 'SEMAPHORE_HELD') throw e;
    return { label: spec.label, offset: spec.offset, held: true, owner: Number(e.data?.owner ?? 0) >>> 0 };
  }
}

/**
 * Clear a semaphore whoever holds it: write 0 (the §5.3 release; what mstflint's
 * `-clear_semaphore` does). Only on request: the holder may still be working.
 */
export function clearPidSemaphore(access: AddressSpaceAccess, spec: PidSemaphoreSpec): { before: number; after: number } {
  const before = access.readSpace32(Space.SEMAPHORE, spec.offset) >>> 0;
  access.writeSpace32(Space.SEMAPHORE, spec.offset, 0);
  const after = access.readSpace32(Space.SEMAPHORE, spec.offset) >>> 0;
  return { before, after };
}
