/**
 * MFA1 archives through the library: listing, extracting (compared with `xz -dc` of the
 * same bytes), and damaged input, each failure checked by its error code.
 */
import { createHash } from 'node:crypto';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync, createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { crc32 } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { ExitCode, Fs3BurnError } from '../src/errors.js';
import {
  extractMfa1Image,
  isMfa1,
  readMfa1ImageBytes,
  readMfa1Index,
  xzBackends,
  type Mfa1Index,
  type XzBackendName,
} from '../src/mfa/index.js';
import { FX, PROJECT_ROOT, fixturePath, rawFixture, tempDir } from './helpers/fixtures.js';

const SPC = fixturePath(FX.mfaSpc);
const SPC2 = fixturePath(FX.mfaSpc2);
const HPE = 'HPE3230110035';
const FS3_SIZE = 16_748_544; // 0xFF9000
const FS4_SIZE = 33_554_432; // 0x2000000

const SPC_PSIDS = [
  'HPE3230110035', 'MT_3000114033', 'MT_3000115033', 'MT_3000116033', 'MT_3000110033', 'MT_3000113033',
  'MT_3000112033', 'MT_3000119033', 'MT_3000111033', 'MT_3000111034', 'MT_2860114033', 'MT_2860115033',
  'MT_2860116033', 'MT_2860110033', 'MT_2860113033', 'MT_2860112033', 'MT_2860111033', 'MT_2860111034',
  'MT_2750113033', 'MT_2750114033', 'MT_2750115033', 'MT_2750115034', 'MT_2750110033', 'MT_2750112033',
  'MT_2620110033', 'MT_2630110033', 'MT_2750111033', 'MT_2880110033', 'MT_0000000079', 'MT_2890110033',
  'MT_2900110033', 'MT_2890111033', 'MT_0000000116', 'MT_3010110033', 'MT_3010119033', 'MT_2370110033',
];
const SPC2_PSIDS = ['MT_0000000199', 'MT_0000000198', 'MT_0000000293', 'MT_0000000127', 'MT_0000000270', 'MT_0000000269'];
const FS4_MAGIC = Buffer.from('4d544657abcdef00fade12345678dead', 'hex');

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

async function failure(p: Promise<unknown>): Promise<Fs3BurnError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(Fs3BurnError);
    return e as Fs3BurnError;
  }
  throw new Error('expected a failure, got success');
}

/** A copy of `src` in a temp dir, changed by `edit`, with its CRC32 trailer recomputed if asked. */
function damagedCopy(src: string, edit: (b: Buffer) => Buffer | void, fixCrc: boolean): string {
  let b = Buffer.from(readFileSync(src));
  b = edit(b) ?? b;
  if (fixCrc) b.writeUInt32BE(crc32(b.subarray(0, b.length - 4)) >>> 0, b.length - 4);
  const p = join(tempDir('fs3burn-mfa-'), 'damaged.mfa');
  writeFileSync(p, b);
  return p;
}

let spcIndex: Mfa1Index;
let hpeSha: string;

beforeAll(async () => {
  spcIndex = await readMfa1Index(SPC);
  hpeSha = sha256(readFileSync(rawFixture(FX.fs3Hpe)));
});

describe('isMfa1', () => {
  it('recognises the MFAR magic only', () => {
    expect(isMfa1(readFileSync(SPC).subarray(0, 16))).toBe(true);
    expect(isMfa1(Buffer.from('MFA'))).toBe(false);
    expect(isMfa1(Buffer.from('MTFW\xab\xcd\xef\x00', 'latin1'))).toBe(false);
    expect(isMfa1(Buffer.from('MLNX.MFA2.XZ.00!'))).toBe(false);
  });
});

describe('readMfa1Index', () => {
  it('lists the 36 Spectrum-1 images of FW 13.1224.0142', () => {
    expect(spcIndex.formatVersion).toBe(1);
    expect(spcIndex.entries.map((e) => e.psid)).toEqual(SPC_PSIDS);
    expect(spcIndex.sections.map((s) => s.name)).toEqual(['MAP', 'TOC', 'DATA']);
    expect(spcIndex.dataUncompressedSize).toBe(36 * FS3_SIZE);
    spcIndex.entries.forEach((e, i) => {
      expect(e.version).toEqual({ major: 13, minor: 1224, subminor: 142 });
      expect(e.versionString).toBe('13.1224.0142');
      expect(e.dataSize).toBe(FS3_SIZE);
      expect(e.dataOffset).toBe(i * FS3_SIZE);
      expect(e.partNumber).not.toBe('');
      expect(e.description).not.toBe('');
    });
  });

  it('has the HPE3230110035 entry with its metadata', () => {
    const e = spcIndex.entries.find((x) => x.psid === HPE)!;
    expect(e).toMatchObject({
      psid: HPE,
      partNumber: '866573-B21_Ax',
      description: 'HPE Synergy 25/50Gb Switch Module',
      version: { major: 13, minor: 1224, subminor: 142 },
      dataOffset: 0,
      dataSize: FS3_SIZE,
    });
  });

  it('keeps descriptions that the archive cut short at the metadata field end', () => {
    const e = spcIndex.entries.find((x) => x.psid === 'MT_3000119033')!;
    expect(e.description).toBe(
      '***INTERNAL***Spectrum based 100GbE; 1U Open Ethernet Switch with MLNX-OS; 16 QSFP28 ports; Rangeley CPU; Ro',
    );
    expect(e.partNumber).toBe('MSN2100-Cxxx_INTERNAL_Ax');
  });

  it('lists the 6 Spectrum-2 images of FW 29.1961.0006', async () => {
    const idx = await readMfa1Index(SPC2);
    expect(idx.entries.map((e) => e.psid)).toEqual(SPC2_PSIDS);
    idx.entries.forEach((e, i) => {
      expect(e.versionString).toBe('29.1961.0006');
      expect(e.version).toEqual({ major: 29, minor: 1961, subminor: 6 });
      expect(e.dataSize).toBe(FS4_SIZE);
      expect(e.dataOffset).toBe(i * FS4_SIZE);
    });
    expect(idx.entries[0]!.partNumber).toBe('MSN3700-Cxxx_Ax');
  });
});

describe('extracting', async () => {
  const backends = (await xzBackends()).filter((b) => b.available).map((b) => b.name);

  it('has at least one xz backend', () => {
    expect(backends.length).toBeGreaterThan(0);
  });

  describe.each(backends)('with the %s xz backend', (backend: XzBackendName) => {
    it('HPE3230110035 is byte-identical to the plain xz fixture', async () => {
      const out = join(tempDir('fs3burn-mfa-'), 'hpe.bin');
      const r = await extractMfa1Image(SPC, HPE, out, { xzBackend: backend });
      expect(r.bytes).toBe(FS3_SIZE);
      expect(r.entry.psid).toBe(HPE);
      expect(sha256(readFileSync(out))).toBe(hpeSha);
    });

    it('readMfa1ImageBytes gives the same bytes', async () => {
      const b = await readMfa1ImageBytes(SPC, HPE, { xzBackend: backend });
      expect(b.length).toBe(FS3_SIZE);
      expect(sha256(b)).toBe(hpeSha);
    });

    it('a Spectrum-2 image starts with the FS4 magic', async () => {
      const b = await readMfa1ImageBytes(SPC2, 'MT_0000000198', { xzBackend: backend });
      expect(b.length).toBe(FS4_SIZE);
      expect(b.subarray(0, 16)).toEqual(FS4_MAGIC);
    });
  });

  it('matches `xz -dc` of the DATA section for the last Spectrum-2 image', async () => {
    const idx = await readMfa1Index(SPC2);
    const data = idx.sections.find((s) => s.name === 'DATA')!;
    const e = idx.entries.at(-1)!;
    const compressed = readFileSync(SPC2).subarray(data.payloadOffset, data.payloadOffset + data.length);
    const all = execFileSync('xz', ['-dc'], { input: compressed, maxBuffer: 512 << 20 });
    const expected = all.subarray(e.dataOffset, e.dataOffset + e.dataSize);
    const out = join(tempDir('fs3burn-mfa-'), 'last.bin');
    const r = await extractMfa1Image(SPC2, e.psid, out);
    expect(r.bytes).toBe(FS4_SIZE);
    const got = readFileSync(out);
    expect(got.subarray(0, 16)).toEqual(FS4_MAGIC);
    expect(sha256(got)).toBe(sha256(expected));
  });

  it('writes to a stream, which it leaves open', async () => {
    const pass = new PassThrough();
    const chunks: Buffer[] = [];
    pass.on('data', (c: Buffer) => chunks.push(c));
    const r = await extractMfa1Image(SPC, HPE, pass);
    expect(r.bytes).toBe(FS3_SIZE);
    expect(pass.writableEnded).toBe(false);
    expect(sha256(Buffer.concat(chunks))).toBe(hpeSha);
  });

  it('writes to a slow file stream with backpressure', async () => {
    const out = join(tempDir('fs3burn-mfa-'), 'stream.bin');
    const ws = createWriteStream(out, { highWaterMark: 16 * 1024 });
    await extractMfa1Image(SPC, HPE, ws);
    await new Promise<void>((resolve, reject) => ws.end((err?: Error | null) => (err ? reject(err) : resolve())));
    expect(sha256(readFileSync(out))).toBe(hpeSha);
  });

  it('matches a PSID ignoring case', async () => {
    const pass = new PassThrough();
    pass.resume();
    const r = await extractMfa1Image(SPC2, 'mt_0000000199', pass);
    expect(r.entry.psid).toBe('MT_0000000199');
  });
});

describe('bad input', () => {
  const dataOffset = () => spcIndex.sections.find((s) => s.name === 'DATA')!.payloadOffset;
  const mapOffset = () => spcIndex.sections.find((s) => s.name === 'MAP')!.payloadOffset;

  it('an unknown PSID: MFA_PSID_NOT_FOUND listing the PSIDs, and no output file', async () => {
    const dir = tempDir('fs3burn-mfa-');
    const e = await failure(extractMfa1Image(SPC, 'NO_SUCH_PSID', join(dir, 'x.bin')));
    expect(e.code).toBe('MFA_PSID_NOT_FOUND');
    expect(e.exitCode).toBe(ExitCode.BAD_INPUT);
    expect(e.hint).toContain(HPE);
    expect(e.data?.available).toEqual(SPC_PSIDS);
    expect(readdirSync(dir)).toEqual([]);
    expect((await failure(readMfa1ImageBytes(SPC2, 'NO_SUCH_PSID'))).code).toBe('MFA_PSID_NOT_FOUND');
  });

  it('a damaged xz stream in DATA (CRC32 trailer fixed up): MFA_CORRUPT, and no partial file', async () => {
    const p = damagedCopy(SPC, (b) => {
      b[dataOffset() + 1000] ^= 0xff;
      b[dataOffset() + 1001] ^= 0x55;
    }, true);
    await readMfa1Index(p); // the trailer and the small sections are fine
    const dir = tempDir('fs3burn-mfa-');
    for (const backend of (await xzBackends()).filter((x) => x.available).map((x) => x.name)) {
      const e = await failure(extractMfa1Image(p, HPE, join(dir, 'hpe.bin'), { xzBackend: backend }));
      expect(e.code).toBe('MFA_CORRUPT');
      expect(e.message).toMatch(/DATA section.*corrupt/);
    }
    expect(readdirSync(dir)).toEqual([]);
    expect((await failure(readMfa1ImageBytes(p, HPE))).code).toBe('MFA_CORRUPT');
  });

  it('a damaged xz stream in MAP (CRC32 trailer fixed up): MFA_CORRUPT', async () => {
    const p = damagedCopy(SPC, (b) => {
      b[mapOffset() + 100] ^= 0xff;
    }, true);
    const e = await failure(readMfa1Index(p));
    expect(e.code).toBe('MFA_CORRUPT');
    expect(e.message).toMatch(/MAP section/);
  });

  it('a damaged xz index at the end of DATA (CRC32 trailer fixed up): MFA_CORRUPT', async () => {
    const p = damagedCopy(SPC, (b) => {
      b[b.length - 4 - 20] ^= 0x01;
    }, true);
    expect((await failure(readMfa1Index(p))).code).toBe('MFA_CORRUPT');
  });

  it('a wrong CRC32 trailer: MFA_CRC_MISMATCH', async () => {
    const p = damagedCopy(SPC, (b) => {
      b[b.length - 1] ^= 0x01;
    }, false);
    const e = await failure(readMfa1Index(p));
    expect(e.code).toBe('MFA_CRC_MISMATCH');
    expect(e.exitCode).toBe(ExitCode.BAD_INPUT);
    expect(e.message).toMatch(/CRC32/);
    expect((await failure(extractMfa1Image(p, HPE, new PassThrough()))).code).toBe('MFA_CRC_MISMATCH');
  });

  it('a changed byte with the old trailer: MFA_CRC_MISMATCH', async () => {
    const p = damagedCopy(SPC, (b) => {
      b[dataOffset() + 5000] ^= 0x10;
    }, false);
    expect((await failure(readMfa1Index(p))).code).toBe('MFA_CRC_MISMATCH');
  });

  it.each([
    ['half the file', (b: Buffer) => b.subarray(0, b.length >> 1)],
    ['the last 100 bytes missing', (b: Buffer) => b.subarray(0, b.length - 100)],
    ['the trailer missing', (b: Buffer) => b.subarray(0, b.length - 4)],
    ['only the header', (b: Buffer) => b.subarray(0, 16)],
    ['the magic only', (b: Buffer) => b.subarray(0, 6)],
  ])('a truncated archive (%s): MFA_CORRUPT', async (_what, cut) => {
    const p = damagedCopy(SPC, cut, false);
    const e = await failure(readMfa1Index(p));
    expect(e.code).toBe('MFA_CORRUPT');
    expect(e.message).toMatch(/truncated/);
  });

  it('a file that is not an MFA archive: MFA_NOT_ARCHIVE', async () => {
    const e = await failure(readMfa1Index(rawFixture(FX.fs3Hpe)));
    expect(e.code).toBe('MFA_NOT_ARCHIVE');
    expect(e.exitCode).toBe(ExitCode.BAD_INPUT);
    expect(e.hint).toMatch(/raw firmware image/);
    const xz = await failure(readMfa1Index(fixturePath(FX.fs3Hpe)));
    expect(xz.code).toBe('MFA_NOT_ARCHIVE');
    expect(xz.hint).toMatch(/xz/);
  });

  it('an empty file, a missing file, a directory', async () => {
    const dir = tempDir('fs3burn-mfa-');
    writeFileSync(join(dir, 'empty.mfa'), '');
    expect((await failure(readMfa1Index(join(dir, 'empty.mfa')))).code).toBe('FILE_EMPTY');
    expect((await failure(readMfa1Index(join(dir, 'missing.mfa')))).code).toBe('FILE_NOT_FOUND');
    expect((await failure(readMfa1Index(dir))).code).toBe('FILE_IS_DIRECTORY');
  });

  it('an unsupported format version: FORMAT_UNSUPPORTED', async () => {
    const p = damagedCopy(SPC, (b) => {
      b.writeUInt32BE(2, 4);
    }, true);
    expect((await failure(readMfa1Index(p))).code).toBe('FORMAT_UNSUPPORTED');
  });

  it('an output folder that does not exist: OUTPUT_WRITE_FAILED', async () => {
    const e = await failure(extractMfa1Image(SPC2, 'MT_0000000199', join(tempDir(), 'no', 'such', 'dir', 'x.bin')));
    expect(e.code).toBe('OUTPUT_WRITE_FAILED');
  });

  it('an aborted extraction leaves no file behind', async () => {
    const dir = tempDir('fs3burn-mfa-');
    const ac = new AbortController();
    const p = extractMfa1Image(SPC, 'MT_2370110033', join(dir, 'last.bin'), { signal: ac.signal });
    setTimeout(() => ac.abort(), 20);
    await expect(p).rejects.toThrow(/abort/i);
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe('loading', () => {
  it('importing the MFA module or the CLI loads no native xz decoder', () => {
    const dist = join(PROJECT_ROOT, 'dist');
    if (!existsSync(join(dist, 'mfa', 'index.js'))) throw new Error('build first: npx tsc -p .');
    const script = `
      const loaded = [];
      const dlopen = process.dlopen;
      process.dlopen = (m, f, ...rest) => { loaded.push(f); return dlopen.call(process, m, f, ...rest); };
      const mfa = await import(${JSON.stringify(join(dist, 'mfa', 'index.js'))});
      await import(${JSON.stringify(join(dist, 'cli', 'mfa-command.js'))});
      const before = loaded.filter((f) => /lzma|koffi/.test(f)).length;
      await mfa.readMfa1Index(${JSON.stringify(SPC2)});
      const after = loaded.filter((f) => /lzma|koffi/.test(f)).length;
      console.log(JSON.stringify({ before, after }));
    `;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual({ before: 0, after: 1 });
  });
});
