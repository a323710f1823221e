/**
 * Text renderings that follow mstflint 4.21's labels and layout, field by field, so that
 * scripts written against flint's output read ours too (test/query-vs-mstflint.test.ts).
 */
import type { ImageQuery, UidView } from '../image/query.js';
import type { VerifyLine, VerifyReport } from '../image/verify.js';

const LABEL_WIDTH = 23;
/** mstflint prints at most this many characters of the PRS name (measured with a 120-char name). */
const PRS_NAME_MAX = 96;

function line(label: string, value: string): string {
  return `${`${label}:`.padEnd(LABEL_WIDTH)}${value}\n`;
}

/** As mstflint: the uid in 16 columns, 7 spaces, then " COUNT", or "N/A" for a zero count. */
function uidLine(label: string, u: UidView | null): string {
  if (!u) return line(label, 'N/A');
  return line(label, `${(u.base ?? 'N/A').padEnd(16)}       ${u.count === 0 ? 'N/A' : ` ${u.count}`}`);
}

export function formatQuery(q: ImageQuery, full: boolean): string {
  let s = line('Image type', q.imageType);
  if (q.isfuVersion !== undefined) s += line('FW ISSU Version', String(q.isfuVersion));
  s += line('FW Version', q.fwVersion);
  if (q.releaseDate) s += line('FW Release Date', q.releaseDate);
  if (full) {
    if (q.micVersion) s += line('MIC Version', q.micVersion);
    if (q.prsName) s += line('PRS Name', q.prsName.slice(0, PRS_NAME_MAX));
    if (q.origPrsName) s += line('Orig PRS Name', q.origPrsName.slice(0, PRS_NAME_MAX));
    if (q.partNumber) s += line('Part Number', q.partNumber);
    if (q.description) s += line('Description', q.description);
  }
  if (q.productVersion) s += line('Product Version', q.productVersion);
  s += line('Description', `${'UID'.padEnd(19)}GuidsNumber`);
  s += uidLine('Base GUID', q.guid);
  if (q.origGuid) s += uidLine('Orig Base GUID', q.origGuid);
  s += uidLine('Base MAC', q.mac);
  if (q.origMac) s += uidLine('Orig Base MAC', q.origMac);
  s += line('Image VSD', q.imageVsd ?? 'N/A');
  s += line('Device VSD', q.deviceVsd ?? 'N/A');
  s += line('PSID', q.psid);
  if (q.origPsid) s += line('Orig PSID', q.origPsid);
  s += line('Security Attributes', q.securityAttributes.length ? q.securityAttributes.join(', ') : 'N/A');
  if (full) s += line('Default Update Method', q.defaultUpdateMethod);
  return s;
}

const hex = (n: number, w: number) => `0x${n.toString(16).padStart(w, '0')}`;

export function formatVerifyLine(l: VerifyLine): string {
  const range = `/${hex(l.address, 8)}-${hex(l.address + l.size - 1 >>> 0, 8)} (${hex(l.size, 6)})/ (${l.name})`;
  switch (l.status) {
    case 'OK':
      return `     ${range} - OK\n`;
    case 'CRC_IGNORED':
      return `     ${range} - CRC IGNORED\n`;
    case 'BAD_CRC':
      return `     ${range} ${`/${hex(l.address, 8)}/`} - wrong CRC (exp:0x${(l.computedCrc ?? 0).toString(16)}, act:0x${(l.storedCrc ?? 0).toString(16)})\n`;
    case 'OUT_OF_BOUNDS':
      return `     ${range} - out of image limits\n`;
  }
}

export const VERIFY_OK_LINE = '-I- FW image verification succeeded. Image is bootable.';

export function formatVerify(r: VerifyReport): string {
  let s = '\nFS3 failsafe image\n\n';
  for (const l of r.lines) s += formatVerifyLine(l);
  if (r.bootable) s += `\n${VERIFY_OK_LINE}\n\n`;
  return s;
}

/** The failure line mstflint prints after the section list. */
export function verifyFailureLine(r: VerifyReport): string {
  return `FW image verification failed: ${r.reason}. AN HCA DEVICE CAN NOT BOOT FROM THIS IMAGE.`;
}
