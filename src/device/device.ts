/**
 * A Device: the operations the burn flows use (style-anchors: mlxfw's dev_ops table),
 * written against the layers below — VSEC / address spaces, ICMD, access registers, flash
 * access — and never against a particular transport.
 */
import { Fs3BurnError, isFs3BurnError } from '../errors.js';
import { FwFlashAccess } from '../flash/fw-access.js';
import { GatewayFlashAccess } from '../flash/gateway-access.js';
import { SR_BP_MASK } from '../flash/gateway-constants.js';
import { chooseFlashMethod, type FlashMethodChoice } from '../flash/select.js';
import { emptyFlashStats, type FlashAccess, type FlashStats } from '../flash/types.js';
import { checkRange } from '../flash/checks.js';
import { formatFwVersion } from '../image/fs3.js';
import type { IcmdInterface, IcmdStats } from '../icmd/icmd.js';
import type { RegisterAccess } from '../registers/access.js';
import { readHwId, writeCrBootAddress, type HwIdReading } from '../registers/cr-space.js';
import { MCAM, fwManagedSupport, type Mcam } from '../registers/mcam.js';
import { MCC, type Mcc } from '../registers/mcc.js';
import { MCDA } from '../registers/mcda.js';
import { MCQI, McqiInfoType, type Mcqi } from '../registers/mcqi.js';
import { MCQS, type Mcqs } from '../registers/mcqs.js';
import { MFAI, type Mfai } from '../registers/mfai.js';
import { MFPA, MFPA_CAP_QUAD_EN, MFPA_CAP_WRITE_PROTECT, decodeJedec, type Mfpa } from '../registers/mfpa.js';
import { MFRL } from '../registers/mfrl.js';
import { MGIR, mgirFwVersion, type Mgir } from '../registers/mgir.js';
import type { AddressSpaceAccess } from '../transport/mst/address-space.js';
import { realClock, type Clock } from '../vsec/clock.js';
import type { ConfigCounts } from '../vsec/counting.js';
import { emptyVsecStats, type VsecStats } from '../vsec/stats.js';
import { FLASH_SEMAPHORE, ICMD_SEMAPHORE, clearPidSemaphore, probePidSemaphore, type PidSemaphoreState } from '../vsec/pid-semaphore.js';
import { readFlashImage, type FlashImage, type ReadImageOptions } from './image-read.js';
import type { DeviceCapabilities, DeviceIdentity, DeviceOptions, DeviceStats, FlashParams, FwVersionInfo, ProgressFn } from './types.js';

/** What openDevice hands the Device. */
export interface DeviceParts {
  name: string;
  access: AddressSpaceAccess;
  accessMode: DeviceIdentity['accessMode'];
  icmd?: IcmdInterface;
  regs?: RegisterAccess;
  /** Why there is no ICMD, when there is none. */
  icmdUnavailableReason?: string;
  pciVendorId?: number;
  pciDeviceId?: number;
  configCounts?: ConfigCounts;
  vsecStats?: VsecStats;
}

const STEP = 0x10000; // progress step for reads and writes

const emptyIcmdStats = (): IcmdStats => ({ commands: 0, polls: 0, sleeps: 0, sleptMs: 0, failed: 0, sessions: 0, mailboxDwordsSkipped: 0, ctrlChecksSkipped: 0 });

export class Device {
  readonly name: string;
  readonly access: AddressSpaceAccess;
  private readonly clock: Clock;
  private readonly flashStats: FlashStats = emptyFlashStats();
  private choice: FlashMethodChoice | undefined;
  private flashAccess: FlashAccess | undefined;
  private closed = false;

  constructor(
    private readonly parts: DeviceParts,
    private readonly opts: DeviceOptions = {},
  ) {
    this.name = parts.name;
    this.access = parts.access;
    this.clock = opts.clock ?? realClock;
  }

  /** Whether ICMD (and so access registers and FW flash access) is usable. */
  get hasIcmd(): boolean {
    return this.parts.regs !== undefined;
  }

  /** The register layer; throws ICMD_UNAVAILABLE when the device has no ICMD. */
  get regs(): RegisterAccess {
    this.ensureOpen();
    if (!this.parts.regs) {
      throw new Fs3BurnError('ICMD_UNAVAILABLE', `${this.name}: access registers need ICMD, which is not available: ${this.parts.icmdUnavailableReason ?? 'unknown reason'}`, {
        hint: 'without ICMD only the direct flash gateway works (FW not running, or no functional VSEC)',
        data: { device: this.name, reason: this.parts.icmdUnavailableReason },
      });
    }
    return this.parts.regs;
  }

  private ensureOpen(): void {
    if (this.closed) throw new Fs3BurnError('DEVICE_CLOSED', `${this.name}: the device is closed`);
  }

  // ---- identity -------------------------------------------------------------------------

  /** CR 0xF0014 (§7); throws DEVICE_CR_LOCKED on 0xBAD0CAFE. */
  hwId(): HwIdReading {
    this.ensureOpen();
    const r = readHwId(this.access);
    if (r.locked) {
      throw new Fs3BurnError('DEVICE_CR_LOCKED', `${this.name}: CR space is locked (HW id reads 0xBAD0CAFE)`, {
        hint: 'the card is in a secure / locked mode; CR-space access is refused',
        data: { device: this.name, raw: r.raw },
      });
    }
    return r;
  }

  mgir(): Mgir {
    return this.regs.get(MGIR);
  }

  /** Running FW version (MGIR, §4.3). */
  fwVersion(): FwVersionInfo {
    const v = mgirFwVersion(this.mgir());
    return { ...v, text: formatFwVersion(v) };
  }

  /** MCAM, or undefined when the FW does not implement it (REG_NOT_SUPP, old FW, §3.1). */
  mcam(): Mcam | undefined {
    try {
      return this.regs.get(MCAM, { accessRegGroup: 0, featureGroup: 0 });
    } catch (e) {
      if (isFs3BurnError(e) && e.code === 'REGISTER_NOT_SUPPORTED') return undefined;
      throw e;
    }
  }

  /** §3.1 capability check, naming what is missing. */
  capabilities(): DeviceCapabilities {
    const m = this.mcam();
    if (!m) return { mcamSupported: false, fwManagedFlow: false, missing: ['MCAM'], mcddDma: false };
    const s = fwManagedSupport(m);
    return { mcamSupported: true, fwManagedFlow: s.supported, missing: s.missing, mcddDma: s.mcddDma, regCapMask: m.regCapMask };
  }

  mfpa(): Mfpa {
    return this.regs.get(MFPA, { fs: 0 });
  }

  /** Flash parameters: MFPA with FW access, JEDEC + RDSR with the gateway. */
  flashParams(): FlashParams {
    const method = this.flashMethod().method;
    if (method === 'fw') {
      const m = this.mfpa();
      const j = decodeJedec(m.jedecId);
      return {
        source: 'MFPA',
        jedecId: j.jedecId,
        vendor: j.vendor,
        vendorId: j.vendorId,
        type: j.type,
        density: j.density,
        sizeBytes: j.sizeBytes,
        sectorSize: m.sectorSizeLog2 >= 9 && m.sectorSizeLog2 <= 20 ? 2 ** m.sectorSizeLog2 : 0x1000,
        writeProtected: m.sectorWrp || m.subsectorWrp,
        writeProtectSupported: (m.capabilityMask & MFPA_CAP_WRITE_PROTECT) !== 0,
        quadEnableSupported: (m.capabilityMask & MFPA_CAP_QUAD_EN) !== 0,
        flashNum: m.flashNum,
        bootAddress: m.bootAddress,
      };
    }
    const gw = this.flash as GatewayFlashAccess;
    const j = decodeJedec(gw.jedecId);
    const sr = gw.readStatus();
    return {
      source: 'gateway',
      jedecId: j.jedecId,
      vendor: j.vendor,
      vendorId: j.vendorId,
      type: j.type,
      density: j.density,
      sizeBytes: j.sizeBytes,
      sectorSize: 0x1000,
      writeProtected: (sr & SR_BP_MASK) !== 0,
    };
  }

  /** §4.1 access-method choice (made once, on first use). */
  flashMethod(): FlashMethodChoice {
    this.ensureOpen();
    if (!this.choice) {
      this.hwId(); // a locked CR space makes the guard meaningless
      this.choice = chooseFlashMethod(this.access, {
        ...(this.opts.flash?.forceGateway !== undefined ? { forceGateway: this.opts.flash.forceGateway } : {}),
        ...(this.opts.flash?.cacheReplacementKick !== undefined ? { cacheReplacementKick: this.opts.flash.cacheReplacementKick } : {}),
        icmdAvailable: this.hasIcmd,
      });
    }
    return this.choice;
  }

  /** The flash access of the chosen method (created on first use). */
  get flash(): FlashAccess {
    this.ensureOpen();
    if (!this.flashAccess) {
      const method = this.flashMethod().method;
      const f = this.opts.flash ?? {};
      if (method === 'fw') {
        const mfpa = this.mfpa();
        const size = decodeJedec(mfpa.jedecId).sizeBytes || undefined; // §4.3 MFPA
        this.flashAccess = new FwFlashAccess(this.regs, this.access, {
          clock: this.clock,
          stats: this.flashStats,
          ...(size !== undefined ? { size } : {}),
          ...(mfpa.bulk64 && f.erase64k !== false ? { bulk64: true } : {}),
          ...(f.mfbaBlockSize !== undefined ? { blockSize: f.mfbaBlockSize } : {}),
          ...(f.semaphoreTries !== undefined ? { semaphoreTries: f.semaphoreTries } : {}),
          ...(this.opts.ownerId !== undefined ? { ownerId: this.opts.ownerId } : {}),
        });
      } else {
        const gw = new GatewayFlashAccess(this.access, {
          clock: this.clock,
          stats: this.flashStats,
          ...(f.gatewayBusyPolls !== undefined ? { busyPolls: f.gatewayBusyPolls } : {}),
          ...(f.gatewayLockTries !== undefined ? { lockTries: f.gatewayLockTries } : {}),
        });
        void gw.jedecId; // §4.2 JEDEC 0x9F: learn the size (and 3- or 4-byte addressing) up front
        this.flashAccess = gw;
      }
    }
    return this.flashAccess;
  }

  /** Flash size in bytes (JEDEC density; 16 MiB when unknown, §7). */
  flashSize(): number {
    return this.flash.size ?? 0x1000000;
  }

  /**
   * Everything a query shows: HW id, PCI id, running FW (MGIR), capabilities (MCAM), flash
   * parameters, the access method, and the PSID read from the flash image.
   */
  identify(opts: { readImage?: boolean; onProgress?: ProgressFn } = {}): DeviceIdentity {
    const hw = this.hwId();
    const choice = this.flashMethod();
    const out: DeviceIdentity = {
      name: this.name,
      accessMode: this.parts.accessMode,
      hwId: hw.hwId,
      hwRevision: hw.revision,
      livefish: (this.parts.pciDeviceId !== undefined && this.parts.pciDeviceId === hw.hwId) || (choice.cacheReplacement !== undefined && !choice.cacheReplacement.fwRunning),
      flash: this.flashParams(),
      accessMethod: { method: choice.method, reason: choice.reason },
    };
    if (hw.deviceName) out.deviceName = hw.deviceName;
    if (this.parts.pciVendorId !== undefined) out.pciVendorId = this.parts.pciVendorId;
    if (this.parts.pciDeviceId !== undefined) out.pciDeviceId = this.parts.pciDeviceId;
    if (this.hasIcmd) {
      out.fwVersion = this.fwVersion();
      out.capabilities = this.capabilities();
    }
    if (opts.readImage !== false) {
      try {
        const img = this.readImage({ sections: 'info', ...(opts.onProgress ? { onProgress: opts.onProgress } : {}) });
        const psid = img.image.mfgInfo?.psid || img.image.imageInfo?.psid;
        if (psid) out.psid = psid;
        const ii = img.image.imageInfo;
        out.image = {
          start: img.start,
          log2Chunk: img.image.bootVersion.effectiveLog2Chunk,
          imageStarts: img.image.imageStarts,
          ...(ii ? { fwVersion: { ...ii.fwVersion, text: formatFwVersion(ii.fwVersion) } } : {}),
        };
      } catch (e) {
        if (!isFs3BurnError(e) || !['DEVICE_NO_IMAGE', 'IMAGE_CORRUPT', 'IMAGE_VERIFY_FAILED', 'FORMAT_UNSUPPORTED'].includes(e.code)) throw e;
        out.imageError = { code: e.code, message: e.message };
      }
    }
    return out;
  }

  // ---- flash ----------------------------------------------------------------------------

  /** Read `len` bytes at physical `addr`, in 64 KiB steps with progress. */
  readFlash(addr: number, len: number, onProgress?: ProgressFn): Uint8Array {
    const f = this.flash;
    checkRange('read', addr, len, f.size);
    const out = new Uint8Array(len);
    for (let done = 0; done < len; ) {
      const n = Math.min(STEP, len - done);
      out.set(f.read(addr + done, n), done);
      done += n;
      onProgress?.({ phase: 'read', done, total: len });
    }
    return out;
  }

  /**
   * Read the FS3 image from flash: header, ITOC and every section (or only the info
   * sections, or with `whole` the full flash), parsed with parseFs3 (§1).
   */
  readImage(opts: ReadImageOptions = {}): FlashImage {
    const f = this.flash;
    return readFlashImage((a, n) => f.read(a, n), this.flashSize(), opts);
  }

  /** Program `bytes` at `addr` (the range must be erased), with progress. */
  writeFlash(addr: number, bytes: Uint8Array, onProgress?: ProgressFn): void {
    const f = this.flash;
    checkRange('write', addr, bytes.length, f.size);
    for (let done = 0; done < bytes.length; ) {
      const n = Math.min(STEP, bytes.length - done);
      f.write(addr + done, bytes.subarray(done, done + n));
      done += n;
      onProgress?.({ phase: 'write', done, total: bytes.length });
    }
  }

  /** Erase the 4 KiB sector at `addr`. */
  eraseSector(addr: number): void {
    this.flash.erase4k(addr);
  }

  /** Erase every 4 KiB sector touching [addr, addr + len), with progress. */
  eraseRange(addr: number, len: number, onProgress?: ProgressFn): void {
    const f = this.flash;
    const first = addr - (addr % f.sectorSize);
    const end = addr + len;
    const total = Math.ceil((end - first) / f.sectorSize);
    let done = 0;
    for (let a = first; a < end; a += f.sectorSize) {
      f.erase4k(a);
      onProgress?.({ phase: 'erase', done: ++done, total });
    }
  }

  /** Release the flash-programming semaphore / gateway session (the next write takes it again). */
  endFlashSession(): void {
    if (this.flashAccess instanceof FwFlashAccess) this.flashAccess.endWriteSession();
  }

  // ---- registers for the burn flows ------------------------------------------------------

  mcqs(componentIndex = 0, deviceIndex = 0): Mcqs {
    return this.regs.get(MCQS, { componentIndex, deviceIndex });
  }

  mcqi(componentIndex = 0, infoType: number = McqiInfoType.CAPABILITIES, offset = 0, dataSize = 0x7c): Mcqi {
    return this.regs.get(MCQI, { componentIndex, infoType, offset, dataSize });
  }

  /** MCC GET (the kernel locks the FSM by reading with handle 0 first, §8). */
  mccQuery(fields: Partial<Mcc> = {}): Mcc {
    return this.regs.get(MCC, fields);
  }

  /** MCC SET: an FSM instruction (§3.2). */
  mcc(fields: Partial<Mcc> & { instruction: number }): Mcc {
    return this.regs.set(MCC, fields);
  }

  /** MCDA SET: one block (≤ 128 B, LE data dwords) of the component at `offset` (§3.3). */
  mcda(updateHandle: number, offset: number, data: Uint8Array): void {
    this.regs.set(MCDA, { updateHandle, offset, size: data.length, data });
  }

  mfaiQuery(): Mfai {
    return this.regs.get(MFAI, {});
  }

  /** MFAI SET (§2.3 step 4: {address = new_start, use_address = 1}). */
  mfai(fields: Partial<Mfai> & { address: number }): Mfai {
    return this.regs.set(MFAI, { useAddress: true, ...fields });
  }

  /** MFRL GET: the mask of supported reset levels (§8: read first). */
  mfrlLevels(): number {
    return this.regs.get(MFRL, {}).resetLevel;
  }

  /** MFRL SET: request reset level `level` (0x40 = warm boot, §4.3). */
  mfrl(level: number): void {
    this.regs.set(MFRL, { resetLevel: level });
  }

  /** §2.3 step 4 CR path: boot address and reset-flash-on-warm-reboot. */
  setCrBootAddress(newStart: number): void {
    this.ensureOpen();
    writeCrBootAddress(this.access, newStart);
  }

  // ---- semaphores (§5.3) ------------------------------------------------------------------

  /**
   * The ICMD (space 0xA offset 0) and flash-programming (0x10) semaphores, probed: each is
   * taken and released at once, with the usual tries. Empty without ICMD (then neither is used).
   */
  semaphores(): PidSemaphoreState[] {
    this.ensureOpen();
    if (!this.hasIcmd) return [];
    const base = { clock: this.clock, ...(this.opts.ownerId !== undefined ? { ownerId: this.opts.ownerId } : {}) };
    const icmdTries = this.opts.icmd?.semaphoreTries;
    const flashTries = this.opts.flash?.semaphoreTries;
    return [
      probePidSemaphore(this.access, ICMD_SEMAPHORE, { ...base, ...(icmdTries !== undefined ? { tries: icmdTries } : {}) }),
      probePidSemaphore(this.access, FLASH_SEMAPHORE, { ...base, ...(flashTries !== undefined ? { tries: flashTries } : {}) }),
    ];
  }

  /** Write 0 to a semaphore whoever holds it (only on request: mstflint's -clear_semaphore). */
  clearSemaphore(label: string): { before: number; after: number } {
    this.ensureOpen();
    const spec = [ICMD_SEMAPHORE, FLASH_SEMAPHORE].find((s) => s.label === label);
    if (!spec) throw new Fs3BurnError('INTERNAL', `no semaphore named ${label}`);
    return clearPidSemaphore(this.access, spec);
  }

  // ---- bookkeeping ----------------------------------------------------------------------

  stats(): DeviceStats {
    return structuredClone({
      config: this.parts.configCounts ?? { reads: 0, writes: 0 },
      vsec: this.parts.vsecStats ?? emptyVsecStats(),
      icmd: this.parts.icmd?.stats ?? emptyIcmdStats(),
      registers: this.parts.regs?.stats ?? { accesses: {}, busyRetries: 0, failures: 0 },
      flash: this.flashStats,
    });
  }

  /** Release every semaphore held and close the transport. Closing twice is harmless. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.flashAccess?.close();
    } finally {
      this.access.close();
    }
  }
}
