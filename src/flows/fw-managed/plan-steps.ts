/**
 * What a FW-managed burn will do, for planBurn (src/flows/plan.ts): the steps in order and
 * the work they cost (commands, blocks, the FW's own flash work during ACTIVATE), computed
 * from the image alone — no device access.
 */
import type { Fs3Image } from '../../image/fs3.js';
import { MCDA_HEADER_SIZE, MCDA_MAX_DATA, MCDA_SIZE } from '../../registers/mcda.js';
import { MCC_SIZE } from '../../registers/mcc.js';
import { COMPONENT_NAME, componentLength } from './component.js';
import { KERNEL_POLL_INTERVAL_MS } from './options.js';

export interface PlanStepInfo {
  id: string;
  title: string;
  detail: string;
  /** The fs3-facts.md section the step rests on. */
  fact: string;
}

/** An ICMD register access: bytes written to and read from the mailbox (without the 20 TLV bytes). */
export interface IcmdWork {
  what: string;
  count: number;
  writeBytes: number;
  readBytes: number;
}

export interface FwManagedWork {
  componentSize: number;
  blockSize: number;
  mcdaBlocks: number;
  icmd: IcmdWork[];
  /** The FW's own work while in INITIALIZE / VERIFY / ACTIVATE (µs, excluding flash operations). */
  fsmUs: number;
  /** The FW's flash work during ACTIVATE: it erases and programs the inactive slot itself. */
  erases64k: number;
  erases4k: number;
  pagePrograms: number;
}

export interface FsmTimes {
  fsmInitializeUs: number;
  fsmVerifyUs: number;
  fsmActivateUs: number;
}

const PAGE = 256;
const SECTOR = 0x1000;
const BLOCK64K = 0x10000;

/** MCC queries spent waiting out a state that lasts `us` when polling every `pollMs`. */
function pollsFor(us: number, pollMs: number): number {
  return pollMs > 0 ? Math.ceil(us / (pollMs * 1000)) + 1 : 1;
}

/** The inactive slot's erases if the FW uses 64 KiB blocks where it can (UNVERIFIED: the sim's choice). */
function slotErases(len: number): { e64: number; e4: number } {
  const end = Math.ceil(len / SECTOR) * SECTOR;
  const e64 = Math.floor(end / BLOCK64K);
  return { e64, e4: (end - e64 * BLOCK64K) / SECTOR };
}

export function fwManagedWork(image: Fs3Image, times: FsmTimes, pollIntervalMs = KERNEL_POLL_INTERVAL_MS, blockSize = MCDA_MAX_DATA): FwManagedWork {
  const size = componentLength(image);
  const blocks = Math.ceil(size / blockSize);
  const { e64, e4 } = slotErases(size);
  const polls =
    1 + // the kernel's lock query (§8)
    pollsFor(times.fsmInitializeUs, pollIntervalMs) +
    pollsFor(times.fsmVerifyUs, pollIntervalMs) +
    pollsFor(times.fsmActivateUs, pollIntervalMs);
  return {
    componentSize: size,
    blockSize,
    mcdaBlocks: blocks,
    icmd: [
      { what: 'MCAM / MGIR / MCQS / MCQI queries', count: 4, writeBytes: 0xa0, readBytes: 0xa0 },
      { what: 'MCC instructions (lock, update, verify, activate, release)', count: 5, writeBytes: MCC_SIZE, readBytes: MCC_SIZE },
      { what: 'MCC state queries', count: polls, writeBytes: MCC_SIZE, readBytes: MCC_SIZE },
      { what: 'MCDA blocks', count: blocks, writeBytes: MCDA_HEADER_SIZE + blockSize, readBytes: MCDA_SIZE },
    ],
    fsmUs: times.fsmInitializeUs + times.fsmVerifyUs + times.fsmActivateUs,
    erases64k: e64,
    erases4k: e4,
    pagePrograms: Math.ceil(size / PAGE) + 2, // + the magic, written last, + the old slot's invalidation
  };
}

export function fwManagedSteps(work: FwManagedWork): PlanStepInfo[] {
  return [
    { id: 'query', title: 'Query the update component', detail: `Take the flash-programming semaphore; MCQS finds the ${COMPONENT_NAME} component (BOOT_IMG), MCQI gives its largest size and the MCDA block size.`, fact: '§3.2 steps 2–3' },
    { id: 'lock', title: 'Lock the update FSM', detail: 'Read MCC with handle 0, require FSMST_IDLE, then LOCK_UPDATE_HANDLE with the handle it returned (the kernel\'s way).', fact: '§8' },
    { id: 'update', title: 'Start the component update', detail: `UPDATE_COMPONENT with component_size ${work.componentSize}; wait while FSMST_INITIALIZE until FSMST_DOWNLOAD.`, fact: '§3.2 step 4' },
    { id: 'download', title: `Download ${work.mcdaBlocks} blocks`, detail: `MCDA: ${work.mcdaBlocks} blocks of ${work.blockSize} bytes (little-endian data dwords): the image slot up to its last section, magic masked to 0xFF, device data left out.`, fact: '§3.2 step 1, §3.3' },
    { id: 'verify', title: 'Verify the component', detail: 'VERIFY_COMPONENT; wait while FSMST_VERIFY until FSMST_LOCKED; an FSM error code (e.g. 3 "component not applicable", 6 "component was not signed") stops here.', fact: '§3.2, §8' },
    { id: 'activate', title: 'Activate', detail: `ACTIVATE_ALL: the FW writes the inactive slot itself (≈ ${work.erases64k} 64 KiB + ${work.erases4k} 4 KiB erases, ${work.pagePrograms} page programs), keeps the card's device data and boots the new image at the next reset.`, fact: '§3.2, docs/device-model.md' },
    { id: 'release', title: 'Release the FSM', detail: 'RELEASE_UPDATE_HANDLE → FSMST_IDLE. Any failure before this step sends CANCEL and RELEASE_UPDATE_HANDLE.', fact: '§3.2, §8' },
  ];
}
