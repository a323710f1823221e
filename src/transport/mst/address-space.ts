/**
 * Dword access to the device's address spaces (CR space, ICMD, semaphores, ...), the level
 * above raw config space. Two things provide it:
 * - the VSEC layer, which runs the protocol of fs3-facts.md §5.3 over a PciConfigTransport;
 * - the mst kernel driver, whose PCICONF_READ4/WRITE4 ioctls take (address_space, offset)
 *   and run that protocol in the kernel (§5.4). The driver offers no raw config access, so
 *   a /dev/mst device is an AddressSpaceAccess, not a PciConfigTransport.
 * Layers above (CR-space registers, ICMD) take an AddressSpaceAccess and do not care which.
 */
export interface AddressSpaceAccess {
  /** A name for messages, e.g. `/dev/mst/mt4117_pciconf0`. */
  readonly name: string;
  /** Read the dword at byte `offset` (4-aligned) of address space `space`. */
  readSpace32(space: number, offset: number): number;
  /** Write the dword at byte `offset` (4-aligned) of address space `space`. */
  writeSpace32(space: number, offset: number, value: number): void;
  /**
   * Read `dwords` consecutive dwords from `offset` under one lock and one space select,
   * when the provider can (§5.3 block access). Values are dwords, not bytes: the BE byte
   * conversion of §5.3 happens above.
   */
  readSpaceBlock?(space: number, offset: number, dwords: number): Uint32Array;
  /** Write consecutive dwords from `offset`; see {@link readSpaceBlock}. */
  writeSpaceBlock?(space: number, offset: number, values: ArrayLike<number>): void;
  /** Release the device. Further accesses throw. Closing twice is harmless. */
  close(): void;
}

/** Address-space numbers (fs3-facts.md §5.2, `mtcr_com_defs.h`). */
export const AddressSpace = {
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
export type AddressSpaceId = (typeof AddressSpace)[keyof typeof AddressSpace];

/** Space numbers fit the VSEC CTRL space field, bits 15:0 (§5.2). */
export const MAX_ADDRESS_SPACE = 0xffff;
/** Addresses fit the VSEC ADDR field, bits 29:0 (§5.2). */
export const MAX_SPACE_OFFSET = 0x3fffffff;
