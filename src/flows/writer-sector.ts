/**
 * Pure sector arithmetic of the chunked writer (flashrom's way: read first, write only what
 * differs, at the flash's own granularity). NOR flash programs by clearing bits (1 → 0); only
 * an erase (of a whole 4 KiB sector, §4.2–§4.3) sets bits back to 1.
 */

/** Whether bringing `cur` to `want` needs an erase: some bit must go from 0 to 1. */
export function needsErase(cur: Uint8Array, want: Uint8Array): boolean {
  for (let i = 0; i < want.length; i++) if ((cur[i]! & want[i]!) !== want[i]) return true;
  return false;
}

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** First index where a and b differ, or -1. */
export function firstDifference(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : n;
}

/**
 * The spans to program so that `base` becomes `want`: within each `block`-aligned window
 * (offsets relative to a buffer that starts `bufAddr` bytes into the flash), the smallest
 * dword-aligned span holding every differing byte. Bytes inside a span that do not differ are
 * programmed with their wanted value, which equals the base: programming them changes nothing.
 */
export function programSpans(base: Uint8Array, want: Uint8Array, bufAddr: number, block: number): { offset: number; length: number }[] {
  const spans: { offset: number; length: number }[] = [];
  let i = 0;
  while (i < want.length) {
    const winEnd = Math.min(want.length, block - ((bufAddr + i) % block) + i);
    let lo = -1;
    let hi = -1;
    for (let k = i; k < winEnd; k++) {
      if (base[k] !== want[k]) {
        if (lo < 0) lo = k;
        hi = k;
      }
    }
    if (lo >= 0) {
      const a = Math.max(i, lo - ((bufAddr + lo) % 4));
      const b = Math.min(winEnd, hi + 1 + ((4 - ((bufAddr + hi + 1) % 4)) % 4));
      spans.push({ offset: a, length: b - a });
    }
    i = winEnd;
  }
  return spans;
}

/** Every byte of `b` is 0xFF. */
export function allErased(b: Uint8Array): boolean {
  for (let i = 0; i < b.length; i++) if (b[i] !== 0xff) return false;
  return true;
}
