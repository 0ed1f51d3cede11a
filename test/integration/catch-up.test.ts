import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import protos from '@temporalio/proto';
import { catchUpWorkflowId } from '../../src/workflows/definitions.js';
import { Stack } from '../support/stack.js';
import { TestReceiver, eventually } from '../support/receiver.js';

const { EventType } = protos.temporal.api.enums.v1;

const HOUR_MS = 3_600_000;
const RATE_PER_SECOND = 5;
const WAITING_DELIVERIES = 12;

function timestampToMs(timestamp: { seconds?: { toString(): string } | null; nanos?: number | null } | null | undefined): number {
  assert.ok(timestamp, 'history event has no eventTime');
  return Number(timestamp.seconds?.toString() ?? '0') * 1000 + Math.floor((timestamp.nanos ?? 0) / 1_000_000);
}

describe('catch-up after an outage', () => {
  let stack: Stack;

  before(async () => {
    // After a failed first attempt the next one is 2 h away, so only a catch-up delivers within the test.
    stack = await Stack.start({ DELIVERY_RETRY_SCHEDULE: '2h', CATCH_UP_RATE_PER_SECOND: String(RATE_PER_SECOND) });
  });

  after(async () => {
    await stack.stop();
  });

  /**
   * Returns the workflow time of each batch of wakes, read from the catch-up's history: the start
   * of the workflow task that scheduled the batch, which is the time the workflow code saw.
   */
  async function wakeBatchTimes(subscriptionId: string): Promise<number[]> {
    const history = await stack.services.temporal.client.workflow.getHandle(catchUpWorkflowId(subscriptionId)).fetchHistory();
    const batchTimes: number[] = [];
    let taskStartedAtMs = 0;
    for (const event of history.events ?? []) {
      if (event.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED) {
        taskStartedAtMs = timestampToMs(event.eventTime);
      }
      if (event.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED && event.activityTaskScheduledEventAttributes?.activityType?.name === 'wakeWaitingDeliveries') {
        batchTimes.push(taskStartedAtMs);
      }
    }
    return batchTimes;
  }

  test('waiting deliveries go right after a success', async (t) => {
    const receiver = await new TestReceiver().start();
    t.after(() => receiver.stop());

    let isUp = false;
    receiver.respond = () => (isUp ? { status: 204 } : { status: 503, body: 'down' });
    const created = await stack.request('POST', '/v1/subscriptions', { target: 'outage/*', url: receiver.url });
    assert.equal(created.status, 201);
    const subscriptionId: string = created.body.id;

    for (let index = 0; index < WAITING_DELIVERIES; index++) {
      const written = await stack.request('PUT', `/v1/records/outage/r${index}`, { index });
      assert.equal(written.status, 201);
    }
    const waiting = await eventually('every delivery to wait for its retry', async () => {
      const rows = await stack.services.store.deliveries.find({ subscriptionId, status: 'retrying' }).toArray();
      return rows.length === WAITING_DELIVERIES ? rows : undefined;
    });
    for (const row of waiting) {
      assert.ok(row.nextAttemptAt!.getTime() > Date.now() + HOUR_MS, `delivery ${row._id} is not waiting hours`);
    }

    // The endpoint recovers, and a new event's first attempt is the success that starts the catch-up.
    isUp = true;
    await stack.request('PUT', '/v1/records/outage/after', { recovered: true });

    await eventually('every delivery to succeed', async () => {
      const succeeded = await stack.services.store.deliveries.countDocuments({ subscriptionId, status: 'succeeded' });
      return succeeded === WAITING_DELIVERIES + 1 ? true : undefined;
    }, 60_000);

    const rows = await stack.services.store.deliveries.find({ subscriptionId, _id: { $in: waiting.map((row) => row._id) } }).toArray();
    for (const row of rows) {
      assert.equal(row.attemptCount, 2, `delivery ${row._id} was attempted ${row.attemptCount} times, expected once before and once after the recovery`);
    }
    assert.equal(receiver.requests.length, 2 * WAITING_DELIVERIES + 1);

    const batchTimes = await wakeBatchTimes(subscriptionId);
    assert.equal(batchTimes.length, Math.ceil(WAITING_DELIVERIES / RATE_PER_SECOND), `batches at ${batchTimes.join(', ')}`);
    for (let index = 1; index < batchTimes.length; index++) {
      const gapMs = batchTimes[index]! - batchTimes[index - 1]!;
      assert.ok(gapMs >= 1000, `batch ${index + 1} of ${RATE_PER_SECOND} wakes came ${gapMs} ms after the previous one`);
    }
  });
});
