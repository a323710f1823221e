import { describe, expect, it } from 'vitest';
import { crc16, crc16BitSerial } from '../src/image/crc16.js';
import { detectFormat } from '../src/image/format.js';
import { FX, fixturePath, rawFixtureBytes } from './helpers/fixtures.js';
import { readFileSync } from 'node:fs';

describe('CRC16 (§1.5)', () => {
  it('table form equals the bit-serial definition on random data', () => {
    let seed = 12345;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) & 0xff;
    for (let n = 0; n < 50; n++) {
      const buf = Uint8Array.from({ length: 4 * (1 + (n * 7) % 97) }, rnd);
      expect(crc16(buf)).toBe(crc16BitSerial(buf));
    }
  });

  it('matches the CRCs the vendor stored in a real image (ITOC header, BOOT2)', () => {
    const b = rawFixtureBytes(FX.fs3Hpe);
    expect(crc16(b, 0x2000, 7)).toBe(b.readUInt16BE(0x201e));
    const n = b.readUInt32BE(0x3c);
    expect(crc16(b, 0x38, n + 3)).toBe(b.readUInt32BE(0x38 + (n + 3) * 4));
  });
});

describe('format detection (§1.2)', () => {
  it('recognises every real fixture', () => {
    expect(detectFormat(rawFixtureBytes(FX.fs3Hpe))).toMatchObject({ format: 'FS3', start: 0 });
    expect(detectFormat(rawFixtureBytes(FX.fs3Ibm)).format).toBe('FS3');
    expect(detectFormat(rawFixtureBytes(FX.fs2)).format).toBe('FS2');
    expect(detectFormat(rawFixtureBytes(FX.fs4)).format).toBe('FS4');
    expect(detectFormat(readFileSync(fixturePath(FX.mfaSpc))).format).toBe('MFA1');
    expect(detectFormat(readFileSync(fixturePath(FX.mfaSpc2))).format).toBe('MFA1');
  });

  it('finds an image at a later probed start and collects every start', () => {
    const img = rawFixtureBytes(FX.fs3Hpe).subarray(0, 0x300000);
    const flash = new Uint8Array(0x800000).fill(0xff);
    flash.set(img, 0x400000);
    expect(detectFormat(flash)).toMatchObject({ format: 'FS3', start: 0x400000, starts: [0x400000] });
    flash.set(img, 0);
    expect(detectFormat(flash)).toMatchObject({ start: 0, starts: [0, 0x400000] });
  });

  it('recognises MFA2 and says unknown for anything else', () => {
    expect(detectFormat(Buffer.from('MLNX.MFA2.XZ.00!rest')).format).toBe('MFA2');
    expect(detectFormat(Buffer.alloc(1 << 20, 0x5a)).format).toBe('unknown');
    expect(detectFormat(new Uint8Array(3)).format).toBe('unknown');
  });
});
