// Retry delays: exponential backoff with "equal jitter" (half fixed, half random).

/**
 * Delay before the retry that follows `attemptsMade` failed attempts, in ms:
 * `min(maxMs, baseMs * 2^(attemptsMade-1))`, of which a random half is jitter.
 */
export function backoffDelayMs(
  attemptsMade: number,
  baseMs: number,
  maxMs: number,
  random: () => number = Math.random,
): number {
  const exponent = Math.max(0, attemptsMade - 1);
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(exponent, 40));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}
