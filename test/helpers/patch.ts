/**
 * Making variants of real images for tests: change bytes inside a section and fix that
 * section's CRC and its ITOC entry CRC, so mstflint and fs3burn both accept the result
 * and the change is what they report. Or flip a byte without fixing anything.
 */
import { crc16 } from '../../src/image/crc16.js';
import { parseFs3 } from '../../src/image/fs3.js';

export function patchSection(image: Uint8Array, type: number, offset: number, bytes: Uint8Array | number[]): Buffer {
  const b = Buffer.from(image);
  const img = parseFs3(b);
  const e = img.entries.find((x) => x.type === type);
  if (!e) throw new Error(`no section of type 0x${type.toString(16)}`);
  Buffer.from(bytes).copy(b, e.bufferOffset + offset);
  const eo = img.imageStart + e.entryOffset;
  b.writeUInt16BE(crc16(b, e.bufferOffset, e.sizeDwords), eo + 0x1a);
  b.writeUInt16BE(crc16(b, eo, 7), eo + 0x1e);
  return b;
}

export function asciiz(s: string, length: number): Buffer {
  const b = Buffer.alloc(length);
  b.write(s, 'latin1');
  return b;
}

export function flipByte(image: Uint8Array, offset: number, mask = 0x55): Buffer {
  const b = Buffer.from(image);
  b[offset] = b[offset]! ^ mask;
  return b;
}
