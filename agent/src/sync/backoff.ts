/** Exponential backoff settings. */
export interface BackoffOptions {
  baseMs: number;
  maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 500, maxMs: 30_000 };

/**
 * Delay before retry number `attempt` (0-based): full-range jitter over an exponentially growing
 * window capped at `maxMs`, never below half the window so retries do not bunch at zero (pure).
 */
export function backoffDelay(attempt: number, options: BackoffOptions, random01: number): number {
  const window = Math.min(options.maxMs, options.baseMs * 2 ** Math.min(attempt, 30));
  return Math.round(window / 2 + (window / 2) * random01);
}
