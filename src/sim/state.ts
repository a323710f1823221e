/**
 * State files: one simulated card shared by a sequence of processes (`?state=FILE`). The file
 * holds the flash (only its non-blank 4 KiB sectors) and the card's volatile state (running
 * image, semaphores, a hung ICMD interface, the FSM, pending boot requests…), so that the
 * next CLI process finds the card exactly as the last one left it, as a real card would be
 * between two commands. Statistics and faults are per process and are not kept.
 *
 * Layout: "FS3SIM1\n", u32 LE length of a JSON header, the header, then the sectors named
 * in the header, in order. Written to a temporary file and renamed, so a reader never sees
 * half a file. Two processes on one state file at the same time are not supported.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { Fs3BurnError } from '../errors.js';
import { SECTOR_SIZE } from './constants.js';
import type { SimModel, VolatileState } from './model.js';

const MAGIC = 'FS3SIM1\n';
const FORMAT = 1;

export interface StateHeader {
  format: number;
  personality: string;
  seed: number;
  jedecId: number;
  flashSize: number;
  statusRegister: number;
  sectors: number[];
  state: unknown;
}

export interface LoadedState {
  header: StateHeader;
  flash: Uint8Array;
  state: VolatileState;
}

function replacer(_k: string, v: unknown): unknown {
  if (v instanceof Uint8Array) return { $u8: Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64') };
  return v;
}

function reviver(_k: string, v: unknown): unknown {
  if (v && typeof v === 'object' && !Array.isArray(v) && typeof (v as { $u8?: unknown }).$u8 === 'string') {
    return new Uint8Array(Buffer.from((v as { $u8: string }).$u8, 'base64'));
  }
  return v;
}

function corrupt(path: string, why: string): Fs3BurnError {
  return new Fs3BurnError('SIM_STATE_CORRUPT', `simulated-card state file ${path} is not usable: ${why}`, {
    hint: 'delete the file to start over with a fresh card',
    data: { path },
  });
}

export function encodeState(model: SimModel): Uint8Array {
  const flash = model.flash.data;
  const sectors: number[] = [];
  for (let s = 0; s < flash.length / SECTOR_SIZE; s++) {
    const base = s * SECTOR_SIZE;
    for (let i = base; i < base + SECTOR_SIZE; i++) {
      if (flash[i] !== 0xff) {
        sectors.push(s);
        break;
      }
    }
  }
  const header: StateHeader = {
    format: FORMAT,
    personality: model.nominal.name,
    seed: model.seed,
    jedecId: model.flash.jedecId,
    flashSize: model.flash.size,
    statusRegister: model.flash.statusRegister,
    sectors,
    state: model.exportState(),
  };
  const json = Buffer.from(JSON.stringify(header, replacer), 'utf8');
  const out = Buffer.alloc(MAGIC.length + 4 + json.length + sectors.length * SECTOR_SIZE);
  out.write(MAGIC, 0, 'latin1');
  out.writeUInt32LE(json.length, MAGIC.length);
  json.copy(out, MAGIC.length + 4);
  let p = MAGIC.length + 4 + json.length;
  for (const s of sectors) {
    out.set(flash.subarray(s * SECTOR_SIZE, (s + 1) * SECTOR_SIZE), p);
    p += SECTOR_SIZE;
  }
  return out;
}

export function decodeState(buf: Uint8Array, path = '(buffer)'): LoadedState {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  if (b.length < MAGIC.length + 4 || b.toString('latin1', 0, MAGIC.length) !== MAGIC) throw corrupt(path, 'not a state file');
  const n = b.readUInt32LE(MAGIC.length);
  if (MAGIC.length + 4 + n > b.length) throw corrupt(path, 'truncated header');
  let header: StateHeader;
  try {
    header = JSON.parse(b.toString('utf8', MAGIC.length + 4, MAGIC.length + 4 + n), reviver) as StateHeader;
  } catch (e) {
    throw corrupt(path, `bad header (${(e as Error).message})`);
  }
  if (header.format !== FORMAT) throw corrupt(path, `format ${header.format}, expected ${FORMAT}`);
  if (!Number.isInteger(header.flashSize) || header.flashSize <= 0 || header.flashSize > 1 << 26) throw corrupt(path, 'bad flash size');
  if (!Array.isArray(header.sectors)) throw corrupt(path, 'no sector list');
  const start = MAGIC.length + 4 + n;
  if (b.length !== start + header.sectors.length * SECTOR_SIZE) throw corrupt(path, 'flash data has the wrong length');
  const flash = new Uint8Array(header.flashSize).fill(0xff);
  header.sectors.forEach((s, i) => {
    if (!Number.isInteger(s) || s < 0 || (s + 1) * SECTOR_SIZE > header.flashSize) throw corrupt(path, `bad sector ${s}`);
    flash.set(b.subarray(start + i * SECTOR_SIZE, start + (i + 1) * SECTOR_SIZE), s * SECTOR_SIZE);
  });
  const st = header.state as VolatileState | undefined;
  if (!st || typeof st !== 'object' || !st.icmd || !(st.icmd.mailbox instanceof Uint8Array) || !st.vsec || !st.fw || !st.gateway) {
    throw corrupt(path, 'no card state');
  }
  return { header, flash, state: st };
}

export function readStateFile(path: string): LoadedState | undefined {
  if (!existsSync(path)) return undefined;
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch (e) {
    throw new Fs3BurnError('SIM_STATE_IO', `cannot read simulated-card state file ${path}: ${(e as Error).message}`, { data: { path } });
  }
  return decodeState(buf, path);
}

export function writeStateFile(path: string, model: SimModel): void {
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, encodeState(model));
    renameSync(tmp, path);
  } catch (e) {
    throw new Fs3BurnError('SIM_STATE_IO', `cannot write simulated-card state file ${path}: ${(e as Error).message}`, { data: { path } });
  }
}
