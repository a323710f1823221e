/**
 * Hardware constants of the simulated ConnectX-4 Lx, each with the fs3-facts.md section it
 * rests on. Values the sheet does not give are marked "model choice" and documented in
 * docs/device-model.md.
 */

// ---- PCI identity (§7) ----------------------------------------------------------------
export const PCI_VENDOR_MELLANOX = 0x15b3;
/** Ethernet controller class code (model choice: a NIC; §7 names CX4LX a 2-port NIC). */
export const PCI_CLASS_ETHERNET = 0x020000;

// ---- Config space layout (model choice of offsets; the VSEC itself is §5.2) ------------
export const CONFIG_SPACE_SIZE = 0x1000; // PCIe extended config space, as sysfs exposes it
export const CAP_PTR_OFFSET = 0x34; // §5.2: the walk starts at config byte 0x34
export const CAP_ID_PM = 0x01;
export const CAP_ID_VPD = 0x03;
export const CAP_ID_VSEC = 0x09; // §5.2: the first capability with ID 0x09 is the VSEC
export const CAP_ID_PCIE = 0x10;
export const CAP_ID_MSIX = 0x11;
/** Where the model places each capability (chain order: PCIe → VPD → MSI-X → VSEC → PM). */
export const CAP_PCIE = 0x60;
export const CAP_VPD = 0x48;
export const CAP_MSIX = 0x9c;
export const VSEC_BASE = 0xc0;
export const CAP_PM = 0x40;
export const VSEC_LENGTH = 0x18;

// ---- Functional VSEC registers (§5.2) ---------------------------------------------------
export const VSEC_CTRL = 0x04;
export const VSEC_COUNTER = 0x08;
export const VSEC_SEMAPHORE = 0x0c;
export const VSEC_ADDR = 0x10;
export const VSEC_DATA = 0x14;
export const VSEC_ADDR_FLAG = 0x80000000; // bit 31
export const VSEC_ADDR_SYNDROME = 0x40000000; // bit 30
export const VSEC_ADDR_MASK = 0x3fffffff; // bits 29:0
/** CTRL syndrome code 27:24: 3 = address out of range (§5.2). */
export const VSEC_SYNDROME_ADDR_RANGE = 3;

// ---- Legacy CR gateway in config space (§5.2) -------------------------------------------
export const LEGACY_GW_ADDR = 0x58;
export const LEGACY_GW_DATA = 0x5c;

// ---- Address spaces (§5.2, mtcr_com_defs.h) ---------------------------------------------
export const Space = {
  ICMD_EXT: 0x1,
  CR: 0x2,
  ICMD: 0x3,
  NODNIC: 0x4,
  EXP_ROM: 0x5,
  ND_CR: 0x6,
  SCAN_CR: 0x7,
  SEMAPHORE: 0xa,
  RECOVERY: 0xc,
  MAC: 0xf,
  PCI_ICMD: 0x101,
  PCI_CR: 0x102,
  PCI_ALL_ICMD: 0x103,
  PCI_SCAN_CR: 0x107,
  PCI_GLOBAL_SEM: 0x10a,
} as const;

// ---- CR space addresses (§4.1, §4.2, §6.1, §2.3, §7) -----------------------------------
export const CR_SPACE_SIZE = 0x1000000; // model choice: 24-bit CR addresses
export const CR_HW_ID = 0xf0014; // §7: bits 15:0 id, 23:16 rev
export const CR_CACHE_REP_A = 0xf0408; // §4.1: bits 25:0
export const CR_CACHE_REP_B = 0xf040c; // §4.1: bits 23:16
export const CR_ICMD_READY = 0xb0004; // §6.1: bit 31 = 0 when ready (CX4/CX4LX)
export const CR_BOOT_ADDR = 0xf0000; // §2.3 step 4: new_start << 8
export const CR_RESET_FLASH_ON_WARM = 0xf0204; // §2.3 step 4: bit 1
export const CR_GW_CMD = 0xf0400; // §4.2
export const CR_GW_ADDR = 0xf0404;
export const CR_GW_DATA0 = 0xf0410; // 0xF0410..0xF041C, 16 bytes, BE
export const CR_GW_DATA3 = 0xf041c;
export const CR_GW_CACHE_REP_EN = 0xf0420; // bit 0
/** Values the model shows in the cache-replacement registers while FW runs (model choice: any non-zero). */
export const CACHE_REP_A_RUNNING = 0x00000801;
export const CACHE_REP_B_RUNNING = 0x00010000;

// ---- 5th-gen flash gateway cmd bits (§4.2) ---------------------------------------------
export const GW_READ = 1 << 0;
export const GW_CMD_PHASE = 1 << 2;
export const GW_ADDR_PHASE = 1 << 3;
export const GW_DATA_PHASE = 1 << 4;
export const GW_CS_HOLD = 1 << 5;
export const GW_ADDR4 = 1 << 14;
export const GW_BUSY = 0x40000000; // bit 30
export const GW_LOCK = 0x80000000; // bit 31

// ---- SPI NOR opcodes (§4.2) -------------------------------------------------------------
export const SpiOp = {
  WRSR: 0x01,
  PP: 0x02,
  READ: 0x03,
  WRDI: 0x04, // standard NOR, not in the sheet
  RDSR: 0x05,
  WREN: 0x06,
  PP4: 0x12,
  READ4: 0x13,
  SE4K: 0x20,
  SE4K_4B: 0x21,
  BE32K: 0x52, // standard NOR, not in the sheet
  CHIP_ERASE: 0xc7, // standard NOR, not in the sheet
  CHIP_ERASE_ALT: 0x60,
  JEDEC: 0x9f,
  BE64K: 0xd8,
  BE64K_4B: 0xdc,
} as const;
export const SR_WIP = 0x01;
export const SR_WEL = 0x02;
/** Block-protect bits of the status register (standard NOR; model: any set = whole chip protected). */
export const SR_BP_MASK = 0x7c;

// ---- ICMD space (space 3, §6.1) ---------------------------------------------------------
export const ICMD_CTRL = 0x0;
export const ICMD_MAX_MAILBOX_ADDR = 0x1000;
export const ICMD_SYNDROME = 0x1008;
export const ICMD_MAILBOX = 0x100000;
export const ICMD_BUSY = 1 << 0;
export const ICMD_EXMB = 1 << 1;
export const IcmdStatus = {
  OK: 0,
  BAD_OPCODE: 1,
  BAD_CMD: 2,
  OPERATIONAL_ERROR: 3,
  BAD_PARAM: 4,
  BUSY: 5,
  ICM_NOT_AVAILABLE: 6,
  WRITE_PROTECT: 7,
} as const;
export const ICMD_OPCODE_REG_ACCESS = 0x9001; // §6.3

// ---- Semaphore space (space 0xA, §5.3) --------------------------------------------------
export const SEM_SPACE_SIZE = 0x100; // model choice: 64 dword semaphores
export const SEM_ICMD = 0x0;
export const SEM_FLASH = 0x10;

// ---- Register access (§6.3) -------------------------------------------------------------
export const RegStatus = {
  OK: 0,
  DEV_BUSY: 1,
  VER_NOT_SUPP: 2,
  UNKNOWN_TLV: 3,
  REG_NOT_SUPP: 4,
  CLASS_NOT_SUPP: 5,
  METHOD_NOT_SUPP: 6,
  BAD_PARAM: 7,
  RES_NOT_AVLBL: 8,
  MSG_RECPT_ACK: 9,
} as const;
export const Method = { GET: 1, SET: 2 } as const;
export const OP_TLV_SIZE = 16;
export const REG_TLV_SIZE = 4;
export const REG_DATA_OFFSET = OP_TLV_SIZE + REG_TLV_SIZE; // 20

/** Access register IDs (§4.3, §3.3). */
export const Reg = {
  MFPA: 0x9010,
  MFBA: 0x9011,
  MFBE: 0x9012,
  MFMC: 0x9013,
  MGIR: 0x9020,
  MFRL: 0x9028,
  MFAI: 0x9029,
  /** NV configuration access (mstflint's query of base MAC/GUID on FW that does MCC; docs/device-model.md). */
  MNVDA: 0x9024,
  /** FW version timestamp (mstflint's TestAndSetTimeStamp; not in the sheet — docs/device-model.md). */
  MVTS: 0x902c,
  MCDD: 0x905c,
  MCQS: 0x9060,
  MCQI: 0x9061,
  MCC: 0x9062,
  MCDA: 0x9063,
  MQIS: 0x9064,
  MCAM: 0x907f,
} as const;
export const REG_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(Reg).map(([k, v]) => [v, k]),
) as Record<number, string>;

/** MFRL warm-boot request level (§4.3, §8: level 6 = 0x40). */
export const MFRL_WARM_BOOT = 0x40;

// ---- MCC FSM (§3.2, §3.3, §8) ------------------------------------------------------------
export const FsmState = {
  IDLE: 0,
  LOCKED: 1,
  INITIALIZE: 2,
  DOWNLOAD: 3,
  VERIFY: 4,
  APPLY: 5,
  ACTIVATE: 6,
  UPLOAD: 7,
  UPLOAD_PENDING: 8,
  DOWNSTREAM_DEVICE_TRANSFER: 9,
} as const;
export const FsmInstruction = {
  LOCK_UPDATE_HANDLE: 1,
  RELEASE_UPDATE_HANDLE: 2,
  UPDATE_COMPONENT: 3,
  VERIFY_COMPONENT: 4,
  ACTIVATE_COMPONENT: 5,
  ACTIVATE_ALL: 6,
  READ_COMPONENT: 7,
  CANCEL: 8,
  CHECK_UPDATE_HANDLE: 9,
  FORCE_HANDLE_RELEASE: 0xa,
  READ_PENDING_COMPONENT: 0xb,
  DOWNSTREAM: 0xc,
} as const;
/** FSM error codes, MCC dw3 bits 15:8 (§8). */
export const FsmError = {
  OK: 0,
  GENERAL: 1,
  HASH_MISMATCH: 2,
  NOT_APPLICABLE: 3,
  UNKNOWN_KEY: 4,
  AUTH_FAILED: 5,
  UNSIGNED: 6,
  KEY_NOT_APPLICABLE: 7,
  BAD_FORMAT: 8,
  PENDING_RESET: 9,
} as const;
/** Component identifier of the boot image (model choice: 1, the first component kind). */
export const COMPONENT_BOOT_IMG = 0x1;

// ---- FS3 image (§1) ----------------------------------------------------------------------
export const FS3_MAGIC = [0x4d544657, 0x8cdfd000, 0xdead9270, 0x4154beef] as const;
export const IMAGE_STARTS = [
  0, 0x10000, 0x20000, 0x40000, 0x80000, 0x100000, 0x200000, 0x400000, 0x800000, 0x1000000, 0x2000000,
] as const;
export const BOOT_VERSION_OFFSET = 0x24;
export const BOOT2_OFFSET = 0x38;
export const ITOC_SIGNATURE = [0x49544f43, 0x04081516, 0x2342cafa, 0xbacafe00] as const;
export const ITOC_ENTRY_SIZE = 32;
export const ITOC_MAX_ENTRIES = 64;
export const SectionType = {
  IMAGE_INFO: 0x10,
  IMAGE_SIGNATURE_256: 0xa0,
  PUBLIC_KEYS_2048: 0xa1,
  IMAGE_SIGNATURE_512: 0xa3,
  PUBLIC_KEYS_4096: 0xa4,
  MFG_INFO: 0xe0,
  DEV_INFO: 0xe1,
  END: 0xff,
} as const;
export const DEV_INFO_SIGNATURE = [0x6d446576, 0x496e666f, 0x2342cafa, 0xbacafe00] as const;

// ---- Flash (§7) --------------------------------------------------------------------------
export const SECTOR_SIZE = 0x1000;
export const PAGE_SIZE = 0x100;
/** Winbond 16 MiB: density 0x18, type 0x40, vendor 0xEF (§4.3 MFPA example). */
export const DEFAULT_JEDEC_ID = 0x1840ef;
