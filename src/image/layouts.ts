/**
 * Big-endian FS3 structure layouts, declared with binary-parser (read side only; the
 * builder has its own encoders). Bit positions follow fs3-facts.md §1.1: a field at adb
 * offset o, size s lives in BE bits [31-p .. 32-p-s] of dword o/32, p = o % 32.
 */
import { Parser } from 'binary-parser';

const cstr = (b: Uint8Array): string => {
  let end = b.indexOf(0);
  if (end < 0) end = b.length;
  let s = '';
  for (let i = 0; i < end; i++) s += String.fromCharCode(b[i]!);
  return s;
};

const str = (name: string, length: number) => [name, { length, formatter: cstr }] as const;

/** Boot-version dword at image offset 0x24 (§1.2). */
export const bootVersionParser = new Parser()
  .endianness('big')
  .uint8('formatVersion')
  .uint8('log2Chunk')
  .uint8('binMajor')
  .uint8('binMinor');

/** ITOC header, 32 bytes (§1.4). */
export const itocHeaderParser = new Parser()
  .endianness('big')
  .array('signature', { type: 'uint32be', length: 4 })
  // dw4: flash_layout_version 31:24, version 7:0
  .bit8('flashLayoutVersion')
  .bit16('reserved4')
  .bit8('version')
  // dw5: num_of_entries 7:0
  .bit24('reserved5')
  .bit8('numEntries')
  .uint32('reserved6')
  // dw7: crc 15:0
  .uint16('reserved7')
  .uint16('crc');

/** ITOC entry, 32 bytes (§1.4). */
export const itocEntryParser = new Parser()
  .endianness('big')
  // dw0: type 31:24, size (dwords) 23:2
  .bit8('type')
  .bit22('sizeDwords')
  .bit2('reserved0')
  // dw1: zipped_image 31, cache_line_crc 30, param0 29:0
  .bit1('zippedImage')
  .bit1('cacheLineCrc')
  .bit30('param0')
  .uint32('param1')
  .uint32('reserved3')
  // dw4: version 15:0
  .uint16('reserved4')
  .uint16('version')
  // dw5: relative_addr 31, flash_addr (dwords) 30:2
  .bit1('relativeAddr')
  .bit29('flashAddrDwords')
  .bit2('reserved5')
  // dw6: encrypted_section 31, device_data 17, no_crc 16, section_crc 15:0
  .bit1('encryptedSection')
  .bit12('reserved6')
  .bit1('crcHigh')
  .bit1('deviceData')
  .bit1('noCrc')
  .bit16('sectionCrc')
  // dw7: itoc_entry_crc 15:0
  .uint16('reserved7')
  .uint16('entryCrc');

/** IMAGE_INFO, 0x400 bytes (§1.7). Only the fields fs3burn uses or reports. */
export const imageInfoParser = new Parser()
  .endianness('big')
  .uint8('majorVersion') // 0x00
  .uint8('minorVersion') // 0x01
  // dw0 bits 15:0 — secure_fw 15? See §1.7: flag bits of the low half of dw0
  .uint16('flags') // 0x02
  .uint16('fwMajor') // 0x04 (the dword's upper half; facts: u16 at 0x04)
  .uint16('reserved06')
  .uint16('fwMinor') // 0x08
  .uint16('fwSubminor') // 0x0a
  .uint8('second') // 0x0c
  .uint8('minute') // 0x0d
  .uint8('hour') // 0x0e
  .uint8('reserved0f')
  .uint16('yearBcd') // 0x10
  .uint8('monthBcd') // 0x12
  .uint8('dayBcd') // 0x13
  .uint16('micMajor') // 0x14
  .uint16('reserved16')
  .uint16('micMinor') // 0x18
  .uint16('micSubminor') // 0x1a
  .uint16('pciDeviceId') // 0x1c
  .uint16('pciVendorId') // 0x1e
  .uint16('pciSubsystemId') // 0x20
  .uint16('pciSubVendorId') // 0x22
  .buffer(...str('psid', 16)) // 0x24
  .seek(0x35 - 0x34)
  .uint8('pscSku') // 0x35
  .uint16('vsdVendorId') // 0x36
  .buffer(...str('vsd', 208)) // 0x38
  .uint8('imageSizeFlags') // 0x108: bit 31 of the dword = run_from_any
  .uint16('reserved109')
  .uint8('logStep') // 0x10b
  .uint32('maxSize') // 0x10c
  .uint16('tocCopyOffset') // 0x110
  .uint16('dtocOffset') // 0x112
  .seek(0x118 - 0x114)
  .array('supportedHwId', { type: 'uint32be', length: 4 }) // 0x118
  .uint32('iniFileNum') // 0x128
  .uint32('burnImageSize') // 0x12c
  .seek(0x1c0 - 0x130)
  .buffer(...str('productVersion', 16)) // 0x1c0
  .buffer(...str('description', 256)) // 0x1d0
  .seek(0x340 - 0x2d0)
  .buffer(...str('name', 64)) // 0x340 "Part Number"
  .buffer(...str('prsName', 128)); // 0x380

/** A uid entry (GUID or MAC base), 16 bytes (§1.8). */
export const uidEntryParser = new Parser()
  .endianness('big')
  .uint8('reserved0')
  .uint8('numAllocatedMsb')
  .uint8('step')
  .uint8('numAllocated')
  .uint32('reserved4')
  .uint64('uid');

/** DEV_INFO, 0x200 bytes (§1.8). */
export const devInfoParser = new Parser()
  .endianness('big')
  .array('signature', { type: 'uint32be', length: 4 }) // 0x00
  // dw4: major_version 16:8 (9 bits), minor at byte 0x13
  .bit15('reserved4')
  .bit9('majorVersion')
  .bit8('minorVersion') // byte 0x13
  .seek(0x20 - 0x14)
  .nest('guid', { type: uidEntryParser }) // 0x20
  .nest('mac', { type: uidEntryParser }) // 0x30
  .seek(0x6e - 0x40)
  .uint16('vsdVendorId') // 0x6e
  .buffer(...str('vsd', 208)); // 0x70

/** MFG_INFO, 0x140 bytes (§1.8, plus the original PRS name seen at 0x60 in real images). */
export const mfgInfoParser = new Parser()
  .endianness('big')
  .buffer(...str('psid', 16)) // 0x00
  .seek(0x1c - 0x10)
  .uint8('majorVersion') // 0x1c
  .uint8('minorVersion') // 0x1d
  .uint8('reserved1e')
  .uint8('flags1f') // bit 0 guids_override_en
  .nest('guid', { type: uidEntryParser }) // 0x20
  .nest('mac', { type: uidEntryParser }) // 0x30
  .seek(0x60 - 0x40)
  .buffer(...str('origPrsName', 64)); // 0x60
