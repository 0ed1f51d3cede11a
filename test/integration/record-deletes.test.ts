import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { Stack } from '../support/stack.js';
import { TestReceiver, eventually } from '../support/receiver.js';

describe('record deletes and event-type filters', () => {
  let stack: Stack;
  let everything: TestReceiver;
  let deletesOnly: TestReceiver;

  before(async () => {
    stack = await Stack.start();
    everything = await new TestReceiver().start();
    deletesOnly = await new TestReceiver().start();
  });

  after(async () => {
    await stack.stop();
    await everything.stop();
    await deletesOnly.stop();
  });

  test('delete is an event and filters apply', async () => {
    const all = await stack.request('POST', '/v1/subscriptions', { target: 'products/*', url: everything.url });
    const filtered = await stack.request('POST', '/v1/subscriptions', { target: 'products/d1', url: deletesOnly.url, eventTypes: ['record.deleted'] });
    assert.equal(filtered.status, 201, JSON.stringify(filtered.body));
    assert.deepEqual(filtered.body.eventTypes, ['record.deleted']);

    assert.equal((await stack.request('PUT', '/v1/records/products/d1', { name: 'Cup' })).status, 201);
    await everything.waitForRequests(1);
    assert.equal((await stack.request('PUT', '/v1/records/products/d1', { name: 'Mug' })).status, 200);
    await everything.waitForRequests(2);

    const deleted = await stack.request('DELETE', '/v1/records/products/d1');
    assert.equal(deleted.status, 200, JSON.stringify(deleted.body));
    assert.equal(deleted.body.version, 3);
    await everything.waitForRequests(3);

    const recreated = await stack.request('PUT', '/v1/records/products/d1', { name: 'Jug' });
    assert.equal(recreated.status, 201);
    assert.equal(recreated.body.version, 4);

    const received = (await everything.waitForRequests(4)).map((request) => new Webhook(all.body.secret).verify(request.body, request.headers as Record<string, string>) as any);
    assert.deepEqual(
      received.map((payload) => [payload.type, payload.data.version]),
      [
        ['record.created', 1],
        ['record.updated', 2],
        ['record.deleted', 3],
        ['record.created', 4],
      ],
    );
    assert.equal(received[2].data.record, null);

    const [tombstone] = await deletesOnly.waitForRequests(1);
    const payload = new Webhook(filtered.body.secret).verify(tombstone!.body, tombstone!.headers as Record<string, string>) as any;
    assert.equal(payload.type, 'record.deleted');
    assert.equal(payload.data.eventId, deleted.body.eventId);

    // The filtered subscription got a delivery for the delete only, none for the four writes around it.
    const deliveries = await eventually('the filtered delivery to succeed', async () => {
      const listed = await stack.request('GET', `/v1/deliveries?subscriptionId=${filtered.body.id}`);
      return listed.body.data.every((delivery: { status: string }) => delivery.status === 'succeeded') ? listed.body.data : undefined;
    });
    assert.deepEqual(
      deliveries.map((delivery: { eventType: string }) => delivery.eventType),
      ['record.deleted'],
    );
    assert.equal(deletesOnly.requests.length, 1);
  });

  test('deleted record reads as gone', async () => {
    await stack.request('PUT', '/v1/records/products/g1', { name: 'Cup' });
    assert.equal((await stack.request('DELETE', '/v1/records/products/g1')).status, 200);

    const read = await stack.request('GET', '/v1/records/products/g1');
    assert.equal(read.status, 410);
    assert.equal(read.headers.get('content-type'), 'application/problem+json; charset=utf-8');
    assert.match(read.body.detail, /was deleted at/);

    assert.equal((await stack.request('DELETE', '/v1/records/products/g1')).status, 410);
  });

  test('delete of an unknown record is 404', async () => {
    const response = await stack.request('DELETE', '/v1/records/products/never');
    assert.equal(response.status, 404);
  });

  test('lookup after a delete leaves a callback', async () => {
    await stack.request('PUT', '/v1/records/products/l1', { name: 'Cup' });
    await stack.request('DELETE', '/v1/records/products/l1');

    const lookup = await stack.request('POST', '/v1/records/products/l1/lookup', { callback: { url: everything.url } });
    assert.equal(lookup.status, 202);
    assert.equal(lookup.body.status, 'pending');
  });

  test('event type not of the target is 422', async () => {
    const response = await stack.request('POST', '/v1/subscriptions', { target: 'products/*', url: everything.url, eventTypes: ['subscription.disabled'] });
    assert.equal(response.status, 422);
    assert.deepEqual(
      response.body.errors.map((error: { field: string }) => error.field),
      ['body.eventTypes'],
    );
  });
});
