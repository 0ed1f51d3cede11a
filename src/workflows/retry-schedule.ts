/**
 * The retry schedule of a delivery. Pure functions, used by the delivery workflow to decide and by
 * the attempt activity to record the next attempt time, so both always agree.
 */

const SECOND_MS = 1000;
const MINUTE_MS = 60 * SECOND_MS;
const HOUR_MS = 60 * MINUTE_MS;

/** Wait before each retry: attempt 2 waits 5 s after attempt 1, and so on; past the list every wait is 12 h. */
export const RETRY_DELAYS_MS = [5 * SECOND_MS, 5 * MINUTE_MS, 30 * MINUTE_MS, 2 * HOUR_MS, 5 * HOUR_MS, 10 * HOUR_MS] as const;
export const STEADY_RETRY_DELAY_MS = 12 * HOUR_MS;

/** The longest wait a receiver can ask for with Retry-After; a longer value is cut to this. */
export const MAX_RETRY_AFTER_MS = 24 * HOUR_MS;

export const DAY_MS = 24 * HOUR_MS;

/** Returns how long to wait after the given failed attempt (1-based) before the next one. */
export function scheduledDelayMs(failedAttempt: number): number {
  return RETRY_DELAYS_MS[failedAttempt - 1] ?? STEADY_RETRY_DELAY_MS;
}

export type RetryPlan =
  | { kind: 'retry'; delayMs: number; nextAttemptAtMs: number }
  | { kind: 'give-up'; reason: string };

/**
 * Plans what follows a failed attempt. A Retry-After from the receiver can only lengthen the
 * scheduled wait (never shorten it, so a receiver cannot make us hammer it), up to MAX_RETRY_AFTER_MS.
 * The delivery gives up when the next attempt would fall after the retry deadline.
 */
export function planRetry(options: {
  failedAttempt: number;
  retryAfterMs: number | null;
  failedAtMs: number;
  retryDeadlineMs: number | null;
}): RetryPlan {
  const scheduled = scheduledDelayMs(options.failedAttempt);
  const requested = options.retryAfterMs === null ? 0 : Math.min(options.retryAfterMs, MAX_RETRY_AFTER_MS);
  const delayMs = Math.max(scheduled, requested);
  const nextAttemptAtMs = options.failedAtMs + delayMs;

  if (options.retryDeadlineMs !== null && nextAttemptAtMs > options.retryDeadlineMs) {
    return {
      kind: 'give-up',
      reason: `retry window ended after ${options.failedAttempt} attempt${options.failedAttempt === 1 ? '' : 's'}`,
    };
  }
  return { kind: 'retry', delayMs, nextAttemptAtMs };
}
