/**
 * The one contract between the device layers and whatever carries PCI configuration-space
 * accesses: 4-byte reads and writes at a byte offset, and close. The simulated card, the
 * sysfs `config` file and the /dev/mst driver each implement it; nothing above this layer
 * knows which one it has (style-anchors.md, serialport's bindings-interface).
 */
export interface PciConfigTransport {
  /** A name for messages, e.g. `sim:cx4lx@14.14.1100` or `0000:03:00.0`. */
  readonly name: string;
  /** Read the little-endian dword at config-space byte `offset` (4-byte aligned). */
  read32(offset: number): number;
  /** Write a dword at config-space byte `offset` (4-byte aligned). */
  write32(offset: number, value: number): void;
  /** Release the device. Further accesses throw. Closing twice is harmless. */
  close(): void;
}
