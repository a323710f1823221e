/**
 * Which flow burns an image (§3.1): the FW-managed (MCC) flow only when every condition
 * flint checks holds, the legacy flash-register flow otherwise. Every reason is a sentence
 * (the plan and the CLI print them).
 *
 * 1. not --no_fw_ctrl (§3.1 steps 1, 5);
 * 2. the device answers MCAM and advertises MCQS, MCQI, MCC, MCDA, MQIS and MGIR — flint's
 *    stricter rule (§3.1 step 2, §8), naming each missing bit; HW id not SwitchIB(2) (§3.1);
 * 3. the image is not SM_NONE: signature + public keys + IMAGE_INFO.mcc_en (§3.1 step 3);
 * 4. none of §3.1 step 4's legacy fallbacks applies (run_from_any / chunk rules / 8 MB shift).
 */
import type { Device, DeviceIdentity } from '../device/index.js';
import type { Fs3Image } from '../image/fs3.js';
import { isPublicKeysSection, isSignatureSection } from '../image/sections.js';
import type { BurnOptions, FlowSelection } from './types.js';

/** What selectFlow reads of the running image besides DeviceIdentity.image. */
export interface RunningImageExtra {
  /** IMAGE_INFO run_from_any of the image on flash (§1.7 0x108 bit 31). */
  runFromAny?: boolean;
}

/** A DeviceIdentity, optionally with the running image's run_from_any (identifyForFlow). */
export type FlowIdentity = Omit<DeviceIdentity, 'image'> & { image?: NonNullable<DeviceIdentity['image']> & RunningImageExtra };

/** §3.1: HW ids flint never updates through MCC (CX3 / CX3Pro are FS2, not FS3). */
const NO_MCC_HW_IDS: Record<number, string> = { 0x247: 'SwitchIB', 0x24b: 'SwitchIB2' };
const REQUIRED = 'MCQS, MCQI, MCC, MCDA, MQIS and MGIR';
const CHUNK_4M = 0x16;
const CHUNK_8M = 0x17;
const SLOT_1_4M = 0x400000;

/** identify() plus the running image's run_from_any, which the §3.1 step 4 rules need. */
export function identifyForFlow(device: Device): FlowIdentity {
  const id: FlowIdentity = device.identify();
  if (id.image) {
    try {
      const ii = device.readImage({ sections: 'info' }).image.imageInfo;
      if (ii) id.image = { ...id.image, runFromAny: ii.runFromAny };
    } catch {
      // identify() already read this image; a second failure leaves run_from_any unknown
    }
  }
  return id;
}

function imageSecurityReasons(image: Fs3Image): { ok: boolean; sentence: string } {
  const sig = image.entries.filter((e) => isSignatureSection(e.type)).map((e) => e.name);
  const keys = image.entries.filter((e) => isPublicKeysSection(e.type)).map((e) => e.name);
  const mcc = image.imageInfo?.mccEnabled ?? false;
  const v = image.imageInfo ? ` ${fmt(image)}` : '';
  if (image.security.fwManagedCapable) {
    return { ok: true, sentence: `The image${v} is signed (${sig.join(', ')}), carries public keys (${keys.join(', ')}) and sets IMAGE_INFO.mcc_en, so the FW can take it through MCC (§3.1 step 3).` };
  }
  const lacks = [
    ...(sig.length ? [] : ['a signature section (IMAGE_SIGNATURE_256/512)']),
    ...(keys.length ? [] : ['a public-keys section (PUBLIC_KEYS_2048/4096)']),
    ...(mcc ? [] : ['IMAGE_INFO.mcc_en']),
  ];
  return {
    ok: false,
    sentence: `The image${v} lacks ${lacks.join(', ')}: flint treats it as security mode SM_NONE ("an old image format that does not have a signature or does not support FW control commands") and burns it through the flash registers (§3.1 steps 3, 5).`,
  };
}

function fmt(image: Fs3Image): string {
  const v = image.imageInfo?.fwVersion;
  return v ? `(FW ${v.major}.${v.minor}.${String(v.subminor).padStart(4, '0')})` : '';
}

function deviceReasons(identity: FlowIdentity): { ok: boolean; sentences: string[] } {
  const running = identity.fwVersion ? `FW ${identity.fwVersion.text}` : 'the running FW';
  const hwName = NO_MCC_HW_IDS[identity.hwId];
  if (hwName) return { ok: false, sentences: [`The device is a ${hwName} (HW id 0x${identity.hwId.toString(16)}), which flint never updates through MCC (§3.1 step 2).`] };
  const caps = identity.capabilities;
  if (!caps) {
    const why = identity.livefish ? 'the card runs no FW (livefish)' : 'ICMD is not available';
    return { ok: false, sentences: [`The device's capabilities cannot be queried (${why}), so only the flash can be written directly (§3.1 step 2, §4.1).`] };
  }
  if (!caps.mcamSupported) {
    return { ok: false, sentences: [`${cap(running)} does not answer MCAM (REG_NOT_SUPP): it predates FW-managed updates, so flint burns it through the flash registers (§3.1 step 2, §4.6).`] };
  }
  const missing = caps.missing.filter((m) => m !== 'MCAM');
  if (missing.length > 0) {
    return { ok: false, sentences: [`MCAM of ${running} does not advertise ${missing.join(', ')}; flint requires all of ${REQUIRED} before it uses MCC (§3.1 step 2, §8: the kernel asks only MCQI, MCC and MCDA).`] };
  }
  return { ok: true, sentences: [`MCAM of ${running} advertises ${REQUIRED} (§3.1 step 2).`] };
}

/** §3.1 step 4 (fs_checks ExecuteChecks / FwCheckIfWeCanBurnWithFwControl). */
function fallbackReasons(identity: FlowIdentity, image: Fs3Image): { ok: boolean; sentences: string[] } {
  const out: string[] = [];
  const imgChunk = image.bootVersion.effectiveLog2Chunk;
  const imgRfa = image.imageInfo?.runFromAny ?? false;
  const dev = identity.image;
  const devRfa = dev?.runFromAny;
  const oldSmallImage = !imgRfa && imgChunk === CHUNK_4M;
  if (!dev) {
    if (oldSmallImage || imgChunk === CHUNK_8M) {
      out.push(`The image on the device's flash could not be read, so the run_from_any and chunk rules of §3.1 step 4 cannot be checked for this ${imgChunk === CHUNK_8M ? '8 MiB' : 'non-run_from_any 4 MiB'} image; the legacy flow is the safe choice.`);
    }
    return { ok: out.length === 0, sentences: out.length ? out : ['No §3.1 step 4 fallback applies to a run_from_any 4 MiB image.'] };
  }
  if (devRfa === undefined && (oldSmallImage || imgChunk === CHUNK_8M)) {
    out.push(`The running image's run_from_any is unknown, and it decides §3.1 step 4 for this image; the legacy flow is the safe choice.`);
  }
  if (devRfa === true && (dev.start === 0 || dev.start === SLOT_1_4M) && oldSmallImage) {
    out.push(`The running image is run_from_any at 0x${dev.start.toString(16)} and the new image is an old 4 MiB image (run_from_any 0, chunk 0x16): flint falls back to the legacy flow (§3.1 step 4).`);
  }
  if (devRfa === false && imgChunk === CHUNK_8M) {
    out.push(`The running image is not run_from_any and the new image uses 8 MiB chunks (0x17): flint falls back to the legacy flow (§3.1 step 4).`);
  }
  if (imgChunk === CHUNK_8M && dev.log2Chunk === CHUNK_4M) {
    // The facts name the 8 MB shift (FwCheckIf8MBShiftingNeeded) without its condition; this
    // reading — an 8 MiB image over 4 MiB slots, whose slot 1 moves to 0x800000 (§2.2) — is ours.
    out.push(`The new image uses 8 MiB chunks while the device's image uses 4 MiB slots: the image must move to the 8 MiB layout (slot 1 at 0x800000, §2.2), an "8 MB shift" that only the legacy flow does (§3.1 step 4).`);
  }
  if (out.length) return { ok: false, sentences: out };
  return { ok: true, sentences: ['None of the legacy fallbacks of §3.1 step 4 (run_from_any / chunk size / 8 MB shift) applies.'] };
}

function cap(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** Decide the flow (§3.1); reasons are full sentences, blocking ones first. */
export function selectFlow(identity: FlowIdentity, image: Fs3Image, opts: BurnOptions = {}): FlowSelection {
  if (opts.noFwCtrl) {
    return { flow: 'legacy', reasons: ['The FW-managed flow is switched off (noFwCtrl, flint --no_fw_ctrl: "Do not attempt to work with the FW Ctrl update commands", §3.1 step 5).'] };
  }
  const dev = deviceReasons(identity);
  const sec = imageSecurityReasons(image);
  const fb = dev.ok && sec.ok ? fallbackReasons(identity, image) : { ok: true, sentences: [] };
  const blocking = [...(dev.ok ? [] : dev.sentences), ...(sec.ok ? [] : [sec.sentence]), ...(fb.ok ? [] : fb.sentences)];
  if (blocking.length > 0) {
    const positive = [...(dev.ok ? dev.sentences : []), ...(sec.ok ? [sec.sentence] : [])];
    return { flow: 'legacy', reasons: [...blocking, ...positive] };
  }
  return { flow: 'fw-managed', reasons: [...dev.sentences, sec.sentence, ...fb.sentences] };
}
