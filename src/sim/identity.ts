/**
 * Each simulated card's own GUID and MAC, derived from its seed so that a seed names one
 * card: a Mellanox OUI, and a 24-bit serial aligned to 8 so the ports' addresses follow it.
 */
import { mix32 } from './bits.js';

/** A Mellanox OUI (24:8A:07). */
export const SIM_OUI = 0x248a07n;

export interface CardIdentity {
  serial: number;
  guid: bigint;
  mac: bigint;
}

export function cardIdentity(seed: number): CardIdentity {
  const serial = ((mix32(seed >>> 0) & 0x1fffff) << 3) >>> 0;
  return {
    serial,
    guid: (SIM_OUI << 40n) | (0x0300n << 24n) | BigInt(serial),
    mac: (SIM_OUI << 24n) | BigInt(serial),
  };
}
