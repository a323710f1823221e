/** The 5th-gen direct flash gateway in CR space (§4.2, `mflash_pack_layer.h`, `mflash_gw.c`). */

export const GW_CMD = 0xf0400;
export const GW_ADDR = 0xf0404;
/** 16 data bytes; byte k → DATA[k/4] bits 31−8(k%4).. (BE). */
export const GW_DATA = 0xf0410;
export const GW_DATA_BYTES = 16;
/** 0xF0420 bit 0: cache-replacement enable (cleared while the host holds the flash). */
export const GW_CACHE_REP_EN = 0xf0420;

// cmd bits (§4.2)
export const CMD_READ = 1 << 0;
export const CMD_CMD_PHASE = 1 << 2;
export const CMD_ADDR_PHASE = 1 << 3;
export const CMD_DATA_PHASE = 1 << 4;
export const CMD_CS_HOLD = 1 << 5;
export const CMD_SIZE_SHIFT = 8; // 10:8 log2 data bytes
export const CMD_CHIP_SELECT_SHIFT = 11;
export const CMD_ADDR4 = 1 << 14;
export const CMD_OPCODE_SHIFT = 16; // 23:16
export const CMD_BUSY = 0x40000000; // bit 30
export const CMD_LOCK = 0x80000000; // bit 31

/** Reading cmd as 0xBADACCE6 means there is no flash (§4.2). */
export const NO_FLASH_VALUE = 0xbadacce6;

/** SPI NOR opcodes (§4.2). */
export const Spi = {
  WRSR: 0x01,
  PP: 0x02,
  READ: 0x03,
  RDSR: 0x05,
  WREN: 0x06,
  PP4: 0x12,
  READ4: 0x13,
  SE4K: 0x20,
  SE4K_4B: 0x21,
  JEDEC: 0x9f,
  BE64K: 0xd8,
  BE64K_4B: 0xdc,
} as const;

/** RDSR bit 0: write in progress (§4.2). */
export const SR_WIP = 0x01;
/** Block-protect bits BP0–BP4 (bits 6:2) of a standard SPI NOR status register. */
export const SR_BP_MASK = 0x7c;

// budgets (§4.2)
/** gw_wait_ready: BUSY polled at most 5000 reads. */
export const DEFAULT_BUSY_POLLS = 5000;
/** is4_flash_lock: at most 1024 tries, 1 ms apart (5 s cap). */
export const DEFAULT_LOCK_TRIES = 1024;
export const LOCK_RETRY_MS = 1;
/** st_spi_wait_wip after a page program: 10 µs + 1 µs per byte, then 10 µs × 30000. */
export const PROGRAM_WIP = { initialUs: 10, perByteUs: 1, stepUs: 10, tries: 30000 } as const;
/** After a 4 KiB erase: 20 ms, then 300 µs × 10000. */
export const ERASE_WIP = { initialUs: 20000, perByteUs: 0, stepUs: 300, tries: 10000 } as const;
/** Page = 256 B, programmed in 16 × 16-byte transactions (§4.2). */
export const PAGE_SIZE = 256;
