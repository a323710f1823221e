/**
 * One small interface over the two flash access methods (§4.1): FW access through the
 * MFBA / MFBE registers over ICMD (§4.3) and the direct 5th-gen HW gateway (§4.2).
 * Addresses are physical flash byte addresses.
 */
export type FlashMethod = 'fw' | 'gateway';

export interface FlashAccess {
  readonly method: FlashMethod;
  /** The unit of one read / program transfer (MFBA: 128 B on CX4LX; gateway: a 256-B page). */
  readonly blockSize: number;
  /** The erase unit: 4 KiB. */
  readonly sectorSize: number;
  /** Flash size in bytes when known (from the JEDEC id), else undefined. */
  readonly size: number | undefined;
  /** Read `len` bytes at `addr` (any alignment). */
  read(addr: number, len: number): Uint8Array;
  /**
   * Program `bytes` at `addr`; the caller has erased the range. Partial blocks are padded
   * with 0xFF, which leaves NOR flash bits unchanged.
   */
  write(addr: number, bytes: Uint8Array): void;
  /** Erase the 4 KiB sector at `addr` (4 KiB-aligned). */
  erase4k(addr: number): void;
  /**
   * Erase the 64 KiB block at `addr` (64 KiB-aligned) in one operation, when the method and
   * the flash can (FW access: MFBE bulk64, §4.3, if MFPA reports bulk64_en). Absent otherwise.
   */
  readonly erase64k?: ((addr: number) => void) | undefined;
  /** End the session: release any semaphore or lock held. Further calls throw. */
  close(): void;
  /**
   * Run `fn` (several reads / writes / erases) under one hold of whatever the method takes per
   * operation (FW access: one ICMD session, §6.2). Optional; keep `fn` short (a sector's work).
   */
  session?<T>(fn: () => T): T;
}

export const SECTOR_SIZE = 0x1000;

export interface FlashStats {
  bytesRead: number;
  bytesWritten: number;
  sectorsErased: number;
  /** Transfers: MFBA accesses, or gateway transactions. */
  transfers: number;
}

export function emptyFlashStats(): FlashStats {
  return { bytesRead: 0, bytesWritten: 0, sectorsErased: 0, transfers: 0 };
}
