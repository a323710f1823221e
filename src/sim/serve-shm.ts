/**
 * A shared-memory fast path for `SimServer` (docs/mstflint-bridge.md "Shared memory").
 *
 * mstflint makes millions of dependent config reads; over a socket each one is two system
 * calls and a wake-up per side. A client that says `H` gets a 64 KiB file mapped by both
 * processes instead: it writes its pipelined requests there and spins for the reply; the
 * server spins on the same memory while the client is busy, and sleeps in the event loop
 * when it is not — the client rings a doorbell (`D` on the socket) when it finds the server
 * asleep. Requests are the socket's 9-byte frames; a batch holds writes and at most one read,
 * last.
 *
 * Layout (little-endian int32 slots):
 *   [0] magic 'FSHM'   [1] request seq (client)   [2] reply seq (server)
 *   [3] server asleep (1/0)   [4] request bytes   [5] reply status   [6] reply value
 *   bytes 64.. : the frames
 *
 * The hand-off is the classic store-then-check pair on both sides (sequentially consistent
 * Atomics here, __atomic SEQ_CST in the shim), so a request is never missed; a 2 ms timer
 * also looks while the server sleeps, in case. Needs libc's mmap through koffi (Linux).
 */
import { closeSync, ftruncateSync, openSync, unlinkSync } from 'node:fs';

export const SHM_SIZE = 64 * 1024;
export const SHM_FRAMES_AT = 64;
export const SHM_MAGIC = 0x4d485346; // 'FSHM' little-endian
const I_MAGIC = 0;
const I_REQ = 1;
const I_REP = 2;
const I_ASLEEP = 3;
const I_LEN = 4;
const I_STATUS = 5;
const I_VALUE = 6;

export interface ShmLib {
  map(path: string): { ab: ArrayBuffer; unmap: () => void };
  yieldCpu(): void;
}

let libPromise: Promise<ShmLib | undefined> | undefined;

/** libc's mmap/munmap/sched_yield through koffi, or undefined where that is not possible. */
export function loadShmLib(): Promise<ShmLib | undefined> {
  libPromise ??= (async () => {
    if (process.platform !== 'linux') return undefined;
    try {
      const { loadKoffi } = await import('../native/koffi.js');
      const koffi = await loadKoffi();
      const lib = koffi.load(null);
      const mmap = lib.func('void *mmap(void *addr, size_t len, int prot, int flags, int fd, int64_t off)');
      const munmap = lib.func('int munmap(void *addr, size_t len)');
      const schedYield = lib.func('int sched_yield(void)');
      const PROT_RW = 0x3;
      const MAP_SHARED = 0x1;
      return {
        map(path: string) {
          const fd = openSync(path, 'w+', 0o600);
          try {
            ftruncateSync(fd, SHM_SIZE);
            const ptr = mmap(null, SHM_SIZE, PROT_RW, MAP_SHARED, fd, 0);
            const addr = ptr === null ? 0n : koffi.address(ptr);
            if (addr === 0n || addr === 0xffffffffffffffffn) throw new Error(`mmap failed (errno ${koffi.errno()})`);
            const ab = koffi.view(ptr, SHM_SIZE);
            return { ab, unmap: () => void munmap(ptr, SHM_SIZE) };
          } finally {
            closeSync(fd);
          }
        },
        yieldCpu: () => void schedYield(),
      };
    } catch {
      return undefined;
    }
  })();
  return libPromise;
}

/** One frame: op, offset, value. Returns the reply of a read (status, value) or undefined. */
export type FrameHandler = (op: number, offset: number, value: number) => { status: number; value: number } | undefined;

export class ShmChannel {
  private readonly i32: Int32Array;
  private readonly dv: DataView;
  private last = 0;
  private closed = false;
  private readonly timer: NodeJS.Timeout;
  private readonly unmap: () => void;

  constructor(
    readonly path: string,
    lib: ShmLib,
    private readonly handle: FrameHandler,
    private readonly spinUs: number,
    private readonly yieldCpu: () => void,
  ) {
    const m = lib.map(path);
    this.unmap = m.unmap;
    this.i32 = new Int32Array(m.ab, 0, 16);
    this.dv = new DataView(m.ab);
    this.i32.fill(0);
    Atomics.store(this.i32, I_ASLEEP, 1); // the first request rings the doorbell
    Atomics.store(this.i32, I_MAGIC, SHM_MAGIC);
    this.timer = setInterval(() => {
      if (Atomics.load(this.i32, I_REQ) !== this.last) this.serve();
    }, 2);
    this.timer.unref();
  }

  /** Answer what is pending, then spin for more until the client has been idle for spinUs. */
  serve(): void {
    if (this.closed) return;
    Atomics.store(this.i32, I_ASLEEP, 0);
    let idleSince = process.hrtime.bigint();
    const budget = BigInt(this.spinUs) * 1000n;
    for (let spins = 0; ; spins++) {
      const seq = Atomics.load(this.i32, I_REQ);
      if (seq !== this.last) {
        this.run(seq);
        idleSince = process.hrtime.bigint();
        continue;
      }
      if ((spins & 15) === 15 && process.hrtime.bigint() - idleSince > budget) {
        Atomics.store(this.i32, I_ASLEEP, 1);
        if (Atomics.load(this.i32, I_REQ) === this.last) return; // nothing came in meanwhile
        Atomics.store(this.i32, I_ASLEEP, 0);
        continue;
      }
      if (this.spinUs > 0) {
        if ((spins & 7) === 7) this.yieldCpu(); // look a few times between yields
      }
      else {
        Atomics.store(this.i32, I_ASLEEP, 1);
        if (Atomics.load(this.i32, I_REQ) === this.last) return;
        Atomics.store(this.i32, I_ASLEEP, 0);
      }
    }
  }

  private run(seq: number): void {
    const len = Math.max(0, Math.min(Atomics.load(this.i32, I_LEN), SHM_SIZE - SHM_FRAMES_AT));
    let status = 0;
    let value = 0;
    for (let at = SHM_FRAMES_AT; at + 9 <= SHM_FRAMES_AT + len; at += 9) {
      const r = this.handle(this.dv.getUint8(at), this.dv.getUint32(at + 1, true), this.dv.getUint32(at + 5, true));
      if (r) {
        status = r.status;
        value = r.value;
      }
    }
    Atomics.store(this.i32, I_STATUS, status);
    Atomics.store(this.i32, I_VALUE, value | 0);
    this.last = seq;
    Atomics.store(this.i32, I_REP, seq);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    this.unmap();
    try {
      unlinkSync(this.path);
    } catch {
      // the client unlinked it already
    }
  }
}
