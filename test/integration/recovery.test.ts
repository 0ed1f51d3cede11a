import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { newEventId } from '../../src/domain/ids.js';
import type { EventDocument } from '../../src/store/documents.js';
import { advanceRecordHead, backfillRecordHeads } from '../../src/store/record-heads.js';
import { Stack } from '../support/stack.js';
import { TestReceiver, eventually } from '../support/receiver.js';

describe('recovery from crashes and races', () => {
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

  test('reconciler dispatches an event the API never dispatched', async () => {
    const created = await stack.request('POST', '/v1/subscriptions', { target: 'orders/o1', url: receiver.url });
    const already = receiver.requests.length;

    // What an API that died right after its MongoDB write leaves behind: an event, no record, no workflow.
    const eventId = newEventId();
    await stack.services.store.events.insertOne({
      _id: eventId,
      type: 'record.created',
      kind: 'orders',
      recordId: 'o1',
      version: 1,
      dataJson: '{"total":12}',
      createdAt: new Date(),
      recordCreatedAt: new Date(),
      dispatchedAt: null,
    });

    const [request] = (await receiver.waitForRequests(already + 1)).slice(already);
    const payload = JSON.parse(request!.body);
    assert.equal(payload.data.eventId, eventId);
    assert.deepEqual(payload.data.record, { total: 12 });

    const record = await stack.request('GET', '/v1/records/orders/o1');
    assert.equal(record.body.version, 1);
    const event = await stack.services.store.events.findOne({ _id: eventId });
    assert.ok(event?.dispatchedAt instanceof Date);
    const deliveries = await stack.request('GET', `/v1/deliveries?subscriptionId=${created.body.id}`);
    assert.equal(deliveries.body.data.length, 1);
  });

  test('write accepted while the worker is down is delivered after restart', async () => {
    await stack.request('POST', '/v1/subscriptions', { target: 'orders/o2', url: receiver.url });
    const already = receiver.requests.length;

    await stack.stopWorker();
    const written = await stack.request('PUT', '/v1/records/orders/o2', { total: 30 });
    assert.equal(written.status, 201);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    assert.equal(receiver.requests.length, already);

    await stack.startWorker();
    const [request] = (await receiver.waitForRequests(already + 1)).slice(already);
    assert.equal(JSON.parse(request!.body).data.eventId, written.body.eventId);
  });

  test('concurrent writes to one record get distinct versions', async () => {
    const writes = await Promise.all(Array.from({ length: 12 }, (_, index) => stack.request('PUT', '/v1/records/orders/o3', { index })));

    for (const write of writes) {
      assert.ok(write.status === 200 || write.status === 201, JSON.stringify(write.body));
    }
    const versions = writes.map((write) => write.body.version as number).sort((a, b) => a - b);
    assert.deepEqual(versions, Array.from({ length: 12 }, (_, index) => index + 1));

    const record = await stack.request('GET', '/v1/records/orders/o3');
    const latest = writes.find((write) => write.body.version === 12)!;
    assert.equal(record.body.version, 12);
    assert.equal(record.body.eventId, latest.body.eventId);
    assert.equal(await stack.services.store.events.countDocuments({ kind: 'orders', recordId: 'o3' }), 12);
  });

  test('write after head lag takes next version', async () => {
    const first = await stack.request('PUT', '/v1/records/orders/o4', { step: 1 });
    assert.equal(first.status, 201);
    // An API that died between its insert and the head's update leaves version 2 behind the head.
    await stack.services.store.events.insertOne(orphanEvent({ recordId: 'o4', version: 2, dataJson: '{"step":2}' }));

    const third = await stack.request('PUT', '/v1/records/orders/o4', { step: 3 });
    assert.equal(third.status, 200, JSON.stringify(third.body));
    assert.equal(third.body.version, 3);
    const record = await stack.request('GET', '/v1/records/orders/o4');
    assert.equal(record.body.eventId, third.body.eventId);
    assert.deepEqual(record.body.data, { step: 3 });
  });

  test('delete after head lag finds record', async () => {
    // A write whose API died before the head's update: the record exists, its head does not.
    const orphan = orphanEvent({ recordId: 'o7', version: 1, dataJson: '{"step":1}' });
    await stack.services.store.events.insertOne(orphan);

    const deleted = await stack.request('DELETE', '/v1/records/orders/o7');
    assert.equal(deleted.status, 200, JSON.stringify(deleted.body));
    assert.equal(deleted.body.version, 2);
    assert.equal((await stack.request('GET', '/v1/records/orders/o7')).status, 410);
  });

  test('older version never moves head back', async () => {
    const newer = await stack.request('PUT', '/v1/records/orders/o5', { step: 1 });
    const second = await stack.request('PUT', '/v1/records/orders/o5', { step: 2 });
    assert.equal(second.body.version, 2);

    await advanceRecordHead(stack.services.store, { _id: newer.body.eventId, kind: 'orders', recordId: 'o5', version: 1 });

    const record = await stack.request('GET', '/v1/records/orders/o5');
    assert.equal(record.body.version, 2);
    assert.equal(record.body.eventId, second.body.eventId);
  });

  test('backfill finds records without heads', async () => {
    const event = orphanEvent({ recordId: 'o6', version: 1, dataJson: '{"legacy":true}' });
    await stack.services.store.events.insertOne({ ...event, dispatchedAt: new Date() });
    assert.equal((await stack.request('GET', '/v1/records/orders/o6')).status, 404);

    await stack.services.store.db.collection('migrations').deleteOne({ _id: 'record-heads' as never });
    assert.ok((await backfillRecordHeads(stack.services.store)) >= 1);
    assert.equal(await backfillRecordHeads(stack.services.store), 0, 'the backfill runs once');

    const record = await stack.request('GET', '/v1/records/orders/o6');
    assert.equal(record.status, 200);
    assert.equal(record.body.eventId, event._id);
  });

  test('every version reaches a kind subscriber once', async () => {
    const created = await stack.request('POST', '/v1/subscriptions', { target: 'carts/*', url: receiver.url });
    const already = receiver.requests.length;

    for (let version = 1; version <= 5; version++) {
      await stack.request('PUT', '/v1/records/carts/c1', { items: version });
    }

    const received = (await receiver.waitForRequests(already + 5)).slice(already);
    const versions = received.map((request) => JSON.parse(request.body).data.version as number).sort((a, b) => a - b);
    assert.deepEqual(versions, [1, 2, 3, 4, 5]);
    assert.equal(new Set(received.map((request) => request.headers['webhook-id'])).size, 5);
    await eventually('all deliveries to succeed', async () => {
      const listed = await stack.request('GET', `/v1/deliveries?subscriptionId=${created.body.id}&status=succeeded`);
      return listed.body.data.length === 5 ? true : undefined;
    });
  });
});

function orphanEvent(fields: { recordId: string; version: number; dataJson: string }): EventDocument {
  const now = new Date();
  return {
    _id: newEventId(),
    type: fields.version === 1 ? 'record.created' : 'record.updated',
    kind: 'orders',
    ...fields,
    createdAt: now,
    recordCreatedAt: now,
    dispatchedAt: null,
  };
}
