import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { StreamedDelivery } from '../../src/workflows/definitions.js';
import { DEFAULT_RETRY_SCHEDULE } from '../../src/workflows/retry-schedule.js';
import { enqueueDelivery, newestQueuedVersion, planNextDelivery } from '../../src/workflows/stream-queue.js';

function delivery(version: number): StreamedDelivery {
  return { deliveryId: `msg_v${version}`, eventId: `evt_v${version}`, version, retryWindowMs: null, retrySchedule: DEFAULT_RETRY_SCHEDULE };
}

function queueOf(...versions: number[]): StreamedDelivery[] {
  return versions.reduce<StreamedDelivery[]>((queue, version) => enqueueDelivery(queue, delivery(version)), []);
}

function versionsOf(deliveries: readonly StreamedDelivery[]): number[] {
  return deliveries.map((item) => item.version);
}

describe('enqueueDelivery', () => {
  test('keeps version order whatever the arrival order', () => {
    assert.deepEqual(versionsOf(queueOf(3, 1, 2)), [1, 2, 3]);
  });

  test('drops a repeated delivery', () => {
    const queue = enqueueDelivery(queueOf(1, 2), delivery(2));

    assert.deepEqual(versionsOf(queue), [1, 2]);
  });

  test('leaves the given queue unchanged', () => {
    const queue = queueOf(2);
    enqueueDelivery(queue, delivery(1));

    assert.deepEqual(versionsOf(queue), [2]);
  });
});

describe('planNextDelivery, every-event', () => {
  test('starts the lowest version and keeps the rest', () => {
    const step = planNextDelivery(queueOf(2, 3, 4), 'every-event', { version: 1, deliveryId: 'msg_v1' });

    assert.equal(step.next?.version, 2);
    assert.deepEqual(versionsOf(step.remaining), [3, 4]);
    assert.deepEqual(step.superseded, []);
  });

  test('still delivers a version that arrived late', () => {
    const step = planNextDelivery(queueOf(2), 'every-event', { version: 5, deliveryId: 'msg_v5' });

    assert.equal(step.next?.version, 2);
  });

  test('skips a repeat of the delivery started last', () => {
    const step = planNextDelivery(queueOf(5), 'every-event', { version: 5, deliveryId: 'msg_v5' });

    assert.equal(step.next, null);
    assert.deepEqual(step.remaining, []);
  });
});

describe('planNextDelivery, latest', () => {
  test('starts the newest and supersedes the older ones by it', () => {
    const step = planNextDelivery(queueOf(2, 3, 4), 'latest', { version: 1, deliveryId: 'msg_v1' });

    assert.equal(step.next?.version, 4);
    assert.deepEqual(versionsOf(step.superseded), [2, 3]);
    assert.deepEqual(step.supersededBy, { version: 4, deliveryId: 'msg_v4' });
    assert.deepEqual(step.remaining, []);
  });

  test('starts a single queued version', () => {
    const step = planNextDelivery(queueOf(1), 'latest', null);

    assert.equal(step.next?.version, 1);
    assert.deepEqual(step.superseded, []);
  });

  test('supersedes late versions by the one started last', () => {
    const step = planNextDelivery(queueOf(2, 3), 'latest', { version: 4, deliveryId: 'msg_v4' });

    assert.equal(step.next, null);
    assert.deepEqual(versionsOf(step.superseded), [2, 3]);
    assert.deepEqual(step.supersededBy, { version: 4, deliveryId: 'msg_v4' });
  });

  test('never supersedes the delivery started last by itself', () => {
    const step = planNextDelivery(queueOf(4), 'latest', { version: 4, deliveryId: 'msg_v4' });

    assert.equal(step.next, null);
    assert.deepEqual(step.superseded, []);
  });
});

describe('newestQueuedVersion', () => {
  test('is 0 for an empty queue', () => {
    assert.equal(newestQueuedVersion([]), 0);
  });

  test('is the highest version', () => {
    assert.equal(newestQueuedVersion(queueOf(2, 7, 3)), 7);
  });
});
