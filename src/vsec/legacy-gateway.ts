/**
 * The legacy CR-space gateway in config space (§5.2): address at config 0x58, data at
 * 0x5C. Used when the card has no functional VSEC, or the VSEC lacks a space VSEC mode
 * needs. It reaches CR space only; every other space is SPACE_UNAVAILABLE (so no ICMD).
 */
import { Fs3BurnError } from '../errors.js';
import type { AddressSpaceAccess } from '../transport/mst/address-space.js';
import type { PciConfigTransport } from '../transport/types.js';
import { hex, LEGACY_GW_ADDR, LEGACY_GW_DATA, Space } from './constants.js';

export class LegacyCrAccess implements AddressSpaceAccess {
  readonly name: string;
  private closed = false;
  constructor(readonly transport: PciConfigTransport) {
    this.name = transport.name;
  }

  private check(space: number, offset: number): void {
    if (this.closed) throw new Fs3BurnError('DEVICE_CLOSED', `${this.name}: CR gateway access is closed`);
    if (space !== Space.CR) {
      throw new Fs3BurnError('SPACE_UNAVAILABLE', `${this.name}: address space ${hex(space)} is not reachable: the card has no usable VSEC, only the legacy CR-space gateway`, {
        hint: 'ICMD and access registers need the functional VSEC; the card may be in a recovery mode',
        data: { device: this.name, space, offset },
      });
    }
    if (!Number.isInteger(offset) || offset < 0 || offset > 0xffffffff || (offset & 3) !== 0) {
      throw new Fs3BurnError('VSEC_OFFSET_INVALID', `${this.name}: CR offset ${offset} is not a 4-aligned 32-bit address`, {
        data: { device: this.name, space, offset },
      });
    }
  }

  readSpace32(space: number, offset: number): number {
    this.check(space, offset);
    this.transport.write32(LEGACY_GW_ADDR, offset >>> 0);
    return this.transport.read32(LEGACY_GW_DATA) >>> 0;
  }

  writeSpace32(space: number, offset: number, value: number): void {
    this.check(space, offset);
    this.transport.write32(LEGACY_GW_ADDR, offset >>> 0);
    this.transport.write32(LEGACY_GW_DATA, value >>> 0);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.transport.close();
  }
}
