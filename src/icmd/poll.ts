/** The ICMD busy-bit poll schedule (§4.5 `set_and_poll_on_busy_bit`). */
import { BACK_TO_BACK_POLLS, MAX_POLL_SLEEP_MS } from './constants.js';

/**
 * Milliseconds to sleep before poll number `n` (1-based): none for polls 1–5, then
 * 1, 2, 4, 8, 8 … capped at `maxSleepMs` (§4.5).
 */
export function pollSleepMs(n: number, maxSleepMs = MAX_POLL_SLEEP_MS, backToBack = BACK_TO_BACK_POLLS): number {
  if (n <= backToBack) return 0;
  return Math.min(2 ** (n - backToBack - 1), maxSleepMs);
}

/** Total sleep of a poll budget that runs out (≈ 40.9 s for 5120 polls, §4.5). */
export function pollBudgetMs(budget: number, maxSleepMs = MAX_POLL_SLEEP_MS, backToBack = BACK_TO_BACK_POLLS): number {
  let t = 0;
  for (let n = 1; n <= budget; n++) t += pollSleepMs(n, maxSleepMs, backToBack);
  return t;
}
