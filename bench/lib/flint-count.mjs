// Config-space operations that flint (mstflint 4.21: legacy FS3 burn, FW access = MFBA/MFBE
// over ICMD through the functional VSEC) makes for one burn, counted from
// shared/docs/fs3-facts.md alone: §2.3 (what is written, in which order, erase on first touch,
// 4096-B transfers), §4.3 (MFBA 128-B blocks, partial blocks padded and read back, SET reads
// back only the header, the flash-programming semaphore), §4.5 / §6.2 (the ICMD sequence),
// §5.3 (VSEC lock, space select, FLAG handshake, block access, PID semaphores), §6.3 (mailbox
// sizes = 20 + register bytes). Every assumption the facts leave open is a parameter below and
// is listed in docs/performance.md. Nothing here runs the simulator: it is arithmetic.

/** Defaults: the reading of the facts that docs/performance.md calls "as the brief describes it". */
export const FLINT_ASSUMPTIONS = Object.freeze({
  /**
   * How the ICMD mailbox buffers cross the VSEC. 'dword': every dword takes and releases the
   * VSEC lock and selects the space (the brief's "VSEC lock per dword"). 'block': one lock and
   * one space select per buffer (§5.3 block_op_pciconf). The facts do not say which one
   * icmd_send_command_com uses for its mailbox; 'block' gives flint fewer operations.
   */
  mailbox: 'dword',
  /** ADDR reads per FLAG handshake: the sim answers at once (knob vsecFlagLatency = 0 → 1 read). */
  flagReads: 1,
  /** ctrl reads while polling BUSY after go: the sim clears BUSY at once (knob icmdBusyPolls = 0 → 1 read). */
  busyReads: 1,
  /** Space select = CTRL read + CTRL write (§5.2 "written read-modify-write"); true adds a status read-back. */
  selectReadBack: false,
  /** §6.2 step 7 reads the status from the polled ctrl value; true counts a separate ctrl read. */
  statusRead: false,
  /** VSEC lock attempts until SEM reads 0 (uncontended: 1). */
  semAttempts: 1,
  /** ICMD / flash-programming PID semaphore tries (uncontended: 1). */
  pidTries: 1,
  /** MFBA block (§4.3, CX4LX). */
  block: 128,
  /** Flash::write transfer size (§2.3 step 2). */
  transfer: 4096,
  sector: 4096,
});

const ZERO = () => ({ reads: 0, writes: 0 });
const add = (a, b, k = 1) => {
  a.reads += b.reads * k;
  a.writes += b.writes * k;
  return a;
};

/** Per-operation costs for the assumptions `a`. */
export function vsecCosts(a = FLINT_ASSUMPTIONS) {
  // §5.3 lock: read SEM (0 = free), read COUNTER, write SEM, read SEM back; unlock = write 0
  const lock = { reads: 3 * a.semAttempts, writes: a.semAttempts };
  const unlock = { reads: 0, writes: 1 };
  // §5.2 CTRL bits 15:0 written read-modify-write
  const select = { reads: 1 + (a.selectReadBack ? 1 : 0), writes: 1 };
  // §5.3 read: write ADDR (bit 31 = 0), poll until FLAG = 1, read DATA
  const rd = { reads: a.flagReads + 1, writes: 1 };
  // §5.3 write: write DATA, write ADDR | bit 31, poll until FLAG = 0
  const wr = { reads: a.flagReads, writes: 2 };
  const framed = (op) => add(add(add(add(ZERO(), lock), select), op), unlock);
  return {
    lock,
    unlock,
    select,
    /** One dword read with its own lock and space select ("One dword: lock → set space → operation → unlock"). */
    read32: framed(rd),
    write32: framed(wr),
    /** A buffer of `n` dwords: per dword, or one lock + one select (§5.3 block access). */
    readBuf(n) {
      if (n === 0) return ZERO();
      if (a.mailbox === 'dword') return add(ZERO(), framed(rd), n);
      return add(add(add(add(ZERO(), lock), select), rd, n), unlock);
    },
    writeBuf(n) {
      if (n === 0) return ZERO();
      if (a.mailbox === 'dword') return add(ZERO(), framed(wr), n);
      return add(add(add(add(ZERO(), lock), select), wr, n), unlock);
    },
  };
}

/**
 * One ICMD command (§6.2) writing `writeBytes` to and reading `readBytes` from the mailbox:
 * readiness (CR 0xB0004), PID semaphore take (write own id, read back: §5.3) in space 0xA,
 * ctrl read-modify-write, mailbox write, busy check, go, busy poll, [status], mailbox read,
 * semaphore release (write 0).
 */
export function icmdCommand(writeBytes, readBytes, a = FLINT_ASSUMPTIONS) {
  const v = vsecCosts(a);
  const c = ZERO();
  add(c, v.read32); // 1. readiness
  add(c, v.write32, a.pidTries); // 2. take: write PID …
  add(c, v.read32, a.pidTries); //    … read it back
  add(c, v.read32); // 3. ctrl RMW
  add(c, v.write32);
  add(c, v.writeBuf(Math.ceil(writeBytes / 4))); // 4. mailbox
  add(c, v.read32); // 5. BUSY must be 0
  add(c, v.write32); // 6. go …
  add(c, v.read32, a.busyReads); //  … poll
  if (a.statusRead) add(c, v.read32); // 7. status
  add(c, v.readBuf(Math.ceil(readBytes / 4))); // 8. reply
  add(c, v.write32); // 9. release
  return c;
}

const TLV = 20; // §6.3: operation TLV 16 + register TLV header 4
const MFBA_HDR = 12; // §4.3

/** §4.3 / §6.3 wire sizes of the registers flint uses for the burn. */
export function commandCosts(a = FLINT_ASSUMPTIONS) {
  return {
    // MFBA SET: header + data written; "SET reads back only the 12-byte header"
    mfbaSet: icmdCommand(TLV + MFBA_HDR + a.block, TLV + MFBA_HDR, a),
    // MFBA GET: "GET writes only the header"; reads header + data
    mfbaGet: icmdCommand(TLV + MFBA_HDR, TLV + MFBA_HDR + a.block, a),
    // MFBE 0xC bytes, SET (the reply is the register image)
    mfbe: icmdCommand(TLV + 0xc, TLV + 0xc, a),
    // MFAI 0x10 bytes, MFRL 8 bytes (§4.3), SET
    mfai: icmdCommand(TLV + 0x10, TLV + 0x10, a),
    mfrl: icmdCommand(TLV + 8, TLV + 8, a),
  };
}

/** §2.2 convertor: phys = (cont & (2^L−1)) | (odd << L) | ((cont << 1) & ~(2^(L+1)−1)). */
export function contToPhys(cont, log2, odd) {
  if (log2 === 0) return cont;
  const chunk = 2 ** log2;
  return (cont % chunk) + (odd ? chunk : 0) + Math.floor((cont * 2) / (chunk * 2)) * (chunk * 2);
}

/**
 * The operations of the burn that §2.3 describes, for an image `img` (parseFs3 result) written
 * to the slot at `newStart` (log2 chunk `log2`), with the old image at `oldStart`.
 * Returns counts of each command and the config reads/writes they take.
 */
export function flintLegacyBurn({ img, newStart, oldStart, log2 = 0x16 }, a = FLINT_ASSUMPTIONS) {
  const odd = newStart !== 0;
  const oldOdd = oldStart !== 0;
  const erased = new Set();
  const n = { mfbaSet: 0, mfbaGet: 0, mfbe: 0, mfai: 0, mfrl: 0, blocks: 0, bytes: 0 };
  // Flash::write(cont, len, erase): 4096-B transfers (§2.3 step 2); each sector erased on its
  // first touch (§2.3 step 1); MFBA blocks aligned to 128 B, partial ones padded and read back
  // (§4.3 write_chunks).
  const write = (cont, len, erase, L = log2, o = odd) => {
    n.bytes += len;
    for (let t = 0; t < len; t += a.transfer) {
      const tlen = Math.min(a.transfer, len - t);
      const p0 = contToPhys(cont + t, L, o);
      if (erase) {
        for (let s = p0 - (p0 % a.sector); s < p0 + tlen; s += a.sector) {
          if (!erased.has(s)) {
            erased.add(s);
            n.mfbe++;
          }
        }
      }
      for (let b = p0 - (p0 % a.block); b < p0 + tlen; b += a.block) {
        n.mfbaSet++;
        n.mfbaGet++; // read-back of the block (§4.3; flint verifies unless --no_flash_verify)
        n.blocks++;
      }
    }
  };
  // step 1: image bytes [0x10, itocAddr + 0x1000) at contiguous 0x10, with erase
  write(0x10, img.itoc.address + 0x1000 - 0x10, true);
  // step 2: every section that is not device data (§2.2 failsafe: device data kept)
  for (const e of img.entries) {
    if (e.deviceData || e.size === 0) continue;
    if (e.relativeAddr) write(e.address, e.size, true);
    else write(e.address, e.size, true, 0, false); // absolute: physical address
  }
  // step 3: the 16 magic bytes at contiguous 0, noerase
  write(0, 16, false);
  // step 4: ISFU path: MFAI SET, then MFRL SET 0x40
  n.mfai++;
  n.mfrl++;
  // step 5: 4 zero bytes at the old slot's contiguous 0, noerase (old convertor)
  write(0, 4, false, log2, oldOdd);

  const c = commandCosts(a);
  const v = vsecCosts(a);
  const total = ZERO();
  add(total, c.mfbaSet, n.mfbaSet);
  add(total, c.mfbaGet, n.mfbaGet);
  add(total, c.mfbe, n.mfbe);
  add(total, c.mfai, n.mfai);
  add(total, c.mfrl, n.mfrl);
  // flash-programming semaphore (§4.3 trm_lock, §5.3): take once (write id, read back), release once
  const sem = add(add(add(ZERO(), v.write32, a.pidTries), v.read32, a.pidTries), v.write32);
  add(total, sem);
  return {
    counts: n,
    perCommand: Object.fromEntries(Object.entries(c).map(([k, x]) => [k, x.reads + x.writes])),
    reads: total.reads,
    writes: total.writes,
    total: total.reads + total.writes,
    /** Flash bytes the burn writes (image bytes, padding not counted). */
    bytes: n.bytes,
  };
}
