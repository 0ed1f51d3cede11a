import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { Stack } from '../support/stack.js';
import { TestReceiver, eventually } from '../support/receiver.js';

describe('delivery through the real stack', () => {
  let stack: Stack;
  let receiver: TestReceiver;

  before(async () => {
    stack = await Stack.start();
    receiver = await new TestReceiver().start();
  });

  after(async () => {
    await stack.stop();
    await receiver.stop();
  });

  test('signed webhook reaches a record subscriber', async () => {
    const created = await stack.request('POST', '/v1/subscriptions', { target: 'products/p21', url: receiver.url });
    assert.equal(created.status, 201);
    assert.match(created.body.secret, /^whsec_/);

    const written = await stack.request('PUT', '/v1/records/products/p21', { name: 'Kettle', price: 25 });
    assert.equal(written.status, 201);
    assert.equal(written.body.version, 1);

    const [request] = await receiver.waitForRequests(1);
    assert.equal(request!.method, 'POST');
    const payload = new Webhook(created.body.secret).verify(request!.body, request!.headers as Record<string, string>) as any;
    assert.equal(payload.type, 'record.created');
    assert.deepEqual(payload.data.record, { name: 'Kettle', price: 25 });
    assert.equal(payload.data.version, 1);
    assert.equal(payload.data.eventId, written.body.eventId);
  });
});
