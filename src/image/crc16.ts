/**
 * CRC16 of FS3 images (fs3-facts.md §1.5, verified against mstflint): polynomial 0x100B,
 * initial 0xFFFF, no reflection, data taken as big-endian 32-bit words, MSB first, then 16
 * zero bits are fed, then the result is XORed with 0xFFFF.
 *
 * The bit-serial definition is an "augmented" CRC: each step shifts one data bit in at the
 * bottom and XORs the polynomial when a 1 falls out of the top. It is linear, so 16 steps
 * from state s with data d give T16[s] ^ d, where T16[s] is 16 steps from s with zero data.
 * One table lookup per 16 bits of input.
 */
const POLY = 0x100b;

function buildTables(): Uint16Array {
  const t8 = new Uint16Array(256);
  for (let h = 0; h < 256; h++) {
    let crc = h << 8;
    for (let i = 0; i < 8; i++) crc = ((crc << 1) & 0xffff) ^ (crc & 0x8000 ? POLY : 0);
    t8[h] = crc;
  }
  const t16 = new Uint16Array(65536);
  for (let s = 0; s < 65536; s++) {
    const s1 = ((s << 8) & 0xffff) ^ t8[s >>> 8]!;
    t16[s] = ((s1 << 8) & 0xffff) ^ t8[s1 >>> 8]!;
  }
  return t16;
}

let T16: Uint16Array | undefined;

/**
 * CRC16 over `dwords` 32-bit words of `buf` starting at byte `offset`.
 * Bytes past the end of `buf` are not read: the caller checks bounds.
 */
export function crc16(buf: Uint8Array, offset = 0, dwords = (buf.length - offset) >>> 2): number {
  const t = (T16 ??= buildTables());
  let crc = 0xffff;
  const end = offset + dwords * 4;
  for (let i = offset; i < end; i += 2) {
    crc = t[crc]! ^ ((buf[i]! << 8) | buf[i + 1]!);
  }
  crc = t[crc]!; // the 16 trailing zero bits
  return crc ^ 0xffff;
}

/** The bit-serial definition, kept for tests that check the table form against it. */
export function crc16BitSerial(buf: Uint8Array, offset = 0, dwords = (buf.length - offset) >>> 2): number {
  let crc = 0xffff;
  const step = (bit: number) => {
    crc = (((crc << 1) | bit) & 0xffff) ^ (crc & 0x8000 ? POLY : 0);
  };
  for (let w = 0; w < dwords; w++) {
    const p = offset + w * 4;
    const word = ((buf[p]! << 24) | (buf[p + 1]! << 16) | (buf[p + 2]! << 8) | buf[p + 3]!) >>> 0;
    for (let b = 31; b >= 0; b--) step((word >>> b) & 1);
  }
  for (let i = 0; i < 16; i++) step(0);
  return crc ^ 0xffff;
}
