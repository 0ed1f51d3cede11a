import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  DAY_MS,
  DEFAULT_RETRY_SCHEDULE,
  MAX_RETRY_AFTER_MS,
  RETRY_DELAYS_MS,
  STEADY_RETRY_DELAY_MS,
  parseRetrySchedule,
  planRetry,
  scheduledDelayMs,
  type RetryPlan,
} from '../../src/workflows/retry-schedule.js';

const SECOND_MS = 1000;
const MINUTE_MS = 60 * SECOND_MS;
const HOUR_MS = 60 * MINUTE_MS;

const FAILED_AT_MS = Date.UTC(2025, 0, 1);

function expectRetry(plan: RetryPlan): { delayMs: number; nextAttemptAtMs: number } {
  assert.equal(plan.kind, 'retry', `expected a retry, got ${JSON.stringify(plan)}`);
  return plan as Extract<RetryPlan, { kind: 'retry' }>;
}

function expectGiveUp(plan: RetryPlan): { reason: string } {
  assert.equal(plan.kind, 'give-up', `expected give-up, got ${JSON.stringify(plan)}`);
  return plan as Extract<RetryPlan, { kind: 'give-up' }>;
}

describe('scheduledDelayMs', () => {
  test('follows the documented schedule', () => {
    // Attempt 1 runs immediately. Each entry is the wait after that failed attempt.
    const expected = [5 * SECOND_MS, 5 * MINUTE_MS, 30 * MINUTE_MS, 2 * HOUR_MS, 5 * HOUR_MS, 10 * HOUR_MS];
    expected.forEach((delayMs, index) => {
      assert.equal(scheduledDelayMs(index + 1), delayMs, `wait after attempt ${index + 1}`);
    });
  });

  test('waits 12 h from attempt seven on', () => {
    for (const failedAttempt of [7, 8, 20, 1000]) {
      assert.equal(scheduledDelayMs(failedAttempt), 12 * HOUR_MS, `wait after attempt ${failedAttempt}`);
    }
  });

  test('exported constants match the schedule', () => {
    assert.equal(RETRY_DELAYS_MS.length, 6);
    assert.equal(STEADY_RETRY_DELAY_MS, 12 * HOUR_MS);
    assert.equal(MAX_RETRY_AFTER_MS, 24 * HOUR_MS);
    assert.equal(DAY_MS, 24 * HOUR_MS);
  });

  test('schedule never shortens between attempts', () => {
    for (let failedAttempt = 1; failedAttempt < 10; failedAttempt += 1) {
      assert.ok(scheduledDelayMs(failedAttempt + 1) >= scheduledDelayMs(failedAttempt), `wait after attempt ${failedAttempt + 1}`);
    }
  });

  test('schedule fits 65 attempts in 30 days', () => {
    // Attempts 1-7 start within 17 h 35 min 5 s. Then 58 more 12 h waits end at 713 h 35 min 5 s,
    // and a 59th would end at 725 h 35 min 5 s, past the 720 h window.
    const windowMs = 30 * DAY_MS;
    let attempts = 1;
    let elapsedMs = 0;
    while (elapsedMs + scheduledDelayMs(attempts) <= windowMs) {
      elapsedMs += scheduledDelayMs(attempts);
      attempts += 1;
    }

    assert.equal(attempts, 65);
    assert.equal(elapsedMs, 713 * HOUR_MS + 35 * MINUTE_MS + 5 * SECOND_MS);
  });
});

describe('planRetry', () => {
  test('plan without Retry-After uses the schedule', () => {
    const plan = expectRetry(planRetry({ failedAttempt: 1, retryAfterMs: null, failedAtMs: FAILED_AT_MS, retryDeadlineMs: null }));

    assert.equal(plan.delayMs, 5 * SECOND_MS);
    assert.equal(plan.nextAttemptAtMs, FAILED_AT_MS + 5 * SECOND_MS);
  });

  test('plan uses the steady wait late in the schedule', () => {
    const plan = expectRetry(planRetry({ failedAttempt: 9, retryAfterMs: null, failedAtMs: FAILED_AT_MS, retryDeadlineMs: null }));

    assert.equal(plan.delayMs, 12 * HOUR_MS);
  });

  test('longer Retry-After lengthens the wait', () => {
    const plan = expectRetry(planRetry({ failedAttempt: 1, retryAfterMs: 90 * SECOND_MS, failedAtMs: FAILED_AT_MS, retryDeadlineMs: null }));

    assert.equal(plan.delayMs, 90 * SECOND_MS);
    assert.equal(plan.nextAttemptAtMs, FAILED_AT_MS + 90 * SECOND_MS);
  });

  test('shorter Retry-After keeps the scheduled wait', () => {
    const plan = expectRetry(planRetry({ failedAttempt: 3, retryAfterMs: 10 * SECOND_MS, failedAtMs: FAILED_AT_MS, retryDeadlineMs: null }));

    assert.equal(plan.delayMs, 30 * MINUTE_MS);
  });

  test('zero Retry-After keeps the scheduled wait', () => {
    const plan = expectRetry(planRetry({ failedAttempt: 2, retryAfterMs: 0, failedAtMs: FAILED_AT_MS, retryDeadlineMs: null }));

    assert.equal(plan.delayMs, 5 * MINUTE_MS);
  });

  test('Retry-After is capped at the maximum', () => {
    const plan = expectRetry(planRetry({ failedAttempt: 1, retryAfterMs: 7 * DAY_MS, failedAtMs: FAILED_AT_MS, retryDeadlineMs: null }));

    assert.equal(plan.delayMs, MAX_RETRY_AFTER_MS);
    assert.equal(plan.nextAttemptAtMs, FAILED_AT_MS + MAX_RETRY_AFTER_MS);
  });

  test('infinite Retry-After is capped at the maximum', () => {
    const plan = expectRetry(planRetry({ failedAttempt: 1, retryAfterMs: Number.POSITIVE_INFINITY, failedAtMs: FAILED_AT_MS, retryDeadlineMs: null }));

    assert.equal(plan.delayMs, MAX_RETRY_AFTER_MS);
  });

  test('plan retries exactly at the deadline', () => {
    const plan = expectRetry(planRetry({ failedAttempt: 2, retryAfterMs: null, failedAtMs: FAILED_AT_MS, retryDeadlineMs: FAILED_AT_MS + 5 * MINUTE_MS }));

    assert.equal(plan.nextAttemptAtMs, FAILED_AT_MS + 5 * MINUTE_MS);
  });

  test('plan gives up past the deadline', () => {
    const plan = expectGiveUp(planRetry({ failedAttempt: 2, retryAfterMs: null, failedAtMs: FAILED_AT_MS, retryDeadlineMs: FAILED_AT_MS + 5 * MINUTE_MS - 1 }));

    assert.equal(plan.reason, 'retry window ended after 2 attempts');
  });

  test('give-up reason uses singular for one attempt', () => {
    const plan = expectGiveUp(planRetry({ failedAttempt: 1, retryAfterMs: null, failedAtMs: FAILED_AT_MS, retryDeadlineMs: FAILED_AT_MS }));

    assert.equal(plan.reason, 'retry window ended after 1 attempt');
  });

  test('Retry-After past the deadline gives up', () => {
    // The scheduled 5 s would fit, but the receiver requested an hour and the window ends in 10 min.
    const plan = planRetry({ failedAttempt: 1, retryAfterMs: HOUR_MS, failedAtMs: FAILED_AT_MS, retryDeadlineMs: FAILED_AT_MS + 10 * MINUTE_MS });

    assert.equal(plan.kind, 'give-up');
  });

  test('null deadline never gives up', () => {
    for (const failedAttempt of [1, 7, 100, 100_000]) {
      const plan = planRetry({ failedAttempt, retryAfterMs: MAX_RETRY_AFTER_MS, failedAtMs: FAILED_AT_MS + failedAttempt * DAY_MS, retryDeadlineMs: null });
      assert.equal(plan.kind, 'retry', `after attempt ${failedAttempt}`);
    }
  });

  test('planning over 30 days allows 65 attempts', () => {
    const firstAttemptAtMs = FAILED_AT_MS;
    const retryDeadlineMs = firstAttemptAtMs + 30 * DAY_MS;
    let attemptAtMs = firstAttemptAtMs;
    let failedAttempt = 1;
    let plan = planRetry({ failedAttempt, retryAfterMs: null, failedAtMs: attemptAtMs, retryDeadlineMs });
    while (plan.kind === 'retry') {
      attemptAtMs = plan.nextAttemptAtMs;
      failedAttempt += 1;
      plan = planRetry({ failedAttempt, retryAfterMs: null, failedAtMs: attemptAtMs, retryDeadlineMs });
    }

    assert.equal(failedAttempt, 65);
    assert.equal(plan.reason, 'retry window ended after 65 attempts');
    assert.ok(attemptAtMs <= retryDeadlineMs);
  });
});

describe('parseRetrySchedule', () => {
  test('default text gives the default schedule', () => {
    assert.deepEqual(parseRetrySchedule('5s,5m,30m,2h,5h,10h,12h'), { delaysMs: [...DEFAULT_RETRY_SCHEDULE.delaysMs], steadyDelayMs: DEFAULT_RETRY_SCHEDULE.steadyDelayMs });
  });

  test('one duration repeats forever', () => {
    assert.deepEqual(parseRetrySchedule('30s'), { delaysMs: [], steadyDelayMs: 30_000 });
  });

  test('units and fractions are read', () => {
    assert.deepEqual(parseRetrySchedule('250ms,1.5s,1d'), { delaysMs: [250, 1500], steadyDelayMs: DAY_MS });
  });

  test('malformed entries give undefined', () => {
    for (const text of ['', '5', '5 s', '5x', 's', '5s,,1m', '-5s', '0s']) {
      assert.equal(parseRetrySchedule(text), undefined, JSON.stringify(text));
    }
  });

  test('custom schedule drives planRetry', () => {
    const schedule = { delaysMs: [100], steadyDelayMs: 1000 };
    const first = planRetry({ failedAttempt: 1, schedule, retryAfterMs: null, failedAtMs: 0, retryDeadlineMs: null });
    const later = planRetry({ failedAttempt: 5, schedule, retryAfterMs: null, failedAtMs: 0, retryDeadlineMs: null });

    assert.deepEqual(first, { kind: 'retry', delayMs: 100, nextAttemptAtMs: 100 });
    assert.deepEqual(later, { kind: 'retry', delayMs: 1000, nextAttemptAtMs: 1000 });
  });
});
