import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { AttemptOutcome } from '../../src/activities/types.js';
import { FAILING_AFTER_ATTEMPTS, operationalEventsAfter } from '../../src/domain/operational-events.js';
import { OPERATIONAL_KIND, type DeliveryDocument, type SubscriptionDocument } from '../../src/store/documents.js';

const now = new Date('2026-01-01T00:00:00.000Z');

const subscription: SubscriptionDocument = {
  _id: 'sub_1',
  target: 'products/*',
  kind: 'products',
  recordId: null,
  url: 'http://127.0.0.1:1/hooks',
  method: 'POST',
  secretCiphertext: 'x',
  status: 'active',
  statusReason: null,
  retryWindowDays: 30,
  dedupeKey: 'id:sub_1',
  operationalSubscriptionId: 'sub_ops',
  createdAt: now,
  updatedAt: now,
};

const delivery: DeliveryDocument = {
  _id: 'msg_1',
  eventId: 'evt_1',
  eventType: 'record.created',
  subscriptionId: 'sub_1',
  kind: 'products',
  recordId: 'p1',
  version: 1,
  status: 'retrying',
  statusReason: null,
  attemptCount: 3,
  attempts: [],
  nextAttemptAt: null,
  workflowId: 'delivery:evt_1:sub_1',
  createdAt: now,
  updatedAt: now,
};

const retrying: AttemptOutcome = { kind: 'failed', statusCode: 503, error: null, durationMs: 3, retryAfterMs: null, plan: { kind: 'retry', delayMs: 1000, nextAttemptAtMs: now.getTime() + 1000 } };
const givenUp: AttemptOutcome = { kind: 'failed', statusCode: 503, error: null, durationMs: 3, retryAfterMs: null, plan: { kind: 'give-up', reason: 'retry window ended after 3 attempts' } };

function eventsAfter(outcome: AttemptOutcome, retryStep: number, options: { kind?: string; disabledStreakStart?: Date } = {}) {
  return operationalEventsAfter({
    delivery: { ...delivery, kind: options.kind ?? delivery.kind },
    subscription,
    outcome,
    attempt: retryStep,
    retryStep,
    disabledStreakStart: options.disabledStreakStart ?? null,
  });
}

describe('operational events after an attempt', () => {
  test('failing only after the fourth failed attempt', () => {
    for (let step = 1; step <= 6; step++) {
      const types: string[] = eventsAfter(retrying, step).map((event) => event.type);
      assert.deepEqual(types, step === FAILING_AFTER_ATTEMPTS ? ['delivery.failing'] : [], `retry step ${step}`);
    }
  });

  test('exhausted when the retry window ends', () => {
    const [event] = eventsAfter(givenUp, 3);
    assert.equal(event?.type, 'delivery.exhausted');
    assert.equal(event?.data.reason, 'retry window ended after 3 attempts');
  });

  test('disabled for 410 Gone', () => {
    const [event] = eventsAfter({ kind: 'gone', statusCode: 410, durationMs: 1 }, 1);
    assert.equal(event?.type, 'subscription.disabled');
    assert.equal(event?.data.subscriptionId, 'sub_1');
  });

  test('disabled by health replaces exhausted', () => {
    const events = eventsAfter(givenUp, 9, { disabledStreakStart: now });
    assert.deepEqual(events.map((event) => event.type), ['subscription.disabled']);
    assert.equal(events[0]?.key, `subscription.disabled:sub_1:${now.getTime()}`);
  });

  test('keys are stable per delivery and attempt', () => {
    assert.deepEqual(eventsAfter(retrying, 4), eventsAfter(retrying, 4));
    assert.equal(eventsAfter(retrying, 4)[0]?.key, 'delivery.failing:msg_1:4');
  });

  test('no events about operational deliveries', () => {
    assert.deepEqual(eventsAfter(retrying, 4, { kind: OPERATIONAL_KIND }), []);
    assert.deepEqual(eventsAfter(givenUp, 2, { kind: OPERATIONAL_KIND }), []);
    assert.deepEqual(eventsAfter(givenUp, 2, { kind: OPERATIONAL_KIND, disabledStreakStart: now }), []);
  });

  test('no events for success, abort or skip', () => {
    assert.deepEqual(eventsAfter({ kind: 'delivered', statusCode: 200, durationMs: 1 }, 4), []);
    assert.deepEqual(eventsAfter({ kind: 'aborted', statusCode: 500, durationMs: 1 }, 4), []);
    assert.deepEqual(eventsAfter({ kind: 'skipped', reason: 'paused' }, 4), []);
  });
});
