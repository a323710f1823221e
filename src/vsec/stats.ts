/** Counters kept by the VSEC layer (for benchmarks and tests; no timing). */
export interface VsecStats {
  /** VSEC semaphore acquisitions (one per dword access, one per block). */
  semAcquires: number;
  /** Semaphore attempts that found it taken. */
  semRetries: number;
  /** CTRL space selections (read-modify-write + read-back). */
  spaceSelects: number;
  /** Extra ADDR reads while waiting on FLAG. */
  flagPolls: number;
  dwordsRead: number;
  dwordsWritten: number;
  /** Calls to the clock's sleep, and the milliseconds asked for. */
  sleeps: number;
  sleptMs: number;
}

export function emptyVsecStats(): VsecStats {
  return { semAcquires: 0, semRetries: 0, spaceSelects: 0, flagPolls: 0, dwordsRead: 0, dwordsWritten: 0, sleeps: 0, sleptMs: 0 };
}
