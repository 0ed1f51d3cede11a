import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseRetryAfter } from '../../src/activities/send-webhook.js';

const NOW_MS = Date.parse('2025-10-21T07:28:00Z');

describe('parseRetryAfter', () => {
  test('seconds become milliseconds', () => {
    assert.equal(parseRetryAfter('120', NOW_MS), 120_000);
  });

  test('zero seconds is zero', () => {
    assert.equal(parseRetryAfter('0', NOW_MS), 0);
  });

  test('surrounding whitespace is ignored', () => {
    assert.equal(parseRetryAfter('  30 ', NOW_MS), 30_000);
  });

  test('HTTP date gives the time until it', () => {
    assert.equal(parseRetryAfter('Tue, 21 Oct 2025 07:29:30 GMT', NOW_MS), 90_000);
  });

  test('HTTP date equal to now is zero', () => {
    assert.equal(parseRetryAfter('Tue, 21 Oct 2025 07:28:00 GMT', NOW_MS), 0);
  });

  test('past date is zero', () => {
    assert.equal(parseRetryAfter('Wed, 21 Oct 2015 07:28:00 GMT', NOW_MS), 0);
  });

  test('garbage is null', () => {
    for (const header of ['soon', 'later please', '1e3', '12 seconds', 'NaN']) {
      assert.equal(parseRetryAfter(header, NOW_MS), null, JSON.stringify(header));
    }
  });

  test('signed or fractional seconds are null', () => {
    assert.equal(parseRetryAfter('-5', NOW_MS), null);
    assert.equal(parseRetryAfter('1.5', NOW_MS), null);
  });

  test('date that is not an IMF-fixdate is null', () => {
    assert.equal(parseRetryAfter('Tue Oct 21 07:28:00 2025', NOW_MS), null);
    assert.equal(parseRetryAfter('foo 2', NOW_MS), null);
  });

  test('absent or empty header is null', () => {
    assert.equal(parseRetryAfter(undefined, NOW_MS), null);
    assert.equal(parseRetryAfter('', NOW_MS), null);
    assert.equal(parseRetryAfter('   ', NOW_MS), null);
  });

  test('array header uses the first value', () => {
    assert.equal(parseRetryAfter(['7', '99'], NOW_MS), 7000);
  });

  test('empty array header is null', () => {
    assert.equal(parseRetryAfter([], NOW_MS), null);
  });
});
