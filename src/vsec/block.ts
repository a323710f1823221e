/**
 * Block access on any AddressSpaceAccess: the provider's block calls when it has them
 * (one semaphore hold and one space select, §5.3), dword by dword otherwise; and the §5.3
 * BE byte-stream view on top.
 */
import type { AddressSpaceAccess } from '../transport/mst/address-space.js';
import { bytesToDwordsBE, dwordsToBytesBE } from './bytes.js';

export function readDwords(access: AddressSpaceAccess, space: number, offset: number, count: number): Uint32Array {
  if (access.readSpaceBlock) return access.readSpaceBlock(space, offset, count);
  const out = new Uint32Array(count);
  for (let i = 0; i < count; i++) out[i] = access.readSpace32(space, offset + 4 * i);
  return out;
}

export function writeDwords(access: AddressSpaceAccess, space: number, offset: number, values: ArrayLike<number>): void {
  if (access.writeSpaceBlock) return access.writeSpaceBlock(space, offset, values);
  for (let i = 0; i < values.length; i++) access.writeSpace32(space, offset + 4 * i, values[i]!);
}

/** Read `length` bytes as a BE byte stream (§5.3 mread_buffer). */
export function readBytesBE(access: AddressSpaceAccess, space: number, offset: number, length: number): Uint8Array {
  return dwordsToBytesBE(readDwords(access, space, offset, Math.ceil(length / 4)), length);
}

/** Write a BE byte stream, zero-padded to a whole dword (§5.3 mwrite_buffer). */
export function writeBytesBE(access: AddressSpaceAccess, space: number, offset: number, bytes: Uint8Array): void {
  writeDwords(access, space, offset, bytesToDwordsBE(bytes));
}
