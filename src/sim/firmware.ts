/**
 * The card's firmware as far as the host can see it: register access over ICMD (§6.3) with
 * MGIR, MCAM, MFPA, MFBA, MFBE, MFRL, MFAI (§4.3, §3.1) and the FW-managed update registers
 * MCQS, MCQI, MCC, MCDA, MQIS (§3.2, §3.3). What a register does is decided here; which
 * registers exist is the personality's data.
 */
import { getU32, putU32, swap32Groups } from './bits.js';
import {
  COMPONENT_BOOT_IMG,
  FS3_MAGIC,
  FsmError,
  FsmInstruction,
  FsmState,
  IcmdStatus,
  Method,
  MFRL_WARM_BOOT,
  OP_TLV_SIZE,
  PAGE_SIZE,
  REG_DATA_OFFSET,
  Reg,
  RegStatus,
  SECTOR_SIZE,
} from './constants.js';
import type { Firing } from './faults.js';
import { checkComponent, probeImage, sourceOf, type ImageProbe } from './fs3-reader.js';
import type { Knobs } from './knobs.js';
import type { Personality } from './personality.js';
import type { TimeKind, TimeModel } from './time.js';

export type FlashOpResult = 'ok' | 'wp' | 'cut';

export interface RunningFw {
  /** Flash address of the image that runs. */
  start: number;
  version: [number, number, number];
  versionString: string;
  chunkLog2: number;
  psid: string;
  /** How the boot found it: an MFAI boot address, the slot an MCC activation wrote, the CR path, or the probe order. */
  bootedVia: 'mfai' | 'activation' | 'cr' | 'search';
}

/** What the firmware needs from the rest of the card. */
export interface FwHost {
  readonly personality: Personality;
  readonly knobs: Knobs;
  readonly timeModel: TimeModel;
  readonly running: RunningFw | null;
  readonly flashSize: number;
  readonly jedecId: number;
  readonly writeProtected: boolean;
  readonly dead: boolean;
  /** The host holds the HW flash gateway lock (§4.2). */
  readonly gatewayHeldByHost: boolean;
  /** The whole flash, for reading structure without counting (the FW's own cache). */
  readonly flashData: Uint8Array;
  flashRead(addr: number, len: number): Uint8Array;
  flashErase(addr: number, size: number): FlashOpResult;
  flashProgram(addr: number, bytes: Uint8Array): FlashOpResult;
  charge(kind: TimeKind, us: number): void;
  readonly seed: number;
}

export interface FsmData {
  state: number;
  handle: number;
  nextHandle: number;
  errorCode: number;
  componentIndex: number;
  componentSize: number;
  /** MCC queries left in a transitional state, and the state after it. */
  pollsLeft: number;
  nextState: number;
  /** Error code to report when the transitional state ends (VERIFY). */
  pendingError: number;
  verified: boolean;
  /** The downloaded component and which of its dwords arrived. */
  data: Uint8Array | null;
  covered: Uint8Array | null;
  verifyReason: string;
}

export interface FwState {
  mfai: { address: number; useAddress: boolean; useImageId: boolean; imageId: number; permanent: boolean } | null;
  /** Last reset level requested with MFRL SET (0 = none). */
  mfrlRequested: number;
  /** The next ICMD command will hang (14.14 after MFRL 0x40; §4.6 UNVERIFIED). */
  hangArmed: boolean;
  /** An MCC activation happened and waits for a reset (§8 "pending reset"). */
  pendingActivation: boolean;
  /** The slot an activation wrote, booted at the next reset. */
  activatedStart: number | null;
  fsm: FsmData;
  /** MVTS: the 16-byte timestamp set for the next FW (absent / null = none). */
  timestamp?: Uint8Array | null;
}

function firstHandle(seed: number): number {
  return ((Math.imul(seed ^ 0x5eed, 2654435761) >>> 8) & 0xffffff) || 1;
}

export function freshFsm(seed: number, nextHandle?: number): FsmData {
  return {
    state: FsmState.IDLE,
    handle: 0,
    nextHandle: nextHandle ?? firstHandle(seed),
    errorCode: 0,
    componentIndex: 0,
    componentSize: 0,
    pollsLeft: 0,
    nextState: FsmState.IDLE,
    pendingError: 0,
    verified: false,
    data: null,
    covered: null,
    verifyReason: '',
  };
}

export function freshFwState(seed: number): FwState {
  return {
    mfai: null,
    mfrlRequested: 0,
    hangArmed: false,
    pendingActivation: false,
    activatedStart: null,
    fsm: freshFsm(seed),
  };
}

/** Bounds-safe big-endian view of a register's bytes inside the mailbox. */
class RegView {
  constructor(readonly b: Uint8Array) {}
  get length(): number {
    return this.b.length;
  }
  u32(off: number): number {
    return off + 4 <= this.b.length ? getU32(this.b, off) : 0;
  }
  put32(off: number, v: number): void {
    if (off + 4 <= this.b.length) putU32(this.b, off, v >>> 0);
  }
  put8(off: number, v: number): void {
    if (off < this.b.length) this.b[off] = v & 0xff;
  }
  put16(off: number, v: number): void {
    this.put8(off, v >>> 8);
    this.put8(off + 1, v);
  }
  clear(from = 0): void {
    this.b.fill(0, Math.min(from, this.b.length));
  }
}

/** The ICMD status (ctrl bits 15:8) and, for register access, the register status. */
export interface CommandResult {
  icmdStatus: number;
  regStatus?: number;
}

export class Firmware {
  constructor(
    private readonly host: FwHost,
    public st: FwState,
  ) {}

  private warmBootHangs(): boolean {
    const k = this.host.knobs.warmBootHang;
    return k === 'on' || (k === 'personality' && this.host.personality.warmBootHang);
  }

  /** Decode the operation TLV of a register-access mailbox (§6.3), for fault matching. */
  static peekRegister(mb: Uint8Array): { register: number; method: 'get' | 'set' | undefined } {
    const dw1 = getU32(mb, 4);
    const m = (dw1 >>> 8) & 0x7f;
    return { register: dw1 >>> 16, method: m === Method.GET ? 'get' : m === Method.SET ? 'set' : undefined };
  }

  /** [start, end) of the register data in a register-access mailbox (§6.3: after the operation and register TLVs). */
  static registerData(mb: Uint8Array): readonly [number, number] {
    const regTlv = getU32(mb, OP_TLV_SIZE);
    const lenDw = (regTlv >>> 16) & 0x7ff;
    return [REG_DATA_OFFSET, REG_DATA_OFFSET + Math.max(0, Math.min(lenDw * 4 - 4, mb.length - REG_DATA_OFFSET))];
  }

  /** Execute one ICMD command whose mailbox is `mb` (§6.1–§6.3). */
  execute(opcode: number, mb: Uint8Array, firing: Firing | undefined): CommandResult {
    if (opcode !== 0x9001) return { icmdStatus: IcmdStatus.BAD_OPCODE };
    const dw0 = getU32(mb, 0);
    const dw1 = getU32(mb, 4);
    if (dw0 >>> 27 !== 1 || ((dw0 >>> 16) & 0x7ff) !== 4) return { icmdStatus: IcmdStatus.BAD_CMD };
    const finish = (status: number): CommandResult => {
      putU32(mb, 0, ((dw0 & ~(0x7f << 8)) | ((status & 0x7f) << 8)) >>> 0);
      putU32(mb, 4, (dw1 | 0x8000) >>> 0); // r: this is the response
      return { icmdStatus: IcmdStatus.OK, regStatus: status };
    };
    const regTlv = getU32(mb, OP_TLV_SIZE);
    if (regTlv >>> 27 !== 3) return finish(RegStatus.UNKNOWN_TLV);
    const lenDw = (regTlv >>> 16) & 0x7ff;
    const regSize = Math.max(0, Math.min(lenDw * 4 - 4, mb.length - REG_DATA_OFFSET));
    const reg = new RegView(mb.subarray(REG_DATA_OFFSET, REG_DATA_OFFSET + regSize));
    const id = dw1 >>> 16;
    const method = (dw1 >>> 8) & 0x7f;
    if ((dw1 & 0xff) !== 1) return finish(RegStatus.CLASS_NOT_SUPP);
    if (!this.host.personality.registers.includes(id)) return finish(RegStatus.REG_NOT_SUPP);
    if (method !== Method.GET && method !== Method.SET) return finish(RegStatus.METHOD_NOT_SUPP);
    const r = this.register(id, method, reg, firing);
    if (typeof r === 'object') return r;
    return finish(r);
  }

  private register(id: number, method: number, reg: RegView, firing: Firing | undefined): number | CommandResult {
    const get = method === Method.GET;
    switch (id) {
      case Reg.MGIR:
        return get ? this.mgir(reg) : RegStatus.METHOD_NOT_SUPP;
      case Reg.MCAM:
        return get ? this.mcam(reg) : RegStatus.METHOD_NOT_SUPP;
      case Reg.MFPA:
        return get ? this.mfpa(reg) : RegStatus.METHOD_NOT_SUPP;
      case Reg.MFBA:
        return this.mfba(get, reg);
      case Reg.MFBE:
        return get ? RegStatus.METHOD_NOT_SUPP : this.mfbe(reg);
      case Reg.MFRL:
        return this.mfrl(get, reg);
      case Reg.MFAI:
        return this.mfai(get, reg);
      case Reg.MCQS:
        return get ? this.mcqs(reg) : RegStatus.METHOD_NOT_SUPP;
      case Reg.MCQI:
        return get ? this.mcqi(reg) : RegStatus.METHOD_NOT_SUPP;
      case Reg.MQIS:
        if (!get) return RegStatus.METHOD_NOT_SUPP;
        reg.clear(8); // model: no info strings to report
        return RegStatus.OK;
      case Reg.MCC:
        return this.mcc(get, reg, firing);
      case Reg.MCDA:
        return get ? RegStatus.METHOD_NOT_SUPP : this.mcda(reg);
      case Reg.MVTS:
        return this.mvts(get, reg);
      case Reg.MNVDA:
        return get ? this.mnvda(reg) : RegStatus.METHOD_NOT_SUPP;
      default:
        return RegStatus.REG_NOT_SUPP;
    }
  }

  // ---- MGIR 0x9020 (§4.3): hw_dev_id at 0x0A, FW version bytes at 0x21..0x23, extended at 0x44/0x48/0x4C
  private mgir(reg: RegView): number {
    const p = this.host.personality;
    const run = this.host.running;
    reg.clear();
    reg.put16(0x0a, p.device.hwId);
    const v = run?.version ?? [0, 0, 0];
    reg.put8(0x21, v[0]);
    reg.put8(0x22, v[1]);
    reg.put8(0x23, v[2]);
    // PSID at fw_info + 0x10 (model choice from the kernel's MGIR layout; not in the sheet)
    const psid = run?.psid ?? '';
    for (let i = 0; i < Math.min(16, psid.length); i++) reg.put8(0x30 + i, psid.charCodeAt(i));
    reg.put32(0x44, v[0]);
    reg.put32(0x48, v[1]);
    reg.put32(0x4c, v[2]);
    // hw_info.manufacturing_base_mac 47:32 at 0x12, 31:0 at 0x14 (mstflint's "Orig Base MAC" on
    // FW that does MCC; not in the sheet): the factory MAC of MFG_INFO
    const factory = this.deviceUids(true);
    if (factory) {
      reg.put16(0x12, Number((factory.mac >> 32n) & 0xffffn));
      reg.put32(0x14, Number(factory.mac & 0xffffffffn));
    }
    return RegStatus.OK;
  }

  // ---- MCAM 0x907F (§3.1, §3.3): mask[k] at byte 8+4k covers 0x9000+(3-k)*0x20 .. +0x1F
  private mcam(reg: RegView): number {
    const group = reg.u32(0) & 0xff;
    const featureGroup = (reg.u32(0) >>> 16) & 0xff;
    reg.clear();
    reg.put32(0, ((featureGroup << 16) | group) >>> 0);
    if (group !== 0) return RegStatus.OK; // model: only group 0 has registers
    const masks = [0, 0, 0, 0];
    for (const r of this.host.personality.mcamRegisters ?? []) {
      const rel = r - 0x9000;
      if (rel < 0 || rel >= 0x80) continue;
      const k = 3 - (rel >>> 5);
      masks[k] = (masks[k]! | (1 << (rel & 31))) >>> 0;
    }
    masks.forEach((m, k) => reg.put32(8 + 4 * k, m));
    return RegStatus.OK;
  }

  // ---- MFPA 0x9010 (§4.3)
  private mfpa(reg: RegView): number {
    const fs = (reg.u32(0) >>> 4) & 3;
    if (fs !== 0) return RegStatus.BAD_PARAM; // flash_num is 1
    const wp = this.host.writeProtected;
    const dw0 = reg.u32(0);
    reg.clear();
    reg.put32(0, dw0 & 0x80000030);
    reg.put32(4, this.host.running?.start ?? 0);
    reg.put32(16, ((1 << 30) | (1 << 29) | (wp ? (1 << 17) | (1 << 16) : 0) | 1) >>> 0);
    reg.put32(20, this.host.jedecId & 0xffffff);
    reg.put32(24, 12); // sector_size log2 (4 KiB)
    reg.put32(28, 1 << 16); // capability: write protect supported
    return RegStatus.OK;
  }

  private refuseWrite(): number | CommandResult {
    return this.host.knobs.writeProtectReply === 'icmd-status' ? { icmdStatus: IcmdStatus.WRITE_PROTECT } : RegStatus.BAD_PARAM;
  }

  // ---- MFBA 0x9011 (§4.3): data dword i = LE value of flash bytes 4i..4i+3
  private mfba(get: boolean, reg: RegView): number | CommandResult {
    const fs = (reg.u32(0) >>> 4) & 3;
    const size = reg.u32(4) & 0x1ff;
    const addr = reg.u32(8);
    const p = this.host.personality;
    if (fs !== 0 || size === 0 || size > p.mfbaMaxSize || size % 4 !== 0 || addr % 4 !== 0 || addr + size > this.host.flashSize) {
      return RegStatus.BAD_PARAM;
    }
    if (reg.length < 12 + size) return RegStatus.BAD_PARAM;
    if (this.host.knobs.fwHonoursGatewayLock && this.host.gatewayHeldByHost) return RegStatus.DEV_BUSY;
    const window = reg.b.subarray(12, 12 + size);
    if (get) {
      swap32Groups(this.host.flashRead(addr, size), window);
      return RegStatus.OK;
    }
    if (this.host.writeProtected) return this.refuseWrite();
    const data = new Uint8Array(size);
    swap32Groups(window, data);
    const r = this.host.flashProgram(addr, data);
    return r === 'wp' ? this.refuseWrite() : RegStatus.OK;
  }

  // ---- MFBE 0x9012 (§4.3): 4 KiB, or 64 KiB with bit 29 (32 KiB with bit 30)
  private mfbe(reg: RegView): number | CommandResult {
    const dw0 = reg.u32(0);
    const fs = (dw0 >>> 4) & 3;
    const addr = reg.u32(8);
    const size = dw0 & (1 << 29) ? 0x10000 : dw0 & (1 << 30) ? 0x8000 : SECTOR_SIZE;
    if (fs !== 0 || addr % size !== 0 || addr >= this.host.flashSize) return RegStatus.BAD_PARAM;
    if (this.host.knobs.fwHonoursGatewayLock && this.host.gatewayHeldByHost) return RegStatus.DEV_BUSY;
    if (this.host.writeProtected) return this.refuseWrite();
    const r = this.host.flashErase(addr, size);
    return r === 'wp' ? this.refuseWrite() : RegStatus.OK;
  }

  // ---- MNVDA 0x9024: a 12-byte NV header (dw0 length 8:0, read_current 22, default 23; dw1 the
  // TLV type), then the TLV's data. Only what mstflint's query asks (docs/device-model.md): the
  // global TLVs 2 = base MAC/GUID (base_mac hi/lo, base_guid hi/lo) and 3 = its capability (dw0
  // mac_en 31, guid_en 30; dw1 GUID count 31:16, MAC count 15:0), read from the running image's
  // DEV_INFO (current) or MFG_INFO (default = factory values). Other TLVs: BAD_PARAM.
  private mnvda(reg: RegView): number {
    const dw0 = reg.u32(0);
    const type = reg.u32(4);
    const factory = ((dw0 >>> 23) & 1) === 1;
    if (type !== 2 && type !== 3) return RegStatus.BAD_PARAM;
    const uids = this.deviceUids(factory);
    if (!uids) return RegStatus.BAD_PARAM;
    const len = type === 2 ? 16 : 8;
    reg.clear(12);
    reg.put32(0, ((dw0 & ~0x1ff) | len) >>> 0);
    if (type === 2) {
      reg.put32(12, Number(uids.mac >> 32n));
      reg.put32(16, Number(uids.mac & 0xffffffffn));
      reg.put32(20, Number(uids.guid >> 32n));
      reg.put32(24, Number(uids.guid & 0xffffffffn));
    } else {
      reg.put32(12, 0xc0000000);
      reg.put32(16, ((uids.guidCount & 0xffff) << 16) | (uids.macCount & 0xffff));
    }
    return RegStatus.OK;
  }

  /** GUID / MAC entries (§1.8: guids block at +0x20, GUID entry then MAC entry) of the running image's DEV_INFO or MFG_INFO. */
  private deviceUids(factory: boolean): { guid: bigint; guidCount: number; mac: bigint; macCount: number } | undefined {
    const run = this.host.running;
    if (!run) return undefined;
    const src = sourceOf(this.host.flashData);
    const probe = probeImage(src, run.start, { requireMagic: false });
    if (!probe.ok) return undefined;
    const e = probe.image.entries.find((x) => x.type === (factory ? 0xe0 : 0xe1));
    if (!e) return undefined;
    const at = e.relative ? run.start + e.addr : e.addr;
    const b = src.bytes(at + 0x20, 32);
    const u64 = (o: number) => (BigInt(getU32(b, o)) << 32n) | BigInt(getU32(b, o + 4));
    return { guidCount: b[3]!, guid: u64(8), macCount: b[16 + 3]!, mac: u64(24) };
  }

  // ---- MVTS 0x902C (0x14 B: dw0 flags, then a 16-byte timestamp). Not in the sheet: only what
  // mstflint's burn asks (docs/device-model.md "What mstflint asks"). GET of the running FW's
  // stamp (running_flag) is all zeros — never stamped; GET of the next FW's stamp returns what a
  // SET stored (zeros = "no valid timestamp"); a SET with clear_all_ts_flag clears it.
  private mvts(get: boolean, reg: RegView): number {
    const dw0 = reg.u32(0);
    const running = ((dw0 >>> 30) & 1) === 1; // dw0: clear_all_ts 31, running 30, check_timestamp 29
    const clearAll = ((dw0 >>> 31) & 1) === 1;
    if (get) {
      reg.clear(4);
      const ts = running ? null : this.st.timestamp;
      if (ts) for (let i = 0; i < 16; i++) reg.put8(4 + i, ts[i] ?? 0);
      return RegStatus.OK;
    }
    if (clearAll) {
      this.st.timestamp = null;
      return RegStatus.OK;
    }
    this.st.timestamp = reg.b.slice(4, 20);
    return RegStatus.OK;
  }

  // ---- MFRL 0x9028 (§4.3, §8): GET → mask of supported levels; SET → one level
  private mfrl(get: boolean, reg: RegView): number {
    const levels = this.host.personality.mfrlLevels;
    if (get) {
      const dw0 = reg.u32(0);
      reg.clear();
      reg.put32(0, dw0);
      reg.put32(4, levels & 0xff);
      return RegStatus.OK;
    }
    const level = reg.u32(4) & 0xff;
    if (level === 0 || (level & (level - 1)) !== 0 || (level & levels) === 0) return RegStatus.BAD_PARAM;
    this.st.mfrlRequested = level;
    if (level === MFRL_WARM_BOOT && this.warmBootHangs()) this.st.hangArmed = true;
    return RegStatus.OK;
  }

  // ---- MFAI 0x9029 (§4.3): use_image_id 31, use_address 30, permanent 29, address 23:0
  private mfai(get: boolean, reg: RegView): number {
    if (get) {
      const m = this.st.mfai;
      reg.clear();
      if (m) {
        reg.put32(0, ((m.useImageId ? 1 << 31 : 0) | (m.useAddress ? 1 << 30 : 0) | (m.permanent ? 1 << 29 : 0) | (m.address & 0xffffff)) >>> 0);
        reg.put32(4, m.imageId);
      }
      return RegStatus.OK;
    }
    const dw0 = reg.u32(0);
    const address = dw0 & 0xffffff;
    const useAddress = (dw0 >>> 30) & 1;
    if (useAddress && address >= this.host.flashSize) return RegStatus.BAD_PARAM;
    this.st.mfai = {
      address,
      useAddress: useAddress === 1,
      useImageId: (dw0 >>> 31) === 1,
      permanent: ((dw0 >>> 29) & 1) === 1,
      imageId: reg.u32(4),
    };
    return RegStatus.OK;
  }

  // ---- MCQS 0x9060 (§3.3): one component, BOOT_IMG
  private mcqs(reg: RegView): number {
    const idx = reg.u32(0) & 0xffff;
    const dev = (reg.u32(0) >>> 16) & 0xfff;
    if (idx !== 0 || dev !== 0) return RegStatus.BAD_PARAM;
    reg.clear();
    reg.put32(0, (1 << 31) >>> 0); // last_index_flag, component_index 0
    reg.put32(4, COMPONENT_BOOT_IMG);
    const fsm = this.st.fsm;
    const updating = fsm.state !== FsmState.IDLE && fsm.state !== FsmState.LOCKED;
    reg.put32(8, ((updating ? 1 : 0) << 4) | (updating ? 1 : 0)); // status 8:4 / update_state 3:0 (model choice)
    return RegStatus.OK;
  }

  // ---- MCQI 0x9061: layout from the kernel's MCQI (not in the sheet; model choice)
  private mcqi(reg: RegView): number {
    const idx = reg.u32(0) & 0xffff;
    const infoType = reg.u32(8) & 0x1f;
    if (idx !== 0) return RegStatus.BAD_PARAM;
    const p = this.host.personality;
    const dw0 = reg.u32(0);
    const dw4 = reg.u32(16);
    reg.clear();
    reg.put32(0, dw0 & 0xffff);
    reg.put32(8, infoType);
    reg.put32(16, dw4);
    if (infoType === 0) {
      // CAPABILITIES: supported_info_bitmask, component_size, max_component_size,
      // log_mcda_word_size 31:28 | mcda_max_write_size 15:0, flags
      reg.put32(12, 0x14);
      reg.put32(20, 0x14);
      reg.put32(0x18, 0x3); // CAPABILITIES and VERSION
      reg.put32(0x1c, this.host.running ? 1 << this.host.running.chunkLog2 : 0);
      reg.put32(0x20, p.maxComponentSize);
      reg.put32(0x24, ((2 << 28) | p.mcdaMaxWriteSize) >>> 0);
      reg.put32(0x28, 0);
      return RegStatus.OK;
    }
    if (infoType === 1) {
      // VERSION: version_string_length 7:0, version = major<<24 | minor<<16 | subminor
      const v = this.host.running?.version ?? [0, 0, 0];
      const text = v.join('.');
      reg.put32(12, 0x7c);
      reg.put32(20, 0x7c);
      reg.put32(0x18, text.length);
      reg.put32(0x1c, ((v[0] << 24) | (v[1] << 16) | (v[2] & 0xffff)) >>> 0);
      for (let i = 0; i < text.length; i++) reg.put8(0x18 + 0x20 + i, text.charCodeAt(i));
      return RegStatus.OK;
    }
    return RegStatus.BAD_PARAM;
  }

  // ---- MCC 0x9062 (§3.2, §3.3): the FSM
  private fillMcc(reg: RegView): void {
    const f = this.st.fsm;
    reg.clear();
    reg.put32(4, f.componentIndex & 0xffff);
    reg.put32(8, f.state === FsmState.IDLE ? f.nextHandle : f.handle);
    reg.put32(12, ((f.errorCode & 0xff) << 8) | (f.state & 0xf));
    reg.put32(16, f.componentSize);
  }

  /** An MCC query in a transitional state: the first `polls` queries see it, the next one sees the state after it. */
  private tick(): void {
    const f = this.st.fsm;
    if (f.nextState === f.state) return;
    if (f.pollsLeft > 0) {
      f.pollsLeft--; // this query still sees the transitional state
      return;
    }
    this.enter(f.nextState);
  }

  private enter(state: number): void {
    const f = this.st.fsm;
    const from = f.state;
    f.state = state;
    f.nextState = state;
    if (from === FsmState.VERIFY && f.pendingError !== 0) {
      f.errorCode = f.pendingError;
      f.pendingError = 0;
    }
  }

  private transition(through: number, polls: number, then: number): void {
    const f = this.st.fsm;
    f.state = through;
    f.nextState = then;
    f.pollsLeft = polls;
    if (polls === 0) this.enter(then);
  }

  private mcc(get: boolean, reg: RegView, firing: Firing | undefined): number {
    const f = this.st.fsm;
    if (get) {
      this.tick();
      this.fillMcc(reg);
      return RegStatus.OK;
    }
    const instr = reg.u32(0) & 0xff;
    const compIndex = reg.u32(4) & 0xffff;
    const handle = reg.u32(8) & 0xffffff;
    const compSize = reg.u32(16);
    const done = (status: number = RegStatus.OK): number => {
      this.fillMcc(reg);
      return status;
    };
    if (firing?.effect.kind === 'fsm-error') {
      f.errorCode = firing.effect.code;
      return done();
    }
    if (instr === FsmInstruction.LOCK_UPDATE_HANDLE) {
      if (f.state !== FsmState.IDLE) return done(RegStatus.DEV_BUSY);
      f.state = FsmState.LOCKED;
      f.nextState = FsmState.LOCKED;
      f.handle = f.nextHandle;
      f.nextHandle = ((Math.imul(f.nextHandle, 1103515245) + 12345) >>> 8 & 0xffffff) || 1;
      f.errorCode = 0;
      return done();
    }
    if (instr === FsmInstruction.FORCE_HANDLE_RELEASE) {
      this.st.fsm = freshFsm(this.host.seed, f.nextHandle);
      return done();
    }
    if (f.state === FsmState.IDLE || handle !== f.handle) return done(RegStatus.BAD_PARAM);
    switch (instr) {
      case FsmInstruction.RELEASE_UPDATE_HANDLE:
        this.st.fsm = freshFsm(this.host.seed, f.nextHandle);
        return done();
      case FsmInstruction.CHECK_UPDATE_HANDLE:
        return done();
      case FsmInstruction.CANCEL:
        f.state = FsmState.LOCKED;
        f.nextState = FsmState.LOCKED;
        f.pollsLeft = 0;
        f.errorCode = 0;
        f.pendingError = 0;
        f.data = null;
        f.covered = null;
        f.verified = false;
        return done();
      case FsmInstruction.UPDATE_COMPONENT: {
        if (f.state !== FsmState.LOCKED) return done(RegStatus.BAD_PARAM);
        f.errorCode = 0;
        f.componentIndex = compIndex;
        f.componentSize = compSize;
        if (compIndex !== 0) {
          f.errorCode = FsmError.NOT_APPLICABLE;
          return done();
        }
        if (this.st.pendingActivation && this.host.knobs.fsmPendingResetBlocks) {
          f.errorCode = FsmError.PENDING_RESET;
          return done();
        }
        if (compSize === 0 || compSize % 4 !== 0 || compSize > this.host.personality.maxComponentSize) {
          f.errorCode = FsmError.GENERAL;
          return done();
        }
        f.data = new Uint8Array(compSize).fill(0xff);
        f.covered = new Uint8Array(compSize / 4);
        f.verified = false;
        this.host.charge('fsm', this.host.timeModel.fsmInitializeUs);
        this.transition(FsmState.INITIALIZE, this.host.knobs.fsmInitializePolls, FsmState.DOWNLOAD);
        return done();
      }
      case FsmInstruction.VERIFY_COMPONENT: {
        if (f.state !== FsmState.DOWNLOAD || !f.data || !f.covered) return done(RegStatus.BAD_PARAM);
        f.errorCode = 0;
        let err = 0;
        let reason = 'ok';
        if (f.covered.includes(0)) {
          err = FsmError.GENERAL;
          reason = 'component not fully downloaded';
        } else {
          const c = checkComponent(f.data, this.host.personality.device.hwId, {
            acceptMaskedMagic: this.host.knobs.fsmAcceptMaskedMagic,
            requireSignature: this.host.knobs.fsmRequireSignature,
          });
          err = c.errorCode;
          reason = c.reason;
        }
        f.verified = err === 0;
        f.verifyReason = reason;
        f.pendingError = err;
        this.host.charge('fsm', this.host.timeModel.fsmVerifyUs);
        this.transition(FsmState.VERIFY, this.host.knobs.fsmVerifyPolls, FsmState.LOCKED);
        return done();
      }
      case FsmInstruction.ACTIVATE_ALL:
      case FsmInstruction.ACTIVATE_COMPONENT: {
        if (f.state !== FsmState.LOCKED || !f.verified || !f.data) return done(RegStatus.BAD_PARAM);
        f.errorCode = 0;
        const err = this.activate(f.data);
        if (this.host.dead) return done();
        if (err !== 0) {
          f.errorCode = err;
          return done();
        }
        f.data = null;
        f.covered = null;
        f.verified = false;
        this.host.charge('fsm', this.host.timeModel.fsmActivateUs);
        this.transition(FsmState.ACTIVATE, this.host.knobs.fsmActivatePolls, FsmState.LOCKED);
        return done();
      }
      default:
        return done(RegStatus.BAD_PARAM);
    }
  }

  // ---- MCDA 0x9063 (§3.3): dw0 handle, dw1 offset, dw2 size, data at 0x10 (LE dwords)
  private mcda(reg: RegView): number {
    const f = this.st.fsm;
    const handle = reg.u32(0) & 0xffffff;
    const offset = reg.u32(4);
    const size = reg.u32(8) & 0xffff;
    if (f.state !== FsmState.DOWNLOAD || handle !== f.handle || !f.data || !f.covered) return RegStatus.BAD_PARAM;
    if (size === 0 || size % 4 !== 0 || offset % 4 !== 0 || size > this.host.personality.mcdaMaxWriteSize) return RegStatus.BAD_PARAM;
    if (offset + size > f.componentSize || reg.length < 16 + size) return RegStatus.BAD_PARAM;
    const chunk = new Uint8Array(size);
    swap32Groups(reg.b.subarray(16, 16 + size), chunk);
    f.data.set(chunk, offset);
    f.covered.fill(1, offset / 4, (offset + size) / 4);
    return RegStatus.OK;
  }

  /**
   * ACTIVATE: the firmware writes the verified component into the slot that does not run,
   * keeping the device data (its ITOC's device-data entries are replaced by the running
   * image's, as §2.2 does for a legacy burn), writes the magic last, zeroes the old slot's
   * magic dword (§2.3 step 5), and boots the new slot at the next reset. Returns an FSM
   * error code (0 = done).
   */
  private activate(comp: Uint8Array): number {
    const run = this.host.running;
    const check = checkComponent(comp, this.host.personality.device.hwId, { acceptMaskedMagic: true, requireSignature: false });
    if (!check.image) return FsmError.BAD_FORMAT;
    const img: ImageProbe = check.image;
    const oldStart = run?.start ?? 0;
    const newStart = oldStart === 0 ? 2 ** img.chunkLog2 : 0;
    const cur = run ? probeImage(sourceOf(this.host.flashData), run.start, { requireMagic: false }) : undefined;
    // the new slot must not reach the other slot or the device data (§1.8, §7 map)
    let limit = this.host.flashSize;
    if (cur?.ok) for (const e of cur.image.entries) if (e.deviceData && !e.relative && e.addr > newStart) limit = Math.min(limit, e.addr);
    if (newStart + comp.length > limit || (newStart !== 0 && comp.length > newStart)) return FsmError.GENERAL;
    const image = comp.slice();
    for (let i = 0; i < 4; i++) putU32(image, i * 4, FS3_MAGIC[i]!);
    // keep the device's own device-data ITOC entries
    if (run) {
      if (cur?.ok) {
        for (const e of img.entries) {
          if (!e.deviceData) continue;
          const mine = cur.image.entries.find((x) => x.type === e.type && x.deviceData);
          if (mine && e.entryOffset + 32 <= image.length) image.set(mine.raw, e.entryOffset);
        }
        // mstflint's component has its device TOC masked (FwExtract4MBImage: the device-data
        // entries are 0xFF, so the list ends before them): append the running image's own
        // device-data entries after the last entry, then a new end marker.
        let at = img.entries.length > 0 ? img.entries[img.entries.length - 1]!.entryOffset + 32 : img.itocOffset + 32;
        const free = (off: number) => off + 32 <= image.length && image.subarray(off, off + 32).every((b) => b === 0xff);
        for (const mine of cur.image.entries) {
          if (!mine.deviceData || img.entries.some((e) => e.type === mine.type && e.deviceData)) continue;
          if (!free(at) || !free(at + 32)) break; // no room: leave the list as it is
          image.set(mine.raw, at);
          at += 32;
        }
      }
    }
    const end = newStart + image.length;
    for (let a = newStart; a < end; ) {
      const big = a % 0x10000 === 0 && a + 0x10000 <= Math.ceil(end / SECTOR_SIZE) * SECTOR_SIZE;
      const size = big ? 0x10000 : SECTOR_SIZE;
      if (this.host.flashErase(a, size) !== 'ok' || this.host.dead) return FsmError.GENERAL;
      a += size;
    }
    for (let off = 0; off < image.length; off += PAGE_SIZE) {
      const from = off === 0 ? 16 : off; // the magic goes last
      const page = image.subarray(from, Math.min(off + PAGE_SIZE, image.length));
      if (page.every((b) => b === 0xff)) continue;
      if (this.host.flashProgram(newStart + from, page) !== 'ok' || this.host.dead) return FsmError.GENERAL;
    }
    // model choice (docs/robustness.md): the FW reads back what it wrote before it signs the new
    // slot and invalidates the old one, so a write the chip acknowledged but did not do never
    // leaves a signed image that fails its CRCs in place of the old one
    const flash = this.host.flashData;
    const written = (at: number, want: Uint8Array) => want.every((b, i) => flash[at + i] === b);
    if (!written(newStart + 16, image.subarray(16))) return FsmError.GENERAL;
    if (this.host.flashProgram(newStart, image.subarray(0, 16)) !== 'ok' || this.host.dead) return FsmError.GENERAL;
    if (!written(newStart, image.subarray(0, 16))) return FsmError.GENERAL;
    for (let tries = 0; run && !written(oldStart, new Uint8Array(4)); tries++) {
      if (tries === 3 || this.host.flashProgram(oldStart, new Uint8Array(4)) !== 'ok') return FsmError.GENERAL;
    }
    this.st.pendingActivation = true;
    this.st.activatedStart = newStart;
    return 0;
  }
}
