/**
 * Time for the client layers. The transports are synchronous (PciConfigTransport.read32 /
 * write32 return values, not promises), so the layers above them are synchronous too, and
 * their waits are synchronous: `realClock.sleep` blocks the thread with Atomics.wait, as
 * mstflint's usleep does. On the simulated card, which never needs real time to pass (its
 * busy bits clear after a number of polls, not of microseconds), pass `virtualClock()` so
 * that no poll loop ever sleeps for real; it still records how long a real run would have
 * slept. Every layer takes its clock from its options; none reads the time itself.
 */

export interface Clock {
  /** Milliseconds since an arbitrary origin. */
  now(): number;
  /** Wait `ms` milliseconds (fractions allowed). */
  sleep(ms: number): void;
}

const waitCell = new Int32Array(new SharedArrayBuffer(4));

/** Real time; `sleep` blocks the thread (Atomics.wait). */
export const realClock: Clock = Object.freeze({
  now: () => performance.now(),
  sleep(ms: number): void {
    if (ms > 0) Atomics.wait(waitCell, 0, 0, ms);
  },
});

/** A clock that never waits: `sleep` only advances its own time and counts. */
export interface VirtualClock extends Clock {
  /** Total milliseconds "slept". */
  readonly sleptMs: number;
  /** Number of sleep calls. */
  readonly sleeps: number;
}

export function virtualClock(startMs = 0): VirtualClock {
  let t = startMs;
  let slept = 0;
  let count = 0;
  return {
    now: () => t,
    sleep(ms: number): void {
      if (ms <= 0) return;
      t += ms;
      slept += ms;
      count++;
    },
    get sleptMs() {
      return slept;
    },
    get sleeps() {
      return count;
    },
  };
}
