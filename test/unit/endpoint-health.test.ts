import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { failingStreakStart, formatDuration, isFailingTooLong } from '../../src/domain/endpoint-health.js';

const at = (seconds: number) => new Date(Date.UTC(2026, 0, 1) + seconds * 1000);

describe('endpoint health', () => {
  test('no failure means healthy', () => {
    assert.equal(failingStreakStart({}), null);
  });

  test('failure without success starts a streak', () => {
    assert.deepEqual(failingStreakStart({ failingSince: at(10) }), at(10));
  });

  test('success after the failure ends the streak', () => {
    assert.equal(failingStreakStart({ failingSince: at(10), lastSuccessAt: at(20) }), null);
  });

  test('success at the failure time ends the streak', () => {
    assert.equal(failingStreakStart({ failingSince: at(10), lastSuccessAt: at(10) }), null);
  });

  test('failure after the success is a streak', () => {
    assert.deepEqual(failingStreakStart({ failingSince: at(30), lastSuccessAt: at(20) }), at(30));
  });

  test('disables only after the configured time', () => {
    const subscription = { failingSince: at(0) };
    assert.equal(isFailingTooLong(subscription, at(4).getTime(), 5000), false);
    assert.equal(isFailingTooLong(subscription, at(5).getTime(), 5000), true);
  });

  test('healthy endpoint is never failing too long', () => {
    assert.equal(isFailingTooLong({ failingSince: at(0), lastSuccessAt: at(1) }, at(100).getTime(), 5000), false);
  });

  test('formats durations by their largest whole unit', () => {
    assert.equal(formatDuration(5 * 86_400_000), '5 days');
    assert.equal(formatDuration(3_600_000), '1 hour');
    assert.equal(formatDuration(90_000), '90 seconds');
    assert.equal(formatDuration(1500), '1500 ms');
  });
});
