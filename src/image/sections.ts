/** FS3 section type codes and names (fs3-facts.md §1.6; names as mstflint prints them). */
export const SectionType = {
  BOOT_CODE: 0x01,
  PCI_CODE: 0x02,
  MAIN_CODE: 0x03,
  PCIE_LINK_CODE: 0x04,
  IRON_PREP_CODE: 0x05,
  POST_IRON_BOOT_CODE: 0x06,
  UPGRADE_CODE: 0x07,
  HW_BOOT_CFG: 0x08,
  HW_MAIN_CFG: 0x09,
  PHY_UC_CODE: 0x0a,
  PHY_UC_CONSTS: 0x0b,
  PCIE_PHY_UC_CODE: 0x0c,
  CCIR_INFRA_CODE: 0x0d,
  CCIR_ALGO_CODE: 0x0e,
  IMAGE_INFO: 0x10,
  FW_BOOT_CFG: 0x11,
  FW_MAIN_CFG: 0x12,
  APU_KERNEL: 0x14,
  ACE_CODE: 0x15,
  ROM_CODE: 0x18,
  RESET_INFO: 0x20,
  DBG_FW_INI: 0x30,
  DBG_FW_PARAMS: 0x32,
  FW_ADB: 0x33,
  IMAGE_SIGNATURE_256: 0xa0,
  PUBLIC_KEYS_2048: 0xa1,
  FORBIDDEN_VERSIONS: 0xa2,
  IMAGE_SIGNATURE_512: 0xa3,
  PUBLIC_KEYS_4096: 0xa4,
  HMAC_DIGEST: 0xa5,
  MFG_INFO: 0xe0,
  DEV_INFO: 0xe1,
  NV_DATA1: 0xe2,
  VPD_R0: 0xe3,
  NV_DATA2: 0xe4,
  FW_NV_LOG: 0xe5,
  NV_DATA0: 0xe6,
  CRDUMP_MASK_DATA: 0xe9,
  ITOC: 0xfd,
  DTOC: 0xfe,
  END: 0xff,
} as const;

const NAMES: Record<number, string> = {};
for (const [name, code] of Object.entries(SectionType)) NAMES[code] = name;
// mstflint prints all three NV_DATA variants as "NV_DATA".
NAMES[SectionType.NV_DATA0] = 'NV_DATA';
NAMES[SectionType.NV_DATA1] = 'NV_DATA';
NAMES[SectionType.NV_DATA2] = 'NV_DATA';

/** The name mstflint prints for a section type; unknown codes print as `UNKNOWN_SECTION`. */
export function sectionName(type: number): string {
  return NAMES[type] ?? 'UNKNOWN_SECTION';
}

export function isSignatureSection(type: number): boolean {
  return type === SectionType.IMAGE_SIGNATURE_256 || type === SectionType.IMAGE_SIGNATURE_512;
}

export function isPublicKeysSection(type: number): boolean {
  return type === SectionType.PUBLIC_KEYS_2048 || type === SectionType.PUBLIC_KEYS_4096;
}
