/**
 * Operation counts for benchmarks: a PciConfigTransport wrapper that counts every config
 * read and write, so a run can report "N config accesses per KiB" on any transport.
 */
import type { PciConfigTransport } from '../transport/types.js';

export interface ConfigCounts {
  reads: number;
  writes: number;
}

export class CountingTransport implements PciConfigTransport {
  readonly counts: ConfigCounts = { reads: 0, writes: 0 };
  constructor(readonly inner: PciConfigTransport) {}
  get name(): string {
    return this.inner.name;
  }
  read32(offset: number): number {
    this.counts.reads++;
    return this.inner.read32(offset);
  }
  write32(offset: number, value: number): void {
    this.counts.writes++;
    this.inner.write32(offset, value);
  }
  close(): void {
    this.inner.close();
  }
}
