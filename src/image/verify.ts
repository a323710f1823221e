/**
 * Image verification: every CRC flint checks, in flint's order, with a bootable verdict
 * (fs3-facts.md §1.3–§1.5). The report lists the same sections, addresses and states
 * that `mstflint -i IMAGE v` prints.
 */
import { Fs3BurnError } from '../errors.js';
import { scanFs3 } from './fs3.js';
import { toSource, type ImageInput } from './source.js';

export type SectionStatus = 'OK' | 'CRC_IGNORED' | 'BAD_CRC' | 'OUT_OF_BOUNDS';

export interface VerifyLine {
  name: string;
  /** Start address as mstflint prints it (image-relative, or physical for absolute entries). */
  address: number;
  size: number;
  status: SectionStatus;
  /** CRC computed over the bytes (mstflint's "exp"). */
  computedCrc?: number;
  /** CRC stored in the image (mstflint's "act"). */
  storedCrc?: number;
}

export interface VerifyReport {
  format: 'FS3';
  imageStart: number;
  lines: VerifyLine[];
  /** Every check passed: a card can boot this image. */
  bootable: boolean;
  /** Why not, when not bootable. */
  reason?: string;
  /** Error code of the reason (IMAGE_VERIFY_FAILED or IMAGE_CORRUPT). */
  code?: string;
  /** Name of the first bad section, when the failure is a CRC. */
  badSections: string[];
}

export function verifyFs3(input: ImageInput): VerifyReport {
  const src = toSource(input);
  const scan = scanFs3(src);
  const lines: VerifyLine[] = [];
  const report: VerifyReport = { format: 'FS3', imageStart: scan.imageStart, lines, bootable: false, badSections: [] };
  const fail = (e: Fs3BurnError): VerifyReport => {
    report.reason = e.message;
    report.code = e.code;
    return report;
  };

  if (scan.boot2) {
    const b = scan.boot2;
    lines.push({
      name: 'BOOT2',
      address: b.offset,
      size: b.length,
      status: b.crcOk ? 'OK' : 'BAD_CRC',
      computedCrc: b.crcActual,
      storedCrc: b.crcStored,
    });
  }
  if (scan.itoc) {
    const h = scan.itoc;
    lines.push({
      name: 'ITOC_HEADER',
      // mstflint prints BOOT2 image-relative but the ITOC and relative sections at their
      // flash address (image start + offset): measured on an image in slot 1.
      address: scan.imageStart + h.address,
      size: 0x20,
      status: h.crcOk ? 'OK' : 'BAD_CRC',
      computedCrc: h.crcActual,
      storedCrc: h.crcStored,
    });
  }
  for (const e of scan.entries) {
    let status: SectionStatus;
    if (!e.inBounds) status = 'OUT_OF_BOUNDS';
    else if (e.noCrc) status = 'CRC_IGNORED';
    else status = e.sectionCrcActual === e.sectionCrc ? 'OK' : 'BAD_CRC';
    const address = e.relativeAddr ? scan.imageStart + e.address : e.address;
    const line: VerifyLine = { name: e.name, address, size: e.size, status, storedCrc: e.sectionCrc };
    if (e.sectionCrcActual !== undefined) line.computedCrc = e.sectionCrcActual;
    lines.push(line);
  }
  report.badSections = lines.filter((l) => l.status === 'BAD_CRC').map((l) => l.name);

  if (scan.problem) return fail(scan.problem);
  const oob = lines.find((l) => l.status === 'OUT_OF_BOUNDS');
  if (oob) {
    return fail(
      new Fs3BurnError(
        'IMAGE_CORRUPT',
        `${oob.name} - read error (Reading 0x${oob.size.toString(16)} bytes from address 0x${oob.address.toString(16)} is out of image limits (0x${src.length.toString(16)} bytes))`,
      ),
    );
  }
  if (report.badSections.length > 0) return fail(new Fs3BurnError('IMAGE_VERIFY_FAILED', 'Bad CRC.'));
  const imageInfo = scan.entries.find((e) => e.name === 'IMAGE_INFO');
  if (!imageInfo) {
    return fail(new Fs3BurnError('IMAGE_CORRUPT', 'No "IMAGE_INFO" info section.'));
  }
  const infoMajor = src.bytes(imageInfo.bufferOffset, 1)[0];
  if (infoMajor !== 0) {
    // §1.7: flint cannot read any other IMAGE_INFO layout (the same check parseFs3 makes)
    return fail(new Fs3BurnError('IMAGE_CORRUPT', `Unknown IMAGE_INFO format version (${infoMajor})`));
  }
  if (!scan.entries.some((e) => e.name === 'MFG_INFO')) {
    return fail(new Fs3BurnError('IMAGE_CORRUPT', 'No "MFG_INFO" info section.'));
  }
  report.bootable = true;
  return report;
}
