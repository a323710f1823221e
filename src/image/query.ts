/**
 * The query view of an image: the fields `mstflint -i IMAGE q [full]` prints, as one
 * JSON-friendly object. Which optional fields appear follows mstflint 4.21, as measured
 * by patching real images (docs/formats.md): Orig GUID/MAC when the MFG_INFO uid or count
 * differs from DEV_INFO, Orig PSID when MFG_INFO's PSID differs, security attributes and
 * the fw_ctrl update method only for images with signature, public keys and mcc_en (§3.1).
 */
import { formatFwVersion, type Fs3Image, type UidEntry } from './fs3.js';

export interface UidView {
  /** Hex, 16 digits for GUIDs and 12 for MACs; null when the uid is zero (printed N/A). */
  base: string | null;
  count: number;
  step: number;
}

export interface ImageQuery {
  imageType: 'FS3';
  fwVersion: string;
  fwVersionParts: { major: number; minor: number; subminor: number } | null;
  isfuVersion?: number;
  releaseDate?: string;
  micVersion?: string;
  prsName?: string;
  origPrsName?: string;
  partNumber?: string;
  description?: string;
  productVersion?: string;
  guid: UidView | null;
  origGuid?: UidView;
  mac: UidView | null;
  origMac?: UidView;
  imageVsd: string | null;
  deviceVsd: string | null;
  psid: string;
  origPsid?: string;
  /** Empty means N/A. */
  securityAttributes: string[];
  defaultUpdateMethod: 'Legacy' | 'fw_ctrl';
  supportedHwIds: number[];
  imageStart: number;
  chunkLog2: number;
}

function uidView(e: UidEntry, digits: number): UidView {
  const v = BigInt.asUintN(digits * 4, e.uid);
  return { base: v === 0n ? null : v.toString(16).padStart(digits, '0'), count: e.numAllocated, step: e.step };
}

function differs(a: UidEntry, b: UidEntry, digits: number): boolean {
  const mask = (v: bigint) => BigInt.asUintN(digits * 4, v);
  return mask(a.uid) !== mask(b.uid) || a.numAllocated !== b.numAllocated;
}

const nonEmpty = (s: string | undefined): s is string => s !== undefined && s.length > 0;

export function describeImage(img: Fs3Image): ImageQuery {
  const ii = img.imageInfo;
  const dev = img.devInfo;
  const mfg = img.mfgInfo;
  const q: ImageQuery = {
    imageType: 'FS3',
    fwVersion: ii ? formatFwVersion(ii.fwVersion) : 'N/A',
    fwVersionParts: ii ? { ...ii.fwVersion } : null,
    guid: dev ? uidView(dev.guid, 16) : null,
    mac: dev ? uidView(dev.mac, 12) : null,
    imageVsd: nonEmpty(ii?.vsd) ? ii!.vsd : null,
    deviceVsd: nonEmpty(dev?.vsd) ? dev!.vsd : null,
    psid: ii?.psid ?? mfg?.psid ?? '',
    securityAttributes: [],
    defaultUpdateMethod: img.security.fwManagedCapable ? 'fw_ctrl' : 'Legacy',
    supportedHwIds: ii?.supportedHwIds.map((h) => h.raw) ?? [],
    imageStart: img.imageStart,
    chunkLog2: img.bootVersion.effectiveLog2Chunk,
  };
  if (ii) {
    if (ii.isfuMajor !== 0) q.isfuVersion = ii.isfuMajor;
    const d = ii.releaseDate;
    q.releaseDate = `${d.day}.${d.month}.${d.year}`;
    const m = ii.micVersion;
    q.micVersion = `${m.major}.${m.minor}.${m.subminor}`;
    if (nonEmpty(ii.prsName)) q.prsName = ii.prsName;
    if (nonEmpty(ii.partNumber)) q.partNumber = ii.partNumber;
    if (nonEmpty(ii.description)) q.description = ii.description;
    if (nonEmpty(ii.productVersion)) q.productVersion = ii.productVersion;
  }
  if (mfg) {
    if (nonEmpty(mfg.origPrsName)) q.origPrsName = mfg.origPrsName;
    if (dev && differs(dev.guid, mfg.guid, 16)) q.origGuid = uidView(mfg.guid, 16);
    if (dev && differs(dev.mac, mfg.mac, 12)) q.origMac = uidView(mfg.mac, 12);
    if (nonEmpty(mfg.psid) && mfg.psid !== q.psid) q.origPsid = mfg.psid;
  }
  if (img.security.fwManagedCapable && ii) {
    // mstflint 4.21: secure-fw wins over signed-fw; debug is listed only with one of them.
    if (ii.secureFw) q.securityAttributes.push('secure-fw');
    else if (ii.signedFw) q.securityAttributes.push('signed-fw');
    if (q.securityAttributes.length > 0 && ii.debugFw) q.securityAttributes.push('debug');
  }
  return q;
}
