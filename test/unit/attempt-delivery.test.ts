import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createAttemptDelivery } from '../../src/activities/attempt-delivery.js';
import { EndpointConcurrencyLimiter } from '../../src/activities/endpoint-limiter.js';
import type { SendResult, SignedRequest, WebhookSender } from '../../src/activities/send-webhook.js';
import type { AttemptDeliveryInput, AttemptOutcome } from '../../src/activities/types.js';
import { SecretBox, generateSigningSecret } from '../../src/domain/secrets.js';
import type { Store } from '../../src/store/mongo.js';

const secretBox = new SecretBox(randomBytes(32));
const subscriptionId = 'sub_01HZZZZZZZZZZZZZZZZZZZZZZZ';

/**
 * A store whose delivery updates fail a given number of times. Only the calls the attempt
 * activity makes are implemented; this is a unit test of the activity's own control flow.
 */
function storeFailingUpdates(failures: number): { store: Store; updates: () => number; deliveryReads: () => number } {
  let updates = 0;
  let deliveryReads = 0;
  const store = {
    deliveries: {
      findOne: async () => {
        deliveryReads++;
        return { _id: 'msg_1', eventId: 'evt_1', subscriptionId };
      },
      updateOne: async () => {
        updates++;
        if (updates <= failures) {
          throw new Error('SQLITE_BUSY: database is locked');
        }
        return { acknowledged: true, matchedCount: 1, modifiedCount: 1 };
      },
    },
    events: {
      findOne: async () => ({
        _id: 'evt_1',
        type: 'record.updated',
        kind: 'products',
        recordId: 'p21',
        version: 2,
        dataJson: '{"price":10}',
        createdAt: new Date(0),
        recordCreatedAt: new Date(0),
        dispatchedAt: new Date(0),
      }),
    },
    subscriptions: {
      updateOne: async () => {
        updates++;
        throw new Error('SQLITE_BUSY: database is locked');
      },
      findOne: async () => ({
        _id: subscriptionId,
        status: 'active',
        url: 'http://127.0.0.1:9/hooks',
        method: 'POST',
        secretCiphertext: secretBox.encrypt(generateSigningSecret(), subscriptionId),
      }),
    },
  };
  return { store: store as unknown as Store, updates: () => updates, deliveryReads: () => deliveryReads };
}

class CountingSender {
  readonly sent: SignedRequest[] = [];
  constructor(private readonly statusCode: number) {}
  async send(request: SignedRequest): Promise<SendResult> {
    this.sent.push(request);
    return { kind: 'response', statusCode: this.statusCode, durationMs: 3, retryAfterMs: null, body: '', abort: false };
  }
}

const input: AttemptDeliveryInput = { deliveryId: 'msg_1', attempt: 1, retryStep: 1, scheduledAtMs: 0, retryDeadlineMs: null };

async function attemptWith(
  failures: number,
  statusCode = 204,
  attemptInput = input,
): Promise<{ outcome: AttemptOutcome; sender: CountingSender; updates: number; deliveryReads: number }> {
  const { store, updates, deliveryReads } = storeFailingUpdates(failures);
  const sender = new CountingSender(statusCode);
  const attemptDelivery = createAttemptDelivery({
    store,
    secretBox,
    sender: sender as unknown as WebhookSender,
    limiter: new EndpointConcurrencyLimiter(8),
    metrics: { recordAttempt() {} },
    endpointDisableAfterMs: 86_400_000,
    // A healthy endpoint's success never starts a catch-up, so Temporal is never called here.
    catchUp: { store, temporal: undefined as never, catchUpRatePerSecond: 50 },
  });
  const outcome: AttemptOutcome = await new MockActivityEnvironment().run(attemptDelivery, attemptInput);
  return { outcome, sender, updates: updates(), deliveryReads: deliveryReads() };
}

describe('attemptDelivery when MongoDB refuses the record write', () => {
  test('record write retried until it succeeds', async () => {
    const { outcome, sender, updates } = await attemptWith(2);

    assert.equal(outcome.kind, 'delivered');
    assert.equal(outcome.unrecorded, undefined);
    assert.equal(sender.sent.length, 1);
    assert.equal(updates, 3);
  });

  test('unrecorded outcome instead of a resend', async () => {
    const { outcome, sender, updates } = await attemptWith(Number.POSITIVE_INFINITY);

    assert.equal(outcome.kind, 'delivered');
    assert.equal(outcome.unrecorded, true);
    assert.equal(sender.sent.length, 1);
    assert.ok(updates > 1, 'the write is tried more than once');
  });

  test('failed health write still reports', async () => {
    const { outcome, sender } = await attemptWith(0, 500);

    assert.equal(outcome.kind, 'failed');
    assert.equal(outcome.unrecorded, undefined);
    assert.equal(sender.sent.length, 1);
  });
});

describe('attemptDelivery reads', () => {
  test('ids from the workflow skip the delivery read', async () => {
    const { outcome, sender, deliveryReads } = await attemptWith(0, 204, { ...input, eventId: 'evt_1', subscriptionId });

    assert.equal(outcome.kind, 'delivered');
    assert.equal(sender.sent.length, 1);
    assert.equal(sender.sent[0]!.webhookId, 'msg_1');
    assert.equal(deliveryReads, 0);
  });

  test('input without ids reads the delivery', async () => {
    const { outcome, deliveryReads } = await attemptWith(0);

    assert.equal(outcome.kind, 'delivered');
    assert.equal(deliveryReads, 1);
  });
});
