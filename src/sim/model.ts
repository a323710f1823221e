/**
 * The simulated ConnectX-4 Lx: PCI configuration space with its capability list and the
 * functional VSEC (§5.2–§5.3), the address spaces behind it (CR, ICMD, semaphores), the
 * firmware (firmware.ts), the flash gateway (gateway.ts), the flash (flash.ts), boot and
 * reset, power cuts, seeded faults and the time model.
 *
 * A SimModel is a plain synchronous object with no globals and no I/O: every method runs to
 * completion, so the same model can sit behind an in-process transport, a state file or a
 * socket server. Persistence lives in state.ts; the transport in device.ts.
 */
import { Fs3BurnError } from '../errors.js';
import { getU32, hex, mix32, putU32 } from './bits.js';
import {
  CACHE_REP_A_RUNNING,
  CACHE_REP_B_RUNNING,
  CAP_ID_MSIX,
  CAP_ID_PCIE,
  CAP_ID_PM,
  CAP_ID_VPD,
  CAP_ID_VSEC,
  CAP_MSIX,
  CAP_PCIE,
  CAP_PM,
  CAP_PTR_OFFSET,
  CAP_VPD,
  CONFIG_SPACE_SIZE,
  CR_BOOT_ADDR,
  CR_CACHE_REP_A,
  CR_CACHE_REP_B,
  CR_GW_ADDR,
  CR_GW_CACHE_REP_EN,
  CR_GW_CMD,
  CR_GW_DATA0,
  CR_GW_DATA3,
  CR_HW_ID,
  CR_ICMD_READY,
  CR_RESET_FLASH_ON_WARM,
  CR_SPACE_SIZE,
  ICMD_BUSY,
  ICMD_CTRL,
  ICMD_MAILBOX,
  ICMD_MAX_MAILBOX_ADDR,
  ICMD_OPCODE_REG_ACCESS,
  ICMD_SYNDROME,
  IMAGE_STARTS,
  IcmdStatus,
  LEGACY_GW_ADDR,
  LEGACY_GW_DATA,
  PCI_CLASS_ETHERNET,
  PCI_VENDOR_MELLANOX,
  PAGE_SIZE,
  REG_NAMES,
  SEM_SPACE_SIZE,
  Space,
  VSEC_ADDR,
  VSEC_ADDR_FLAG,
  VSEC_ADDR_MASK,
  VSEC_ADDR_SYNDROME,
  VSEC_BASE,
  VSEC_COUNTER,
  VSEC_CTRL,
  VSEC_DATA,
  VSEC_LENGTH,
  VSEC_SEMAPHORE,
  VSEC_SYNDROME_ADDR_RANGE,
} from './constants.js';
import { FaultPlan, type FaultContext, type FaultKind, type FaultSpec, type Firing, type FiredFault } from './faults.js';
import { SpiFlash, type FlashCounters } from './flash.js';
import { Firmware, freshFwState, type FlashOpResult, type FwHost, type FwState, type RunningFw } from './firmware.js';
import { probeImage, sourceOf } from './fs3-reader.js';
import { FlashGateway, freshGatewayState, type FlashPort, type GatewayCounters, type GatewayState } from './gateway.js';
import { resolveKnobs, type Knobs } from './knobs.js';
import { PERSONALITIES, personalityForVersion, versionString, type Personality } from './personality.js';
import { TimeLedger, resolveTimeModel, type TimeKind, type TimeModel } from './time.js';

export type { RunningFw } from './firmware.js';

export interface SimModelOptions {
  /** The card's nominal personality: what it is when no image runs, and the fallback table entry. */
  personality: Personality;
  /** Extra personalities, matched before the built-in ones. */
  personalities?: readonly Personality[];
  /** Initial flash contents (shorter than the flash: the rest is erased). */
  flash?: Uint8Array;
  knobs?: Partial<Knobs>;
  timeModel?: Partial<TimeModel>;
  faults?: readonly (FaultSpec | string)[];
  seed?: number;
}

export type ResetKind = 'warm' | 'cold';

/** Everything of the card that is not flash and that a state file keeps. */
export interface VolatileState {
  dead: boolean;
  /** Power was lost since the last reset: volatile boot requests are gone. */
  powerLost: boolean;
  running: RunningFw | null;
  config: number[]; // writable config dwords by offset (sparse: [offset, value] pairs flattened)
  vsec: {
    space: number;
    syndromeCode: number;
    counter: number;
    sem: number;
    semByOther: boolean;
    addr: number;
    flag: number;
    addrSyndrome: boolean;
    data: number;
    flagReadsLeft: number;
    pendingData: number | null;
  };
  legacyAddr: number;
  cr: { bootAddr: number; resetFlashOnWarm: number; scratch: [number, number][] };
  gateway: GatewayState;
  icmd: {
    opcode: number;
    exmb: number;
    status: number;
    busy: boolean;
    stuck: boolean;
    hung: boolean;
    busyReads: number;
    otherBusyReads: number;
    syndrome: number;
    mailbox: Uint8Array;
    mailboxDirty: boolean;
    ifcChecked: boolean;
  };
  sems: number[];
  semsByOther: boolean[];
  fw: FwState;
}

export interface SimStats {
  config: { reads: number; writes: number };
  vsec: {
    reads: number;
    writes: number;
    spaceSelects: number;
    unlockedAccesses: number;
    syndromes: number;
    semTakes: number;
    semContended: number;
  };
  legacyGateway: { reads: number; writes: number };
  icmd: {
    commands: number;
    byOpcode: Record<string, number>;
    byRegister: Record<string, { get: number; set: number }>;
    failures: number;
    regFailures: number;
    withoutSemaphore: number;
    lost: number;
    hung: number;
  };
  semaphores: { takes: number; contended: number };
  flash: FlashCounters;
  gateway: GatewayCounters;
  resets: number;
  powerCuts: number;
  faultsFired: number;
  time: Record<TimeKind, number> & { total: number };
}

function configBase(): Uint8Array {
  return new Uint8Array(CONFIG_SPACE_SIZE);
}

/** Writable bits of config dwords (everything else is read-only). Model choice; §5 needs none of it. */
const CONFIG_WRITE_MASK: Record<number, number> = {
  0x04: 0x000007ff, // command
  0x0c: 0x000000ff, // cache line size
  0x10: 0xfe000000, // BAR0: 64-bit prefetchable, 32 MiB
  0x14: 0xffffffff, // BAR0 upper
  0x3c: 0x000000ff, // interrupt line
  [CAP_PM + 4]: 0x00000103, // PM control: power state, PME enable
  [CAP_VPD]: 0xffff0000, // VPD address + flag
  [CAP_VPD + 4]: 0xffffffff, // VPD data
  [CAP_PCIE + 8]: 0x0000ffff, // device control
  [CAP_PCIE + 0x10]: 0x0000ffff, // link control
  [CAP_MSIX]: 0xc0000000, // MSI-X enable / function mask
};

export class SimModel implements FwHost {
  readonly flash: SpiFlash;
  readonly faults: FaultPlan;
  readonly knobs: Knobs;
  readonly timeModel: TimeModel;
  readonly seed: number;
  readonly nominal: Personality;
  private readonly table: readonly Personality[];
  private readonly ledger = new TimeLedger();
  private readonly cfg = configBase();
  private s!: VolatileState;
  private fw!: Firmware;
  private gw!: FlashGateway;
  private current!: Personality;
  private readonly counters = {
    config: { reads: 0, writes: 0 },
    vsec: { reads: 0, writes: 0, spaceSelects: 0, unlockedAccesses: 0, syndromes: 0, semTakes: 0, semContended: 0 },
    legacyGateway: { reads: 0, writes: 0 },
    icmd: {
      commands: 0,
      byOpcode: {} as Record<string, number>,
      byRegister: {} as Record<string, { get: number; set: number }>,
      failures: 0,
      regFailures: 0,
      withoutSemaphore: 0,
      lost: 0,
      hung: 0,
    },
    semaphores: { takes: 0, contended: 0 },
    resets: 0,
    powerCuts: 0,
  };
  private gatewayCounters: GatewayCounters | undefined;
  /** Set on any change a state file must keep; cleared by markSaved(). */
  dirty = false;
  /** Called after reset() (and by the device after a mutating session) to persist the card. */
  onPersist: (() => void) | undefined;

  constructor(opts: SimModelOptions) {
    try {
      this.knobs = resolveKnobs(opts.knobs);
      this.timeModel = resolveTimeModel(opts.timeModel);
    } catch (e) {
      throw new Fs3BurnError('SIM_BAD_OPTIONS', (e as Error).message);
    }
    this.seed = (opts.seed ?? 1) >>> 0;
    this.nominal = opts.personality;
    this.table = [opts.personality, ...(opts.personalities ?? []), ...PERSONALITIES];
    try {
      this.flash = new SpiFlash(this.knobs.jedecId, opts.flash);
    } catch (e) {
      throw new Fs3BurnError('SIM_BAD_OPTIONS', (e as Error).message);
    }
    this.flash.writeProtected = this.knobs.writeProtect;
    this.faults = new FaultPlan(this.seed, opts.faults ?? []);
    this.buildConfigHeader();
    this.powerOn(false);
  }

  // =========================================================================================
  // Public surface
  // =========================================================================================

  /** The personality of the FW that runs (the nominal one when none runs). */
  get personality(): Personality {
    return this.current;
  }

  /** The image that runs now, or null: not bootable / no FW. */
  get running(): RunningFw | null {
    return this.s.running;
  }

  /** Power is off (after a power cut): config reads return 0xFFFFFFFF until reset(). */
  get dead(): boolean {
    return this.s.dead;
  }

  /** Every erase or program operation that reached the flash chip (done or refused). */
  get writesToFlash(): number {
    return this.flash.counters.writeOps;
  }

  get fired(): readonly FiredFault[] {
    return this.faults.fired;
  }

  /** The ICMD interface is hung (14.14 after a warm-boot request, or a busy-stuck fault). */
  get icmdHung(): boolean {
    return this.s.icmd.hung || this.s.icmd.stuck;
  }

  /** The FSM state (§3.2) — for tests and reports. */
  get fsmState(): number {
    return this.s.fw.fsm.state;
  }

  /** Modelled time so far, µs. */
  get nowUs(): number {
    return this.ledger.nowUs;
  }

  stats(): SimStats {
    const c = this.counters;
    const g = this.gatewayCounters!;
    return structuredClone({
      config: c.config,
      vsec: c.vsec,
      legacyGateway: c.legacyGateway,
      icmd: c.icmd,
      semaphores: c.semaphores,
      flash: this.flash.counters,
      gateway: g,
      resets: c.resets,
      powerCuts: c.powerCuts,
      faultsFired: this.faults.fired.length,
      time: this.ledger.snapshot(),
    });
  }

  /**
   * Reset the card: warm (a warm reboot / mlxfwreset: honours a boot address requested
   * through MFAI or the CR path, §2.3 step 4) or cold (a power cycle: only the probe order of
   * §1.2). Power returns if it was cut. Runs the boot search and picks the running FW.
   */
  reset(kind: ResetKind = 'warm'): void {
    this.counters.resets++;
    this.charge('reset', this.timeModel.resetUs);
    this.powerOn(kind === 'warm' && !this.s.powerLost);
    this.dirty = true;
    this.onPersist?.();
  }

  /**
   * Cut the power now (§ fault plans): the card stops answering (config reads return
   * 0xFFFFFFFF like a dead PCI function), the flash keeps what it has, everything volatile
   * is lost. reset() powers it on again.
   */
  powerCut(): void {
    if (this.s.dead) return;
    this.s.dead = true;
    this.s.powerLost = true;
    this.counters.powerCuts++;
    this.dirty = true;
  }

  /** Read a config dword (the transport's read32). */
  configRead(off: number): number {
    this.checkOffset(off);
    this.counters.config.reads++;
    this.ledger.chargeConfig(this.timeModel.configAccessUs);
    if (this.s.dead) return 0xffffffff;
    const f = !this.faults.watches('config-read') ? undefined : this.fault({ op: 'config-read', addr: off });
    if (f?.effect.kind === 'power-cut') {
      this.powerCut();
      return 0xffffffff;
    }
    let v = this.readConfig(off) >>> 0;
    if (f?.effect.kind === 'bit-flip') v = (v ^ (1 << (f.effect.bit ?? f.rng.int(32)))) >>> 0;
    return v;
  }

  /** Write a config dword (the transport's write32). */
  configWrite(off: number, value: number): void {
    this.checkOffset(off);
    if (!Number.isInteger(value) || value < -0x80000000 || value > 0xffffffff) {
      throw new Fs3BurnError('SIM_BAD_ACCESS', `config write of ${value} at ${hex(off)}: not a 32-bit value`);
    }
    this.counters.config.writes++;
    this.ledger.chargeConfig(this.timeModel.configAccessUs);
    if (this.s.dead) return;
    this.dirty = true;
    const f = !this.faults.watches('config-write') ? undefined : this.fault({ op: 'config-write', addr: off });
    if (f?.effect.kind === 'power-cut') {
      this.powerCut();
      return;
    }
    if (f?.effect.kind === 'write-ignored') return;
    this.writeConfig(off, value >>> 0);
  }

  // =========================================================================================
  // Power-on and boot (§1.2–§1.4, §2.3 step 4, §4.1, §7)
  // =========================================================================================

  private powerOn(honourBootRequests: boolean): void {
    const prev = this.s;
    const fwPrev = prev?.fw;
    const candidates: { addr: number; via: RunningFw['bootedVia'] }[] = [];
    if (fwPrev?.mfai?.useAddress && (honourBootRequests || fwPrev.mfai.permanent)) candidates.push({ addr: fwPrev.mfai.address, via: 'mfai' });
    if (fwPrev?.activatedStart !== null && fwPrev?.activatedStart !== undefined && honourBootRequests) {
      candidates.push({ addr: fwPrev.activatedStart, via: 'activation' });
    }
    if (prev && honourBootRequests && prev.cr.resetFlashOnWarm & 0x2) candidates.push({ addr: prev.cr.bootAddr >>> 8, via: 'cr' });
    for (const a of IMAGE_STARTS) candidates.push({ addr: a, via: 'search' });
    let running: RunningFw | null = null;
    if (!this.knobs.livefish) {
      const src = sourceOf(this.flash.data);
      for (const c of candidates) {
        if (c.addr >= this.flash.size) continue;
        const p = probeImage(src, c.addr);
        if (!p.ok) continue;
        const v = p.image.version;
        running = {
          start: c.addr,
          version: [v[0], v[1], v[2]],
          versionString: versionString(v),
          chunkLog2: p.image.chunkLog2,
          psid: p.image.psid,
          bootedVia: c.via,
        };
        break;
      }
    }
    this.current = running ? personalityForVersion(running.version, this.table) : this.nominal;
    const keepMfai = fwPrev?.mfai?.permanent ? fwPrev.mfai : null;
    const fw = freshFwState(this.seed);
    fw.mfai = keepMfai;
    this.s = {
      dead: false,
      powerLost: false,
      running,
      config: prev?.config ?? [],
      vsec: {
        space: 0,
        syndromeCode: 0,
        counter: (prev?.vsec.counter ?? mix32(this.seed) % 0x10000) || 1,
        sem: 0,
        semByOther: false,
        addr: 0,
        flag: 0,
        addrSyndrome: false,
        data: 0,
        flagReadsLeft: 0,
        pendingData: null,
      },
      legacyAddr: 0,
      cr: { bootAddr: running ? running.start << 8 : 0, resetFlashOnWarm: 0, scratch: [] },
      gateway: freshGatewayState(running ? 1 : 0),
      icmd: {
        opcode: 0,
        exmb: 0,
        status: 0,
        busy: false,
        stuck: false,
        hung: false,
        busyReads: 0,
        otherBusyReads: 0,
        syndrome: 0,
        mailbox: new Uint8Array(this.current.icmdMailboxSize),
        mailboxDirty: false,
        ifcChecked: false,
      },
      sems: new Array(SEM_SPACE_SIZE / 4).fill(0),
      semsByOther: new Array(SEM_SPACE_SIZE / 4).fill(false),
      fw,
    };
    this.attach();
  }

  /** (Re)build the helpers around `this.s` (after power-on or a state restore). */
  private attach(): void {
    this.fw = new Firmware(this, this.s.fw);
    const model = this;
    const port: FlashPort = {
      get jedecId() {
        return model.flash.jedecId;
      },
      get size() {
        return model.flash.size;
      },
      get statusRegister() {
        return model.flash.statusRegister;
      },
      set statusRegister(v: number) {
        model.flash.statusRegister = v;
      },
      read: (a, n) => this.flashRead(a, n),
      erase: (a, n) => void this.flashErase(a, n),
      programPage: (a, b) => void this.flashOp('program', a, b),
      writeStatus: (v) => {
        this.flash.counters.writeOps++;
        this.flash.statusRegister = v & 0xfc;
        this.charge('program', this.timeModel.writeStatusUs);
        this.dirty = true;
      },
      get wipPolls() {
        return model.knobs.spiWipPolls;
      },
      get busyPolls() {
        return model.knobs.gatewayBusyPolls;
      },
      transactionStuck: (addr) => {
        if (!this.faults.watches('gateway')) return false;
        const f = this.fault({ op: 'gateway', addr }, ['busy-stuck', 'power-cut']);
        if (f?.effect.kind === 'power-cut') this.powerCut();
        return f?.effect.kind === 'busy-stuck';
      },
      lockHeldByOther: () => this.faults.watches('gateway-lock') && this.fault({ op: 'gateway-lock' }, ['sem-held']) !== undefined,
    };
    const counters = this.gatewayCounters;
    this.gw = new FlashGateway(port, this.s.gateway, () => this.s.running !== null && (this.s.gateway.cacheRepEnable & 1) === 1);
    if (counters) Object.assign(this.gw.counters, counters);
    this.gatewayCounters = this.gw.counters;
  }

  // =========================================================================================
  // FwHost: what the firmware uses
  // =========================================================================================

  get flashSize(): number {
    return this.flash.size;
  }
  get jedecId(): number {
    return this.flash.jedecId;
  }
  get writeProtected(): boolean {
    return this.flash.writeProtected;
  }
  get gatewayHeldByHost(): boolean {
    return this.gw.heldByHost;
  }
  get flashData(): Uint8Array {
    return this.flash.data;
  }

  charge(kind: TimeKind, us: number): void {
    this.ledger.charge(kind, us);
  }

  private fault(ctx: FaultContext, kinds?: readonly FaultKind[]): Firing | undefined {
    return this.faults.check(ctx, kinds);
  }

  flashRead(addr: number, len: number): Uint8Array {
    const out = this.flash.read(addr, len);
    this.charge('read', len * this.timeModel.flashReadPerByteUs);
    if (this.faults.watches('flash-read')) {
      const f = this.fault({ op: 'flash-read', addr }, ['bit-flip', 'power-cut']);
      if (f?.effect.kind === 'bit-flip' && out.length > 0) {
        // bit N counts from the first byte read: byte N>>3, bit N&7
        const bit = f.effect.bit ?? f.rng.int(out.length * 8);
        out[Math.min(bit >>> 3, out.length - 1)]! ^= 1 << (bit & 7);
      }
      if (f?.effect.kind === 'power-cut') this.powerCut();
    }
    return out;
  }

  flashErase(addr: number, size: number): FlashOpResult {
    return this.flashOp('erase', addr, size);
  }

  /** Program `bytes` at `addr`, page by page (the FW's way). */
  flashProgram(addr: number, bytes: Uint8Array): FlashOpResult {
    let i = 0;
    while (i < bytes.length) {
      const a = addr + i;
      const n = Math.min(PAGE_SIZE - (a % PAGE_SIZE), bytes.length - i);
      const r = this.flashOp('program', a, bytes.subarray(i, i + n));
      if (r !== 'ok') return r;
      i += n;
    }
    return 'ok';
  }

  /**
   * One erase or page program, wherever it comes from (gateway, MFBA/MFBE, FSM activation):
   * write protection, faults (write-ignored, power-cut after the n-th operation, optionally
   * half done), time.
   */
  private flashOp(kind: 'erase' | 'program', addr: number, arg: number | Uint8Array): FlashOpResult {
    if (this.s.dead) return 'cut';
    this.dirty = true;
    const size = typeof arg === 'number' ? arg : 0;
    const bytes = typeof arg === 'number' ? new Uint8Array(0) : arg;
    const timeUs =
      kind === 'program'
        ? this.timeModel.pageProgramUs
        : size === 0x1000
          ? this.timeModel.erase4kUs
          : size === 0x8000
            ? this.timeModel.erase32kUs
            : size === 0x10000
              ? this.timeModel.erase64kUs
              : this.timeModel.chipEraseUs;
    if (this.flash.writeProtected) {
      // refused by the chip: counted, nothing changes
      if (kind === 'erase') this.flash.erase(addr, size);
      else this.flash.programPage(addr, bytes);
      return 'wp';
    }
    const f = !this.faults.watches(kind === 'erase' ? 'flash-erase' : 'flash-program') ? undefined : this.fault({ op: kind === 'erase' ? 'flash-erase' : 'flash-program', addr }, ['write-ignored', 'power-cut']);
    if (f?.effect.kind === 'write-ignored') {
      this.charge(kind, timeUs);
      return 'ok';
    }
    let fraction = 1;
    if (f?.effect.kind === 'power-cut' && f.effect.half) fraction = 0.25 + f.rng.next() * 0.5;
    if (kind === 'erase') this.flash.erase(addr, size, fraction);
    else this.flash.programPage(addr, bytes, Math.floor(bytes.length * fraction));
    this.charge(kind, timeUs * fraction);
    if (f?.effect.kind === 'power-cut') {
      this.powerCut();
      return 'cut';
    }
    return 'ok';
  }

  // =========================================================================================
  // Config space (§5.1, §5.2)
  // =========================================================================================

  private checkOffset(off: number): void {
    if (!Number.isInteger(off) || off < 0 || off % 4 !== 0 || off + 4 > CONFIG_SPACE_SIZE) {
      throw new Fs3BurnError('SIM_BAD_ACCESS', `config access at ${typeof off === 'number' ? hex(off) : String(off)}: offsets are 4-byte aligned in [0, ${hex(CONFIG_SPACE_SIZE)})`, {
        data: { offset: off },
      });
    }
  }

  private buildConfigHeader(): void {
    const put = (off: number, v: number) => {
      const c = this.cfg;
      c[off] = v & 0xff;
      c[off + 1] = (v >>> 8) & 0xff;
      c[off + 2] = (v >>> 16) & 0xff;
      c[off + 3] = (v >>> 24) & 0xff;
    };
    put(0x04, 0x00100006); // status: capabilities list; command: memory + bus master
    put(0x08, (PCI_CLASS_ETHERNET << 8) | 0x00);
    put(0x0c, 0x00800000); // multi-function (2 ports)
    put(0x10, 0x0000000c); // BAR0: 64-bit prefetchable memory
    put(0x2c, (0x0001 << 16) | PCI_VENDOR_MELLANOX);
    put(CAP_PTR_OFFSET, CAP_PCIE);
    put(0x3c, 0x00000100); // INTA
    // capability chain: PCIe → VPD → MSI-X → functional VSEC → PM (§5.2 walks it for ID 0x09)
    put(CAP_PCIE, CAP_ID_PCIE | (CAP_VPD << 8) | (0x0002 << 16));
    put(CAP_PCIE + 4, 0x10008fe2);
    put(CAP_PCIE + 0x0c, 0x0043f483); // link capabilities: 8 GT/s x8
    put(CAP_PCIE + 0x10, 0x10830000); // link status: 8 GT/s x8
    put(CAP_VPD, CAP_ID_VPD | (CAP_MSIX << 8));
    put(CAP_MSIX, CAP_ID_MSIX | (VSEC_BASE << 8) | (0x003f << 16));
    put(CAP_MSIX + 4, 0x00002000);
    put(CAP_MSIX + 8, 0x00003000);
    put(VSEC_BASE, CAP_ID_VSEC | (CAP_PM << 8) | (VSEC_LENGTH << 16) | (0 << 24)); // VSC type 0 = functional
    put(CAP_PM, CAP_ID_PM | (0x00 << 8) | (0x0003 << 16));
  }

  private cfgDword(off: number): number {
    const c = this.cfg;
    return (c[off]! | (c[off + 1]! << 8) | (c[off + 2]! << 16) | (c[off + 3]! << 24)) >>> 0;
  }

  private readConfig(off: number): number {
    if (off === 0x00) {
      // §7: in livefish / no FW the PCI device id equals the HW id
      const dev = this.s.running ? this.current.device.pciDeviceId : this.current.device.livefishDeviceId;
      return ((dev << 16) | PCI_VENDOR_MELLANOX) >>> 0;
    }
    if (off === LEGACY_GW_ADDR) return this.s.legacyAddr;
    if (off === LEGACY_GW_DATA) {
      this.counters.legacyGateway.reads++;
      return this.crRead(this.s.legacyAddr & VSEC_ADDR_MASK) ?? 0;
    }
    if (off >= VSEC_BASE && off < VSEC_BASE + VSEC_LENGTH) return this.vsecRead(off - VSEC_BASE);
    const stored = this.storedConfig(off);
    return ((this.cfgDword(off) & ~(CONFIG_WRITE_MASK[off] ?? 0)) | (stored & (CONFIG_WRITE_MASK[off] ?? 0))) >>> 0;
  }

  private storedConfig(off: number): number {
    const a = this.s.config;
    for (let i = 0; i < a.length; i += 2) if (a[i] === off) return a[i + 1]!;
    return this.cfgDword(off);
  }

  private writeConfig(off: number, v: number): void {
    if (off === LEGACY_GW_ADDR) {
      this.s.legacyAddr = v;
      return;
    }
    if (off === LEGACY_GW_DATA) {
      this.counters.legacyGateway.writes++;
      this.crWrite(this.s.legacyAddr & VSEC_ADDR_MASK, v);
      return;
    }
    if (off >= VSEC_BASE && off < VSEC_BASE + VSEC_LENGTH) {
      this.vsecWrite(off - VSEC_BASE, v);
      return;
    }
    const mask = CONFIG_WRITE_MASK[off];
    if (!mask) return; // read-only
    const a = this.s.config;
    for (let i = 0; i < a.length; i += 2) {
      if (a[i] === off) {
        a[i + 1] = v & mask;
        return;
      }
    }
    a.push(off, v & mask);
  }

  // =========================================================================================
  // Functional VSEC (§5.2, §5.3)
  // =========================================================================================

  private spaceSupported(space: number): boolean {
    return this.knobs.supportedSpaces.includes(space);
  }

  /** The VSEC semaphore is held by a client (not free, not held by a fault's other owner). */
  private get vsecLocked(): boolean {
    return this.s.vsec.sem !== 0 && !this.s.vsec.semByOther;
  }

  private vsecRead(r: number): number {
    const v = this.s.vsec;
    switch (r) {
      case 0:
        return this.cfgDword(VSEC_BASE);
      case VSEC_CTRL:
        return ((v.space & 0xffff) | (this.spaceSupported(v.space) ? 1 << 29 : 0) | ((v.syndromeCode & 0xf) << 24)) >>> 0;
      case VSEC_COUNTER: {
        const t = v.counter;
        v.counter = (v.counter + 1) >>> 0 || 1; // a ticket is never 0 (0 means free)
        this.dirty = true;
        return t;
      }
      case VSEC_SEMAPHORE: {
        if (v.sem !== 0 && !v.semByOther) return v.sem;
        // an attempt to find the semaphore free (§5.3 step 1)
        const f = !this.faults.watches('sem-vsec') ? undefined : this.fault({ op: 'sem-vsec' }, ['sem-held']);
        if (f?.effect.kind === 'sem-held') {
          v.sem = f.effect.owner;
          v.semByOther = true;
          this.counters.vsec.semContended++;
          return v.sem;
        }
        if (v.semByOther) {
          v.sem = 0;
          v.semByOther = false;
        }
        return v.sem;
      }
      case VSEC_ADDR: {
        if (v.flagReadsLeft > 0) {
          v.flagReadsLeft--;
          // still in progress: the flag keeps the value the client wrote
          return ((v.addr & VSEC_ADDR_MASK) | ((v.flag ^ 1) << 31) | (v.addrSyndrome ? VSEC_ADDR_SYNDROME : 0)) >>> 0;
        }
        if (v.pendingData !== null) {
          v.data = v.pendingData;
          v.pendingData = null;
        }
        return ((v.addr & VSEC_ADDR_MASK) | (v.flag << 31) | (v.addrSyndrome ? VSEC_ADDR_SYNDROME : 0)) >>> 0;
      }
      case VSEC_DATA:
        return v.data >>> 0;
      default:
        return 0;
    }
  }

  private vsecWrite(r: number, val: number): void {
    const v = this.s.vsec;
    switch (r) {
      case VSEC_CTRL: {
        this.counters.vsec.spaceSelects++;
        if (!this.vsecLocked) this.counters.vsec.unlockedAccesses++;
        let space = val & 0xffff;
        // §4.6 / PR #1047: the FW ignores the MSB of the space (0x102 reads back 0x002)
        if (this.knobs.vsecIgnoresSpaceMsb) space &= 0xff;
        v.space = space;
        return;
      }
      case VSEC_SEMAPHORE:
        if (val === 0) {
          if (!v.semByOther) v.sem = 0;
          return;
        }
        if (v.sem === 0) {
          v.sem = val;
          this.counters.vsec.semTakes++;
        }
        return;
      case VSEC_DATA:
        v.data = val;
        return;
      case VSEC_ADDR:
        this.vsecAddrWrite(val);
        return;
      default:
        return;
    }
  }

  /** §5.3: FLAG set → write DATA then clear FLAG; FLAG clear → read into DATA then set FLAG. */
  private vsecAddrWrite(val: number): void {
    const v = this.s.vsec;
    const isWrite = (val & VSEC_ADDR_FLAG) !== 0;
    const addr = val & VSEC_ADDR_MASK;
    v.addr = addr;
    v.flag = isWrite ? 0 : 1;
    v.flagReadsLeft = this.knobs.vsecFlagLatency;
    v.pendingData = null;
    let ok: boolean;
    if (!this.vsecLocked) this.counters.vsec.unlockedAccesses++;
    if (!this.vsecLocked && this.knobs.vsecUnlockedAccess === 'reject') {
      ok = false;
    } else if (isWrite) {
      this.counters.vsec.writes++;
      ok = this.spaceWrite(v.space, addr, v.data);
    } else {
      this.counters.vsec.reads++;
      const value = this.spaceRead(v.space, addr);
      ok = value !== undefined;
      if (v.flagReadsLeft > 0) v.pendingData = value ?? 0;
      else v.data = value ?? 0;
    }
    v.addrSyndrome = !ok;
    v.syndromeCode = ok ? 0 : VSEC_SYNDROME_ADDR_RANGE;
    if (!ok) this.counters.vsec.syndromes++;
  }

  /** A dword read in address space `space`; undefined = not supported / out of range. */
  private spaceRead(space: number, addr: number): number | undefined {
    if (!this.spaceSupported(space)) return undefined;
    switch (space) {
      case Space.CR:
        return this.crRead(addr);
      case Space.ICMD:
      case Space.ICMD_EXT: // model: ICMD_EXT is the same window as ICMD
        return this.icmdRead(addr);
      case Space.SEMAPHORE:
        return this.semRead(addr);
      default:
        return 0;
    }
  }

  private spaceWrite(space: number, addr: number, val: number): boolean {
    if (!this.spaceSupported(space)) return false;
    switch (space) {
      case Space.CR:
        return this.crWrite(addr, val);
      case Space.ICMD:
      case Space.ICMD_EXT:
        return this.icmdWrite(addr, val);
      case Space.SEMAPHORE:
        return this.semWrite(addr, val);
      default:
        return true;
    }
  }

  // =========================================================================================
  // CR space (§4.1, §4.2, §6.1, §2.3, §7)
  // =========================================================================================

  private crRead(addr: number): number | undefined {
    if (addr >= CR_SPACE_SIZE) return undefined;
    const a = addr & ~3;
    const fwRuns = this.s.running !== null;
    switch (a) {
      case CR_HW_ID: // §7
        return ((this.current.device.hwRev << 16) | this.current.device.hwId) >>> 0;
      case CR_CACHE_REP_A: // §4.1: non-zero while FW runs from flash
        return fwRuns ? CACHE_REP_A_RUNNING : 0;
      case CR_CACHE_REP_B:
        return fwRuns ? CACHE_REP_B_RUNNING : 0;
      case CR_ICMD_READY: // §6.1: bit 31 = 0 when ready
        return fwRuns ? 0 : 0x80000000;
      case CR_BOOT_ADDR:
        return this.s.cr.bootAddr >>> 0;
      case CR_RESET_FLASH_ON_WARM:
        return this.s.cr.resetFlashOnWarm >>> 0;
      case CR_GW_CACHE_REP_EN:
        return this.gw.readCacheRep();
      default:
        if (a === CR_GW_CMD || a === CR_GW_ADDR || (a >= CR_GW_DATA0 && a <= CR_GW_DATA3)) {
          this.dirty = true;
          return this.gw.read(a);
        }
        for (const [k, v] of this.s.cr.scratch) if (k === a) return v;
        return 0;
    }
  }

  private crWrite(addr: number, val: number): boolean {
    if (addr >= CR_SPACE_SIZE) return false;
    const a = addr & ~3;
    switch (a) {
      case CR_HW_ID: // read-only; flint -ocr writes 0 here to trigger cache replacement (§4.1)
      case CR_CACHE_REP_A:
      case CR_CACHE_REP_B:
      case CR_ICMD_READY:
        return true;
      case CR_BOOT_ADDR: // §2.3 step 4: new_start << 8
        this.s.cr.bootAddr = val >>> 0;
        return true;
      case CR_RESET_FLASH_ON_WARM: // §2.3 step 4: bit 1
        this.s.cr.resetFlashOnWarm = val >>> 0;
        return true;
      case CR_GW_CACHE_REP_EN:
        this.gw.writeCacheRep(val);
        return true;
      default: {
        if (a === CR_GW_CMD || a === CR_GW_ADDR || (a >= CR_GW_DATA0 && a <= CR_GW_DATA3)) {
          this.gw.write(a, val);
          return true;
        }
        const sc = this.s.cr.scratch;
        const i = sc.findIndex(([k]) => k === a);
        if (i >= 0) sc[i]![1] = val >>> 0;
        else sc.push([a, val >>> 0]);
        return true;
      }
    }
  }

  // =========================================================================================
  // Semaphore space 0xA (§5.3): PID semaphores, 0x0 = ICMD, 0x10 = flash programming
  // =========================================================================================

  private semRead(addr: number): number | undefined {
    if (addr >= SEM_SPACE_SIZE) return undefined;
    return this.s.sems[addr >>> 2]! >>> 0;
  }

  private semWrite(addr: number, val: number): boolean {
    if (addr >= SEM_SPACE_SIZE) return false;
    const i = addr >>> 2;
    const s = this.s;
    if (val === 0) {
      if (!s.semsByOther[i]) s.sems[i] = 0;
      return true;
    }
    if (s.sems[i] !== 0 && !s.semsByOther[i]) return true; // held: the write does nothing
    const f = !this.faults.watches('sem') ? undefined : this.fault({ op: 'sem', addr: addr & ~3 }, ['sem-held']);
    if (f?.effect.kind === 'sem-held') {
      s.sems[i] = f.effect.owner;
      s.semsByOther[i] = true;
      this.counters.semaphores.contended++;
      return true;
    }
    s.semsByOther[i] = false;
    s.sems[i] = val >>> 0;
    this.counters.semaphores.takes++;
    return true;
  }

  // =========================================================================================
  // ICMD (§6.1–§6.3)
  // =========================================================================================

  private icmdRead(addr: number): number | undefined {
    const ic = this.s.icmd;
    const size = this.current.icmdMailboxSize;
    if (addr >= ICMD_MAILBOX + size) return undefined;
    const a = addr & ~3;
    if (a === ICMD_CTRL) return this.icmdCtrlRead();
    if (a === ICMD_MAX_MAILBOX_ADDR) return size;
    if (a === ICMD_SYNDROME) return ic.syndrome & 0xffffff;
    if (a >= ICMD_MAILBOX) return getU32(ic.mailbox, a - ICMD_MAILBOX);
    return 0;
  }

  private icmdWrite(addr: number, val: number): boolean {
    const ic = this.s.icmd;
    const size = this.current.icmdMailboxSize;
    if (addr >= ICMD_MAILBOX + size) return false;
    const a = addr & ~3;
    if (a === ICMD_CTRL) {
      this.icmdCtrlWrite(val);
      return true;
    }
    if (a >= ICMD_MAILBOX) {
      putU32(ic.mailbox, a - ICMD_MAILBOX, val);
      ic.mailboxDirty = true;
      ic.ifcChecked = false;
    }
    return true;
  }

  private icmdBusyNow(): boolean {
    const ic = this.s.icmd;
    return ic.busy || ic.stuck || ic.hung || ic.busyReads > 0 || ic.otherBusyReads > 0;
  }

  private icmdCtrlRead(): number {
    const ic = this.s.icmd;
    let busy = ic.busy || ic.stuck || ic.hung;
    if (!busy && ic.busyReads > 0) {
      ic.busyReads--;
      busy = true;
    }
    if (!busy && ic.otherBusyReads === 0 && ic.mailboxDirty && !ic.ifcChecked && this.faults.watches('icmd')) {
      // §6.2 step 5 reads ctrl after writing the mailbox: another agent may hold the interface
      ic.ifcChecked = true;
      const f = this.fault(this.icmdContext(), ['ifc-busy']);
      if (f?.effect.kind === 'ifc-busy') ic.otherBusyReads = f.effect.reads ?? 1;
    }
    if (!busy && ic.otherBusyReads > 0) {
      ic.otherBusyReads--;
      busy = true;
    }
    return (((ic.opcode & 0xffff) << 16) | ((ic.status & 0xff) << 8) | ((ic.exmb & 1) << 1) | (busy ? ICMD_BUSY : 0)) >>> 0;
  }

  private icmdContext(): FaultContext {
    const ic = this.s.icmd;
    const ctx: FaultContext = { op: 'icmd', opcode: ic.opcode };
    if (ic.opcode === ICMD_OPCODE_REG_ACCESS) {
      const p = Firmware.peekRegister(ic.mailbox);
      ctx.register = p.register;
      if (p.method) ctx.method = p.method;
    }
    return ctx;
  }

  private icmdCtrlWrite(val: number): void {
    const ic = this.s.icmd;
    if (this.icmdBusyNow()) {
      // a command is in flight (or the interface is hung): the FW does not take the write
      if (val & ICMD_BUSY) this.counters.icmd.lost++;
      return;
    }
    ic.opcode = val >>> 16;
    ic.exmb = (val >>> 1) & 1;
    if (val & ICMD_BUSY) this.icmdRun();
  }

  private icmdRun(): void {
    const ic = this.s.icmd;
    const c = this.counters.icmd;
    c.commands++;
    const opKey = hex(ic.opcode, 4);
    c.byOpcode[opKey] = (c.byOpcode[opKey] ?? 0) + 1;
    const ctx = this.icmdContext();
    if (ctx.register !== undefined) {
      const name = REG_NAMES[ctx.register] ?? hex(ctx.register, 4);
      const r = (c.byRegister[name] ??= { get: 0, set: 0 });
      if (ctx.method === 'get') r.get++;
      else if (ctx.method === 'set') r.set++;
    }
    if (this.s.sems[0] === 0 || this.s.semsByOther[0]) c.withoutSemaphore++;
    ic.mailboxDirty = false;
    ic.ifcChecked = false;
    ic.busy = true;
    if (!this.s.running) return; // no FW: nobody ever clears busy (§6.1 readiness says so first)
    const fw = this.s.fw;
    if (fw.hangArmed) {
      // §4.6 (UNVERIFIED reading): after the warm-boot request the FW never completes a command
      fw.hangArmed = false;
      ic.hung = true;
      c.hung++;
      return;
    }
    this.charge('icmd', this.timeModel.icmdCommandUs);
    const f = !this.faults.watches('icmd')
      ? undefined
      : this.fault(ctx, ['busy-stuck', 'icmd-status', 'reg-status', 'power-cut', 'write-ignored', 'fsm-error', 'bit-flip']);
    let result: { icmdStatus: number; regStatus?: number };
    switch (f?.effect.kind) {
      case 'busy-stuck':
        ic.stuck = true;
        return;
      case 'power-cut':
        this.powerCut();
        return;
      case 'icmd-status':
        result = { icmdStatus: f.effect.status };
        break;
      case 'reg-status':
        result = this.replyRegStatus(f.effect.status);
        break;
      case 'write-ignored':
        result = ctx.method === 'set' ? this.replyRegStatus(0) : this.fw.execute(ic.opcode, ic.mailbox, undefined);
        break;
      case 'bit-flip':
        // done, but one bit of the register data the client reads back is flipped
        result = this.fw.execute(ic.opcode, ic.mailbox, undefined);
        if (result.icmdStatus === 0 && ic.opcode === ICMD_OPCODE_REG_ACCESS) this.flipRegisterBit(f.effect.bit, f);
        break;
      default:
        result = this.fw.execute(ic.opcode, ic.mailbox, f);
    }
    if (this.s.dead) return; // the command cut the power (a power-cut fault on its flash write)
    ic.status = result.icmdStatus;
    ic.syndrome = result.icmdStatus === 0 ? 0 : ((ic.opcode & 0xffff) << 8) | result.icmdStatus;
    if (result.icmdStatus !== 0) c.failures++;
    if (result.regStatus) c.regFailures++;
    ic.busy = false;
    ic.busyReads = this.knobs.icmdBusyPolls;
  }

  /** Flip one bit of the register data in the mailbox: bit `bit` of its first dword, else a seeded bit of all of it. */
  private flipRegisterBit(bit: number | undefined, f: Firing): void {
    const mb = this.s.icmd.mailbox;
    const [lo, hi] = Firmware.registerData(mb);
    if (hi <= lo) return;
    if (bit !== undefined) mb[lo + 3 - (bit >>> 3)]! ^= 1 << (bit & 7);
    else {
      const b = f.rng.int((hi - lo) * 8);
      mb[lo + (b >>> 3)]! ^= 1 << (b & 7);
    }
  }

  /** Answer a register access with `status` in the operation TLV, doing nothing. */
  private replyRegStatus(status: number): { icmdStatus: number; regStatus: number } {
    const mb = this.s.icmd.mailbox;
    const dw0 = getU32(mb, 0);
    putU32(mb, 0, ((dw0 & ~(0x7f << 8)) | ((status & 0x7f) << 8)) >>> 0);
    putU32(mb, 4, (getU32(mb, 4) | 0x8000) >>> 0);
    return { icmdStatus: IcmdStatus.OK, regStatus: status };
  }

  // =========================================================================================
  // State (state.ts serialises this)
  // =========================================================================================

  /** The volatile state, for a state file. */
  exportState(): VolatileState {
    return this.s;
  }

  /** Restore the volatile state written by exportState() (the flash is restored separately). */
  importState(s: VolatileState): void {
    this.s = s;
    this.current = s.running ? personalityForVersion(s.running.version, this.table) : this.nominal;
    if (s.icmd.mailbox.length !== this.current.icmdMailboxSize) {
      const mb = new Uint8Array(this.current.icmdMailboxSize);
      mb.set(s.icmd.mailbox.subarray(0, mb.length));
      s.icmd.mailbox = mb;
    }
    this.attach();
  }

  /** A description for messages. */
  describe(): string {
    const r = this.s.running;
    return r
      ? `${this.current.device.name} running FW ${r.versionString} from ${hex(r.start)}`
      : `${this.current.device.name} with no runnable FW (livefish)`;
  }
}
