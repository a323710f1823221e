/**
 * The simulated card served over a local UNIX socket, so that another process — the
 * unmodified `mstflint` through native-shims/sim-preload.c — reaches the same model, fault
 * plans and time model as an in-process client (docs/mstflint-bridge.md).
 *
 * Protocol: fixed 9-byte requests `op u8, offset u32 LE, value u32 LE`.
 *
 * | op  | what | reply |
 * |-----|------|-------|
 * | `R` | read32(offset) | 5 bytes: status u8, value u32 LE |
 * | `W` | write32(offset, value) | none: the client may pipeline writes (a failing write is counted in `server.errors` and logged; the shim checks offsets before sending, so only a server bug fails one) |
 * | `w` | write32(offset, value), acknowledged | 5 bytes: status u8, 0 |
 * | `S` | the model's stats() and what runs | status u8, length u32 LE, then that many bytes of JSON |
 * | `Z` | reset the card (value 0 = warm, 1 = cold) | 5 bytes: status u8, 0 |
 * | `P` | save the state file now | 5 bytes: status u8, 0 |
 * | `C` | close: the server saves the state file and ends the connection | 5 bytes: status u8, 0 |
 * | `H` | use shared memory from now on (serve-shm.ts) | status u8, id u32: the client maps `SOCKET.shm.ID` |
 * | `D` | doorbell: requests are waiting in shared memory | none |
 *
 * Status: 0 OK, 1 bad access (SIM_BAD_ACCESS: an unaligned or out-of-range offset), 2 the
 * card is closed, 3 any other error, 4 unknown op.
 *
 * Every request runs to completion synchronously on the model, so the server never blocks:
 * an ICMD interface that the model holds busy (a hang, a stuck fault) is only a bit that a
 * client keeps reading, and each read is answered at once.
 */
import { existsSync, unlinkSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { isFs3BurnError } from '../errors.js';
import type { SimDevice } from './device.js';
import type { ResetKind } from './model.js';
import { loadShmLib, ShmChannel, type ShmLib } from './serve-shm.js';

export const Op = {
  READ: 0x52, // 'R'
  WRITE: 0x57, // 'W'
  WRITE_ACK: 0x77, // 'w'
  STATS: 0x53, // 'S'
  RESET: 0x5a, // 'Z'
  PERSIST: 0x50, // 'P'
  CLOSE: 0x43, // 'C'
  HELLO_SHM: 0x48, // 'H': switch this connection to shared memory (serve-shm.ts)
  DOORBELL: 0x44, // 'D': the shared-memory client published requests while the server slept
} as const;

export const Status = {
  OK: 0,
  BAD_ACCESS: 1,
  CLOSED: 2,
  ERROR: 3,
  BAD_OP: 4,
} as const;

export const REQUEST_SIZE = 9;
export const REPLY_SIZE = 5;

export interface SimServerOptions {
  /** The UNIX socket path. An existing socket file there is replaced. */
  socketPath: string;
  device: SimDevice;
  /**
   * After answering, keep reading the client's socket without blocking for this long (µs)
   * before going back to the event loop (default 100; 0 = never). The spin yields the CPU
   * between reads, so a busy machine loses little to it. A client like mstflint
   * sends its next request a few µs after a reply; catching it here saves the wake-up of a
   * process blocked in epoll, which on a virtual machine costs more than the request.
   * Needs libc's recv through koffi; without koffi the server is purely event-driven.
   */
  spinUs?: number;
  /** Offer the shared-memory fast path to clients that ask (`H`; default true where koffi loads). */
  sharedMemory?: boolean;
  /** Diagnostics (client connects / disconnects, errors); default: none. */
  log?: (line: string) => void;
}

export interface ServerCounters {
  connections: number;
  requests: number;
  byOp: Record<string, number>;
  errors: number;
}

/** What `S` answers: the model's stats, what runs, and the server's own counters. */
export interface ServedStats {
  device: string;
  running: { versionString: string; start: number; psid: string } | null;
  icmdHung: boolean;
  fsmState: number;
  stats: ReturnType<SimDevice['model']['stats']>;
  server: ServerCounters;
}

function statusOf(e: unknown): number {
  if (isFs3BurnError(e)) {
    if (e.code === 'SIM_BAD_ACCESS') return Status.BAD_ACCESS;
    if (e.code === 'SIM_CLOSED') return Status.CLOSED;
  }
  return Status.ERROR;
}

export class SimServer {
  readonly socketPath: string;
  readonly device: SimDevice;
  readonly counters: ServerCounters = { connections: 0, requests: 0, byOp: {}, errors: 0 };
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private readonly log: (line: string) => void;
  private readonly spinUs: number;
  private recvNow: ((fd: number, buf: Buffer) => number) | undefined;
  private yieldCpu: () => void = () => {};
  private shmLib: ShmLib | undefined;
  private readonly wantShm: boolean;
  private shmIds = 0;
  private closed = false;

  private constructor(opts: SimServerOptions) {
    this.socketPath = opts.socketPath;
    this.device = opts.device;
    this.log = opts.log ?? (() => {});
    this.spinUs = Math.max(0, opts.spinUs ?? 100);
    this.wantShm = opts.sharedMemory ?? true;
    this.server = createServer((s) => this.onConnection(s));
  }

  /** Bind libc's recv(MSG_DONTWAIT) for the spin (optional: without it, no spin). */
  private async bindRecv(): Promise<void> {
    if (this.spinUs === 0 || process.platform !== 'linux') return;
    try {
      const { loadKoffi } = await import('../native/koffi.js');
      const koffi = await loadKoffi();
      const lib = koffi.load(null);
      const recv = lib.func('long recv(int fd, void *buf, size_t len, int flags)');
      const schedYield = lib.func('int sched_yield(void)');
      const MSG_DONTWAIT = 0x40;
      this.recvNow = (fd, buf) => Number(recv(fd, buf, buf.length, MSG_DONTWAIT));
      this.yieldCpu = () => void schedYield();
    } catch (e) {
      this.log(`no spin (koffi unavailable: ${(e as Error).message})`);
    }
  }

  /** Start listening; resolves when the socket accepts connections. */
  static async listen(opts: SimServerOptions): Promise<SimServer> {
    const srv = new SimServer(opts);
    await srv.bindRecv();
    if (srv.wantShm) srv.shmLib = await loadShmLib();
    if (existsSync(opts.socketPath)) unlinkSync(opts.socketPath);
    await new Promise<void>((resolve, reject) => {
      srv.server.once('error', reject);
      srv.server.listen(opts.socketPath, () => {
        srv.server.off('error', reject);
        resolve();
      });
    });
    return srv;
  }

  /** Save the card's state file if anything changed (no-op without a state file). */
  persist(): void {
    if (this.device.model.dirty) this.device.save();
  }

  /** Stop serving: drop clients, save the state, remove the socket file. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    try {
      this.persist();
    } finally {
      try {
        if (existsSync(this.socketPath)) unlinkSync(this.socketPath);
      } catch {
        // already gone
      }
    }
  }

  /** What the `S` op answers. */
  stats(): ServedStats {
    const m = this.device.model;
    const r = m.running;
    return {
      device: this.device.name,
      running: r ? { versionString: r.versionString, start: r.start, psid: r.psid } : null,
      icmdHung: m.icmdHung,
      fsmState: m.fsmState,
      stats: m.stats(),
      server: structuredClone(this.counters),
    };
  }

  private onConnection(sock: Socket): void {
    this.counters.connections++;
    this.sockets.add(sock);
    this.log(`client connected (${this.sockets.size} open)`);
    let pending: Buffer = Buffer.alloc(0);
    let ending = false;
    let shm: ShmChannel | undefined;
    const fd = (sock as unknown as { _handle?: { fd?: number } })._handle?.fd;
    const scratch = Buffer.allocUnsafe(64 * 1024);
    /** Run the whole requests in `chunk` (plus what was left over); false once the client said C. */
    const consume = (chunk: Buffer): boolean => {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      const whole = pending.length - (pending.length % REQUEST_SIZE);
      const replies: Buffer[] = [];
      let off = 0;
      for (; off < whole; off += REQUEST_SIZE) {
        const op = pending[off]!;
        const offset = pending.readUInt32LE(off + 1);
        const value = pending.readUInt32LE(off + 5);
        if (op === Op.HELLO_SHM) {
          replies.push(this.helloShm(shm, (ch) => (shm = ch)));
          continue;
        }
        if (op === Op.DOORBELL) {
          shm?.serve();
          continue;
        }
        const r = this.handle(op, offset, value);
        if (r) replies.push(r);
        if (op === Op.CLOSE) {
          ending = true;
          off += REQUEST_SIZE;
          break;
        }
      }
      pending = off >= pending.length ? Buffer.alloc(0) : Buffer.from(pending.subarray(off));
      if (replies.length === 1) sock.write(replies[0]!);
      else if (replies.length > 1) sock.write(Buffer.concat(replies));
      if (ending) sock.end();
      return !ending;
    };
    sock.on('data', (chunk: Buffer) => {
      if (ending) return;
      if (!consume(chunk)) return;
      if (shm) return; // its requests come through shared memory: ShmChannel spins there
      const recvNow = this.recvNow;
      if (!recvNow || fd === undefined || fd < 0 || this.spinUs === 0) return;
      // the client's next request usually follows within µs: take it without blocking
      let idleSince = process.hrtime.bigint();
      const budget = BigInt(this.spinUs) * 1000n;
      for (let spins = 0; ; spins++) {
        const n = recvNow(fd, scratch);
        if (n > 0) {
          if (!consume(Buffer.from(scratch.subarray(0, n)))) return;
          idleSince = process.hrtime.bigint();
          continue;
        }
        if (n === 0) return; // EOF: the event loop sees it too
        if ((spins & 15) === 15 && process.hrtime.bigint() - idleSince > budget) return;
        this.yieldCpu();
      }
    });
    sock.on('error', (e) => this.log(`client error: ${e.message}`));
    sock.on('close', () => {
      shm?.close();
      this.sockets.delete(sock);
      this.log(`client disconnected (${this.sockets.size} open)`);
      if (this.closed) return;
      try {
        this.persist();
      } catch (e) {
        this.counters.errors++;
        this.log(`cannot save the state file: ${(e as Error).message}`);
      }
    });
  }

  /** `H`: map a shared-memory channel for this connection (serve-shm.ts). */
  private helloShm(current: ShmChannel | undefined, set: (ch: ShmChannel) => void): Buffer {
    this.counters.requests++;
    this.counters.byOp.H = (this.counters.byOp.H ?? 0) + 1;
    if (!this.shmLib || current) return this.reply(Status.BAD_OP);
    const id = ++this.shmIds;
    try {
      set(new ShmChannel(`${this.socketPath}.shm.${id}`, this.shmLib, (op, off, val) => this.shmFrame(op, off, val), this.spinUs, this.shmLib.yieldCpu));
    } catch (e) {
      this.counters.errors++;
      this.log(`no shared memory: ${(e as Error).message}`);
      return this.reply(Status.ERROR);
    }
    this.log(`client ${id} uses shared memory`);
    return this.reply(Status.OK, id);
  }

  /** One frame from shared memory: reads answer, writes do not (as on the socket). */
  private shmFrame(op: number, offset: number, value: number): { status: number; value: number } | undefined {
    const c = this.counters;
    c.requests++;
    const key = String.fromCharCode(op);
    c.byOp[key] = (c.byOp[key] ?? 0) + 1;
    try {
      if (op === Op.READ) return { status: Status.OK, value: this.device.read32(offset) };
      if (op === Op.WRITE || op === Op.WRITE_ACK) {
        this.device.write32(offset, value);
        return op === Op.WRITE_ACK ? { status: Status.OK, value: 0 } : undefined;
      }
      c.errors++;
      return { status: Status.BAD_OP, value: 0 };
    } catch (e) {
      c.errors++;
      this.log(`shared-memory request ${key} ${offset.toString(16)}: ${(e as Error).message}`);
      return op === Op.READ ? { status: statusOf(e), value: 0 } : undefined;
    }
  }

  private reply(status: number, value = 0): Buffer {
    const b = Buffer.allocUnsafe(REPLY_SIZE);
    b[0] = status;
    b.writeUInt32LE(value >>> 0, 1);
    return b;
  }

  /** One request; returns the reply, or undefined for a successful pipelined write. */
  private handle(op: number, offset: number, value: number): Buffer | undefined {
    const c = this.counters;
    c.requests++;
    const key = String.fromCharCode(op);
    c.byOp[key] = (c.byOp[key] ?? 0) + 1;
    const dev = this.device;
    try {
      switch (op) {
        case Op.READ:
          return this.reply(Status.OK, dev.read32(offset));
        case Op.WRITE:
          try {
            dev.write32(offset, value);
          } catch (e) {
            c.errors++;
            this.log(`pipelined write ${offset.toString(16)}: ${(e as Error).message}`);
          }
          return undefined;
        case Op.WRITE_ACK:
          dev.write32(offset, value);
          return this.reply(Status.OK);
        case Op.STATS: {
          const json = Buffer.from(JSON.stringify(this.stats()), 'utf8');
          const head = this.reply(Status.OK, json.length);
          return Buffer.concat([head, json]);
        }
        case Op.RESET: {
          const kind: ResetKind = value === 1 ? 'cold' : 'warm';
          dev.model.reset(kind);
          this.log(`reset (${kind}): ${dev.model.describe()}`);
          return this.reply(Status.OK);
        }
        case Op.PERSIST:
          this.persist();
          return this.reply(Status.OK);
        case Op.CLOSE:
          this.persist();
          return this.reply(Status.OK);
        default:
          c.errors++;
          return this.reply(Status.BAD_OP);
      }
    } catch (e) {
      c.errors++;
      this.log(`request ${key} ${offset.toString(16)}: ${(e as Error).message}`);
      return this.reply(statusOf(e));
    }
  }
}

/** A minimal client of the protocol (for tests, the benchmark and `fs3burn sim stats`). */
export class SimClient {
  private sock: Socket;
  private buf: Buffer = Buffer.alloc(0);
  private waiters: { need: () => number; resolve: (b: Buffer) => void }[] = [];

  private constructor(sock: Socket) {
    this.sock = sock;
    sock.on('data', (d: Buffer) => {
      this.buf = this.buf.length === 0 ? d : Buffer.concat([this.buf, d]);
      this.pump();
    });
  }

  static connect(socketPath: string): Promise<SimClient> {
    return new Promise((resolve, reject) => {
      const s = connect(socketPath);
      s.once('error', reject);
      s.once('connect', () => {
        s.off('error', reject);
        resolve(new SimClient(s));
      });
    });
  }

  private pump(): void {
    while (this.waiters.length > 0) {
      const w = this.waiters[0]!;
      const n = w.need();
      if (n < 0 || this.buf.length < n) return;
      this.waiters.shift();
      const out = this.buf.subarray(0, n);
      this.buf = this.buf.subarray(n);
      w.resolve(Buffer.from(out));
    }
  }

  private request(op: number, offset: number, value: number, need: (b: Buffer) => number): Promise<Buffer> {
    const req = Buffer.alloc(REQUEST_SIZE);
    req[0] = op;
    req.writeUInt32LE(offset >>> 0, 1);
    req.writeUInt32LE(value >>> 0, 5);
    const p = new Promise<Buffer>((resolve) => this.waiters.push({ need: () => need(this.buf), resolve }));
    this.sock.write(req);
    this.pump();
    return p;
  }

  private static check(b: Buffer, what: string): number {
    if (b[0] !== Status.OK) throw new Error(`${what}: server status ${b[0]}`);
    return b.readUInt32LE(1);
  }

  async read32(offset: number): Promise<number> {
    return SimClient.check(await this.request(Op.READ, offset, 0, () => REPLY_SIZE), `read32 ${offset}`);
  }

  async write32(offset: number, value: number): Promise<void> {
    SimClient.check(await this.request(Op.WRITE_ACK, offset, value, () => REPLY_SIZE), `write32 ${offset}`);
  }

  async reset(kind: ResetKind = 'warm'): Promise<void> {
    SimClient.check(await this.request(Op.RESET, 0, kind === 'cold' ? 1 : 0, () => REPLY_SIZE), 'reset');
  }

  async persist(): Promise<void> {
    SimClient.check(await this.request(Op.PERSIST, 0, 0, () => REPLY_SIZE), 'persist');
  }

  async stats(): Promise<ServedStats> {
    const b = await this.request(Op.STATS, 0, 0, (buf) => (buf.length < REPLY_SIZE ? -1 : REPLY_SIZE + buf.readUInt32LE(1)));
    const n = SimClient.check(b, 'stats');
    return JSON.parse(b.toString('utf8', REPLY_SIZE, REPLY_SIZE + n)) as ServedStats;
  }

  /** Send `C` (the server saves the state) and close the connection. */
  async close(): Promise<void> {
    try {
      await this.request(Op.CLOSE, 0, 0, () => REPLY_SIZE);
    } finally {
      this.sock.destroy();
    }
  }
}
