import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { deliveryWorkflowId } from '../../src/workflows/definitions.js';
import { Stack } from '../support/stack.js';
import { TestReceiver, eventually, type ReceivedRequest } from '../support/receiver.js';

/** Short enough for a test; the default is 5 days. */
const DISABLE_AFTER = '3s';

describe('endpoint health, abort and operational events', () => {
  let stack: Stack;
  let operations: TestReceiver;
  let operational: { id: string; secret: string };

  before(async () => {
    stack = await Stack.start({ ENDPOINT_DISABLE_AFTER: DISABLE_AFTER, DELIVERY_RETRY_SCHEDULE: '300ms' });
    operations = await new TestReceiver().start();
    const created = await stack.request('POST', '/v1/subscriptions', { target: 'operational', url: operations.url });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    operational = created.body;
  });

  after(async () => {
    await stack.stop();
    await operations.stop();
  });

  async function withReceiver<T>(run: (receiver: TestReceiver) => Promise<T>): Promise<T> {
    const receiver = await new TestReceiver().start();
    try {
      return await run(receiver);
    } finally {
      await receiver.stop();
    }
  }

  async function subscribe(target: string, url: string, extra: Record<string, unknown> = {}) {
    const created = await stack.request('POST', '/v1/subscriptions', { target, url, operationalSubscriptionId: operational.id, ...extra });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    return created.body as { id: string; secret: string };
  }

  /** Waits for an operational event of this type about this subscription and returns its verified payload and request. */
  async function operationalEvent(type: string, subscriptionId: string): Promise<{ payload: any; request: ReceivedRequest }> {
    return eventually(`${type} about ${subscriptionId}`, async () => {
      for (const request of operations.requests) {
        const payload = new Webhook(operational.secret).verify(request.body, request.headers as Record<string, string>) as any;
        if (payload.type === type && payload.data.subscriptionId === subscriptionId) {
          return { payload, request };
        }
      }
      return undefined;
    });
  }

  async function subscription(id: string) {
    return (await stack.request('GET', `/v1/subscriptions/${id}`)).body;
  }

  test('failing endpoint is disabled after the configured time', () =>
    withReceiver(async (receiver) => {
      receiver.respond = () => ({ status: 503 });
      const watched = await subscribe('health/h1', receiver.url);
      await stack.request('PUT', '/v1/records/health/h1', { n: 1 });

      const disabled = await eventually('the subscription to be disabled', async () => {
        const current = await subscription(watched.id);
        return current.status === 'disabled' ? current : undefined;
      });
      assert.match(disabled.statusReason, /every attempt failed since .* for longer than 3 seconds/);
      assert.notEqual(disabled.failingSince, null);

      const { payload } = await operationalEvent('subscription.disabled', watched.id);
      assert.equal(payload.data.url, receiver.url);
      assert.equal(payload.data.failingSince, disabled.failingSince);

      const delivery = await eventually('the delivery to end', async () => {
        const listed = await stack.request('GET', `/v1/deliveries?subscriptionId=${watched.id}`);
        return listed.body.data[0]?.status === 'failed' ? listed.body.data[0] : undefined;
      });
      assert.match(delivery.statusReason, /subscription disabled/);
    }));

  test('success resets the failing clock', () =>
    withReceiver(async (receiver) => {
      receiver.respond = () => ({ status: 503 });
      const watched = await subscribe('health/r1', receiver.url);
      await stack.request('PUT', '/v1/records/health/r1', { n: 1 });
      const firstStreak = await eventually('a failing streak', async () => (await subscription(watched.id)).failingSince ?? undefined);

      receiver.respond = () => ({ status: 204 });
      await eventually('the streak to end', async () => ((await subscription(watched.id)).failingSince === null ? true : undefined));

      receiver.respond = () => ({ status: 503 });
      await stack.request('PUT', '/v1/records/health/r1', { n: 2 });
      const secondStreak = await eventually('a new failing streak', async () => (await subscription(watched.id)).failingSince ?? undefined);
      assert.ok(Date.parse(secondStreak) > Date.parse(firstStreak), `${secondStreak} should be after ${firstStreak}`);

      const disabled = await eventually('the subscription to be disabled', async () => {
        const current = await subscription(watched.id);
        return current.status === 'disabled' ? current : undefined;
      });
      assert.ok(disabled.statusReason.includes(secondStreak), disabled.statusReason);
    }));

  test('abort header stops the retries', () =>
    withReceiver(async (receiver) => {
      receiver.respond = () => ({ status: 422, headers: { 'webhook-delivery': 'abort' } });
      const watched = await subscribe('health/a1', receiver.url);
      const written = await stack.request('PUT', '/v1/records/health/a1', { n: 1 });
      await receiver.waitForRequests(1);

      const result = await stack.services.temporal.client.workflow.getHandle(deliveryWorkflowId(written.body.eventId, watched.id)).result();
      assert.equal(result.status, 'aborted');
      assert.equal(result.attempts, 1);
      assert.equal(receiver.requests.length, 1);

      const listed = await stack.request('GET', `/v1/deliveries?subscriptionId=${watched.id}&status=aborted`);
      assert.equal(listed.body.data.length, 1);
      assert.match(listed.body.data[0].statusReason, /webhook-delivery: abort/);

      const query = `DoorbellSubscriptionId = "${watched.id}" AND DoorbellDeliveryStatus = "aborted"`;
      await eventually('the aborted search attribute', async () => {
        for await (const execution of stack.services.temporal.client.workflow.list({ query })) {
          return execution;
        }
        return undefined;
      });
    }));

  test('operational subscription must have the operational target', () =>
    withReceiver(async (receiver) => {
      const plain = await stack.request('POST', '/v1/subscriptions', { target: 'health/*', url: receiver.url });
      const response = await stack.request('POST', '/v1/subscriptions', { target: 'health/*', url: receiver.url, operationalSubscriptionId: plain.body.id });
      assert.equal(response.status, 422);
      assert.equal(response.body.errors[0].field, 'body.operationalSubscriptionId');
    }));
});

describe('operational events about one delivery', () => {
  let stack: Stack;
  let operations: TestReceiver;
  let operational: { id: string; secret: string };

  before(async () => {
    // The health limit is far off here, so the retry window ends first.
    stack = await Stack.start({ ENDPOINT_DISABLE_AFTER: '1h', DELIVERY_RETRY_SCHEDULE: '300ms' });
    operations = await new TestReceiver().start();
    const created = await stack.request('POST', '/v1/subscriptions', { target: 'operational', url: operations.url });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    operational = created.body;
  });

  after(async () => {
    await stack.stop();
    await operations.stop();
  });

  async function withReceiver<T>(run: (receiver: TestReceiver) => Promise<T>): Promise<T> {
    const receiver = await new TestReceiver().start();
    try {
      return await run(receiver);
    } finally {
      await receiver.stop();
    }
  }

  async function subscribe(target: string, url: string, extra: Record<string, unknown> = {}) {
    const created = await stack.request('POST', '/v1/subscriptions', { target, url, operationalSubscriptionId: operational.id, ...extra });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    return created.body as { id: string; secret: string };
  }

  /** Waits for an operational event of this type about this subscription and returns its verified payload and request. */
  async function operationalEvent(type: string, subscriptionId: string): Promise<{ payload: any; request: ReceivedRequest }> {
    return eventually(`${type} about ${subscriptionId}`, async () => {
      for (const request of operations.requests) {
        const payload = new Webhook(operational.secret).verify(request.body, request.headers as Record<string, string>) as any;
        if (payload.type === type && payload.data.subscriptionId === subscriptionId) {
          return { payload, request };
        }
      }
      return undefined;
    });
  }

  test('failing and exhausted arrive signed', () =>
    withReceiver(async (receiver) => {
      receiver.respond = () => ({ status: 500 });
      // 0.0001 days is 8.64 s: room for more than four attempts 300 ms apart (about 1 s apart on a loaded machine).
      const watched = await subscribe('health/x1', receiver.url, { retryWindowDays: 0.0001 });
      const written = await stack.request('PUT', '/v1/records/health/x1', { n: 1 });

      const failing = await operationalEvent('delivery.failing', watched.id);
      assert.equal(failing.payload.data.attemptCount, 4);
      assert.equal(failing.payload.data.eventId, written.body.eventId);
      assert.equal(failing.payload.data.lastAttempt.statusCode, 500);
      assert.deepEqual(failing.payload.data.record, { kind: 'health', id: 'x1', version: 1 });

      const exhausted = await operationalEvent('delivery.exhausted', watched.id);
      assert.match(exhausted.payload.data.reason, /retry window ended/);
      assert.notEqual(exhausted.request.headers['webhook-id'], failing.request.headers['webhook-id']);

      // Each operational event is a delivery of the operational subscription, with that id as its webhook-id.
      const listed = await stack.request('GET', `/v1/deliveries?subscriptionId=${operational.id}`);
      const ids = listed.body.data.map((delivery: { id: string }) => delivery.id);
      assert.ok(ids.includes(failing.request.headers['webhook-id']));
      assert.ok(ids.includes(exhausted.request.headers['webhook-id']));
      const record = listed.body.data.find((delivery: { id: string }) => delivery.id === failing.request.headers['webhook-id']);
      assert.equal(record.eventType, 'delivery.failing');
      assert.equal(record.record, null);
    }));

});
