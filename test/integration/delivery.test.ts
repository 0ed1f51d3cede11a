import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { deliveryWorkflowId, dispatchWorkflowId } from '../../src/workflows/definitions.js';
import { Stack } from '../support/stack.js';
import { TestReceiver, eventually } from '../support/receiver.js';

describe('delivery through the real stack', () => {
  let stack: Stack;

  before(async () => {
    stack = await Stack.start();
  });

  after(async () => {
    await stack.stop();
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
    const created = await stack.request('POST', '/v1/subscriptions', { target, url, ...extra });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    return created.body as { id: string; secret: string };
  }

  async function deliveryOf(subscriptionId: string, status?: string) {
    const query = `/v1/deliveries?subscriptionId=${subscriptionId}${status === undefined ? '' : `&status=${status}`}`;
    const listed = await stack.request('GET', query);
    assert.equal(listed.status, 200);
    return listed.body.data[0] as { id: string; status: string; attemptCount: number } | undefined;
  }

  test('signed webhook reaches a record subscriber', () =>
    withReceiver(async (receiver) => {
      const subscription = await subscribe('products/p21', receiver.url);
      assert.match(subscription.secret, /^whsec_/);

      const written = await stack.request('PUT', '/v1/records/products/p21', { name: 'Kettle', price: 25 });
      assert.equal(written.status, 201);
      assert.equal(written.body.version, 1);

      const [request] = await receiver.waitForRequests(1);
      assert.equal(request!.method, 'POST');
      assert.equal(request!.headers['content-type'], 'application/json');
      const payload = new Webhook(subscription.secret).verify(request!.body, request!.headers as Record<string, string>) as any;
      assert.equal(payload.type, 'record.created');
      assert.deepEqual(payload.data.record, { name: 'Kettle', price: 25 });
      assert.equal(payload.data.kind, 'products');
      assert.equal(payload.data.id, 'p21');
      assert.equal(payload.data.version, 1);
      assert.equal(payload.data.eventId, written.body.eventId);

      const delivery = await eventually('delivery to succeed', async () => deliveryOf(subscription.id, 'succeeded'));
      assert.equal(delivery.id, request!.headers['webhook-id']);
      assert.equal(delivery.attemptCount, 1);
    }));

  test('workflow histories never contain the secret', () =>
    withReceiver(async (receiver) => {
      const subscription = await subscribe('products/h1', receiver.url);
      const written = await stack.request('PUT', '/v1/records/products/h1', { name: 'Teapot' });
      await receiver.waitForRequests(1);
      const client = stack.services.temporal.client;

      const histories = await Promise.all([
        client.workflow.getHandle(dispatchWorkflowId(written.body.eventId)).fetchHistory(),
        client.workflow.getHandle(deliveryWorkflowId(written.body.eventId, subscription.id)).fetchHistory(),
      ]);
      const secretBytes = subscription.secret.slice('whsec_'.length);
      for (const history of histories) {
        const text = JSON.stringify(history);
        assert.ok(text.length > 0);
        assert.ok(!text.includes(secretBytes), 'history contains the signing secret');
      }
    }));

  test('search attributes find a delivery in Temporal', () =>
    withReceiver(async (receiver) => {
      const subscription = await subscribe('products/q1', receiver.url);
      await stack.request('PUT', '/v1/records/products/q1', { name: 'Jug' });
      await receiver.waitForRequests(1);

      const query = `DoorbellSubscriptionId = "${subscription.id}" AND DoorbellDeliveryStatus = "succeeded" AND DoorbellRecord = "products/q1"`;
      const found = await eventually('the delivery to be listed by its search attributes', async () => {
        const listed = [];
        for await (const execution of stack.services.temporal.client.workflow.list({ query })) {
          listed.push(execution);
        }
        return listed.length === 1 ? listed : undefined;
      });
      assert.equal(found[0]!.workflowId.endsWith(`:${subscription.id}`), true);
    }));

  test('webhook carries the record bytes as sent', () =>
    withReceiver(async (receiver) => {
      await subscribe('products/raw1', receiver.url);
      const sent = '{"sku": 12345678901234567890, "name": "Kettle"}';

      const written = await stack.request('PUT', '/v1/records/products/raw1', sent);
      assert.equal(written.status, 201);

      const [request] = await receiver.waitForRequests(1);
      assert.ok(request!.body.includes(`"record":${sent}`), request!.body);
    }));

  test('undecryptable secret is a failed attempt', () =>
    withReceiver(async (receiver) => {
      const subscription = await subscribe('products/key1', receiver.url);
      // A deploy with the wrong DOORBELL_ENCRYPTION_KEY finds ciphertexts that this key cannot open.
      const other = await stack.services.store.subscriptions.findOne({ _id: { $ne: subscription.id } });
      await stack.services.store.subscriptions.updateOne({ _id: subscription.id }, { $set: { secretCiphertext: other!.secretCiphertext } });

      await stack.request('PUT', '/v1/records/products/key1', { name: 'Toaster' });

      const retrying = await eventually('delivery to be retrying', async () => deliveryOf(subscription.id, 'retrying'));
      const detail = await stack.request('GET', `/v1/deliveries/${retrying.id}`);
      assert.match(detail.body.attempts[0].error, /cannot decrypt the secret/);
      assert.equal(receiver.requests.length, 0);
      await stack.request('DELETE', `/v1/subscriptions/${subscription.id}`);
    }));

  test('update is a new version with record.updated', () =>
    withReceiver(async (receiver) => {
      const first = await stack.request('PUT', '/v1/records/products/p30', { stock: 1 });
      // Subscribers are matched when the event is dispatched, so wait for that before subscribing.
      await stack.services.temporal.client.workflow.getHandle(dispatchWorkflowId(first.body.eventId)).result();
      await subscribe('products/p30', receiver.url, { method: 'PUT' });

      const updated = await stack.request('PUT', '/v1/records/products/p30', { stock: 2 });
      assert.equal(updated.status, 200);
      assert.equal(updated.body.version, 2);

      const [request] = await receiver.waitForRequests(1);
      const payload = JSON.parse(request!.body);
      assert.equal(request!.method, 'PUT');
      assert.equal(payload.type, 'record.updated');
      assert.equal(payload.data.version, 2);
      assert.deepEqual(payload.data.record, { stock: 2 });

      const read = await stack.request('GET', '/v1/records/products/p30');
      assert.equal(read.body.version, 2);
      assert.deepEqual(read.body.data, { stock: 2 });
    }));

  test('fan-out reaches record and kind subscribers only', () =>
    withReceiver(async (recordReceiver) =>
      withReceiver(async (kindReceiver) =>
        withReceiver(async (otherReceiver) => {
          await subscribe('books/b1', recordReceiver.url);
          await subscribe('books/*', kindReceiver.url);
          await subscribe('books/b2', otherReceiver.url);
          await subscribe('films/*', otherReceiver.url);

          await stack.request('PUT', '/v1/records/books/b1', { title: 'Dune' });

          await recordReceiver.waitForRequests(1);
          await kindReceiver.waitForRequests(1);
          const deliveries = await stack.request('GET', `/v1/deliveries?eventId=${JSON.parse(recordReceiver.requests[0]!.body).data.eventId}`);
          assert.equal(deliveries.body.data.length, 2);
          assert.equal(otherReceiver.requests.length, 0);
        }),
      ),
    ));

  test('failed attempts retry with the same webhook-id', () =>
    withReceiver(async (receiver) => {
      receiver.respond = (_request, index) => (index === 0 ? { status: 503, body: 'down for maintenance' } : { status: 200 });
      const subscription = await subscribe('products/p40', receiver.url);

      await stack.request('PUT', '/v1/records/products/p40', { name: 'Lamp' });

      const retrying = await eventually('delivery to be retrying', async () => deliveryOf(subscription.id, 'retrying'));
      const detail = await stack.request('GET', `/v1/deliveries/${retrying.id}`);
      assert.equal(detail.body.attempts[0].statusCode, 503);
      assert.equal(detail.body.attempts[0].responseBody, 'down for maintenance');
      assert.ok(detail.body.nextAttemptAt !== null);

      // The schedule waits 5 s before the second attempt.
      const [first, second] = await receiver.waitForRequests(2, 30_000);
      assert.equal(first!.headers['webhook-id'], second!.headers['webhook-id']);
      assert.equal(first!.body, second!.body);
      new Webhook(subscription.secret).verify(second!.body, second!.headers as Record<string, string>);

      const succeeded = await eventually('delivery to succeed', async () => deliveryOf(subscription.id, 'succeeded'));
      assert.equal(succeeded.attemptCount, 2);
    }));

  test('410 Gone disables the subscription', () =>
    withReceiver(async (receiver) => {
      receiver.respond = () => ({ status: 410 });
      const subscription = await subscribe('products/p50', receiver.url);

      await stack.request('PUT', '/v1/records/products/p50', { name: 'Chair' });

      const failed = await eventually('delivery to fail', async () => deliveryOf(subscription.id, 'failed'));
      assert.equal(failed.attemptCount, 1);
      const read = await stack.request('GET', `/v1/subscriptions/${subscription.id}`);
      assert.equal(read.body.status, 'disabled');
      assert.match(read.body.statusReason, /410/);

      await stack.request('PUT', '/v1/records/products/p50', { name: 'Chair v2' });
      await new Promise((resolve) => setTimeout(resolve, 1500));
      assert.equal(receiver.requests.length, 1);
    }));

  test('pause cancels a pending delivery', () =>
    withReceiver(async (receiver) => {
      receiver.respond = () => ({ status: 500 });
      const subscription = await subscribe('products/p60', receiver.url);
      await stack.request('PUT', '/v1/records/products/p60', { name: 'Desk' });
      await eventually('delivery to be retrying', async () => deliveryOf(subscription.id, 'retrying'));

      const paused = await stack.request('POST', `/v1/subscriptions/${subscription.id}/pause`);
      assert.equal(paused.status, 200);
      assert.equal(paused.body.status, 'paused');

      const cancelled = await eventually('delivery to be cancelled', async () => deliveryOf(subscription.id, 'cancelled'));
      assert.equal(cancelled.attemptCount, 1);
      // The 5 s retry would have come by now had the delivery not been cancelled.
      await new Promise((resolve) => setTimeout(resolve, 6000));
      assert.equal(receiver.requests.length, 1);
    }));

  test('redeliver resends a cancelled delivery with the same webhook-id', () =>
    withReceiver(async (receiver) => {
      receiver.respond = () => ({ status: 500 });
      const subscription = await subscribe('products/p70', receiver.url);
      await stack.request('PUT', '/v1/records/products/p70', { name: 'Sofa' });
      const pending = await eventually('delivery to be retrying', async () => deliveryOf(subscription.id, 'retrying'));

      const tooEarly = await stack.request('POST', `/v1/deliveries/${pending.id}/redeliver`);
      assert.equal(tooEarly.status, 409);

      await stack.request('POST', `/v1/subscriptions/${subscription.id}/pause`);
      await eventually('delivery to be cancelled', async () => deliveryOf(subscription.id, 'cancelled'));
      const whilePaused = await stack.request('POST', `/v1/deliveries/${pending.id}/redeliver`);
      assert.equal(whilePaused.status, 409);

      receiver.respond = () => ({ status: 204 });
      await stack.request('POST', `/v1/subscriptions/${subscription.id}/resume`);
      const redelivered = await stack.request('POST', `/v1/deliveries/${pending.id}/redeliver`);
      assert.equal(redelivered.status, 202);

      const [first, second] = await receiver.waitForRequests(2);
      assert.equal(second!.headers['webhook-id'], first!.headers['webhook-id']);
      const succeeded = await eventually('redelivery to succeed', async () => deliveryOf(subscription.id, 'succeeded'));
      assert.equal(succeeded.id, pending.id);
      const detail = await stack.request('GET', `/v1/deliveries/${pending.id}`);
      assert.equal(detail.body.attemptCount, 2);
      assert.deepEqual(detail.body.attempts.map((attempt: { attempt: number }) => attempt.attempt), [1, 2]);
    }));

  test('deleted subscription receives nothing more', () =>
    withReceiver(async (receiver) => {
      const subscription = await subscribe('products/p80', receiver.url);
      const deleted = await stack.request('DELETE', `/v1/subscriptions/${subscription.id}`);
      assert.equal(deleted.status, 204);

      const read = await stack.request('GET', `/v1/subscriptions/${subscription.id}`);
      assert.equal(read.status, 404);

      await stack.request('PUT', '/v1/records/products/p80', { name: 'Rug' });
      await new Promise((resolve) => setTimeout(resolve, 1500));
      assert.equal(receiver.requests.length, 0);
    }));
});
