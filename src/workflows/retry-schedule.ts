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

/** Maximum wait a receiver can request with Retry-After. A longer value is cut to this. */
export const MAX_RETRY_AFTER_MS = 24 * HOUR_MS;

export const DAY_MS = 24 * HOUR_MS;

/**
 * Waits between attempts: `delaysMs[0]` after the first failed attempt, and so on, then
 * `steadyDelayMs` after every later one. It travels in workflow inputs, so a delivery keeps the
 * schedule it started with even if the configuration changes meanwhile.
 */
export interface RetrySchedule {
  delaysMs: readonly number[];
  steadyDelayMs: number;
}

/** Immediately, then 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, then every 12 h. */
export const DEFAULT_RETRY_SCHEDULE: RetrySchedule = { delaysMs: RETRY_DELAYS_MS, steadyDelayMs: STEADY_RETRY_DELAY_MS };

/** Returns how long to wait after the given failed attempt (1-based) before the next one. */
export function scheduledDelayMs(failedAttempt: number, schedule: RetrySchedule = DEFAULT_RETRY_SCHEDULE): number {
  return schedule.delaysMs[failedAttempt - 1] ?? schedule.steadyDelayMs;
}

const DURATION_PATTERN = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: SECOND_MS, m: MINUTE_MS, h: HOUR_MS, d: DAY_MS };

/**
 * Parses a schedule written as comma-separated durations, such as `5s,5m,30m,2h,5h,10h,12h`,
 * where the last one repeats. Returns undefined when the text is not such a list.
 */
export function parseRetrySchedule(text: string): RetrySchedule | undefined {
  const delaysMs: number[] = [];
  for (const part of text.split(',')) {
    const match = DURATION_PATTERN.exec(part.trim());
    if (match === null) {
      return undefined;
    }
    delaysMs.push(Math.round(Number(match[1]) * UNIT_MS[match[2]!]!));
  }

  const steadyDelayMs = delaysMs.pop();
  if (steadyDelayMs === undefined || steadyDelayMs <= 0) {
    return undefined;
  }
  return { delaysMs, steadyDelayMs };
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
  schedule?: RetrySchedule;
  retryAfterMs: number | null;
  failedAtMs: number;
  retryDeadlineMs: number | null;
}): RetryPlan {
  const scheduled = scheduledDelayMs(options.failedAttempt, options.schedule);
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
