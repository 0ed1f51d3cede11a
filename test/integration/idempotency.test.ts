import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Stack } from '../support/stack.js';

const CALLBACK_URL = 'http://127.0.0.1:9/hooks';

describe('Idempotency-Key on writes', () => {
  let stack: Stack;

  before(async () => {
    stack = await Stack.start();
  });

  after(async () => {
    await stack.stop();
  });

  function eventsOf(recordId: string): Promise<number> {
    return stack.services.store.events.countDocuments({ kind: 'orders', recordId });
  }

  test('repeat replays the first response', async () => {
    const first = await stack.request('PUT', '/v1/records/orders/i1', { total: 1 }, { 'idempotency-key': 'key-i1' });
    const repeat = await stack.request('PUT', '/v1/records/orders/i1', { total: 1 }, { 'idempotency-key': 'key-i1' });

    assert.equal(first.status, 201);
    assert.equal(repeat.status, 201);
    assert.deepEqual(repeat.body, first.body);
    assert.equal(repeat.headers.get('idempotent-replayed'), 'true');
    assert.equal(first.headers.get('idempotent-replayed'), null);
    assert.equal(repeat.headers.get('location'), '/v1/records/orders/i1');
    assert.equal(await eventsOf('i1'), 1);
  });

  test('same key with another body is rejected', async () => {
    await stack.request('PUT', '/v1/records/orders/i2', { total: 1 }, { 'idempotency-key': 'key-i2' });
    const other = await stack.request('PUT', '/v1/records/orders/i2', { total: 2 }, { 'idempotency-key': 'key-i2' });

    assert.equal(other.status, 422);
    assert.match(other.body.detail, /different request body/);
    assert.equal(other.body.errors[0].field, 'header.Idempotency-Key');
    assert.equal(await eventsOf('i2'), 1);
  });

  test('different keys write twice', async () => {
    const first = await stack.request('PUT', '/v1/records/orders/i3', { total: 1 }, { 'idempotency-key': 'key-i3-a' });
    const second = await stack.request('PUT', '/v1/records/orders/i3', { total: 1 }, { 'idempotency-key': 'key-i3-b' });

    assert.equal(first.body.version, 1);
    assert.equal(second.body.version, 2);
  });

  test('key is scoped to its path', async () => {
    const first = await stack.request('PUT', '/v1/records/orders/i4', { total: 1 }, { 'idempotency-key': 'shared-key' });
    const second = await stack.request('PUT', '/v1/records/orders/i5', { total: 1 }, { 'idempotency-key': 'shared-key' });

    assert.equal(first.status, 201);
    assert.equal(second.status, 201);
    assert.notEqual(second.body.eventId, first.body.eventId);
  });

  test('concurrent repeats write once', async () => {
    const answers = await Promise.all(Array.from({ length: 6 }, () => stack.request('PUT', '/v1/records/orders/i6', { total: 6 }, { 'idempotency-key': 'key-i6' })));

    for (const answer of answers) {
      assert.ok(answer.status === 201 || answer.status === 409, `unexpected ${answer.status}`);
    }
    const created = answers.filter((answer) => answer.status === 201);
    assert.ok(created.length >= 1);
    assert.equal(new Set(created.map((answer) => answer.body.eventId)).size, 1);
    assert.equal(await eventsOf('i6'), 1);
  });

  test('replayed creation returns the secret, stored encrypted', async () => {
    const body = { target: 'orders/*', url: CALLBACK_URL };
    const first = await stack.request('POST', '/v1/subscriptions', body, { 'idempotency-key': 'key-sub' });
    const repeat = await stack.request('POST', '/v1/subscriptions', body, { 'idempotency-key': 'key-sub' });

    assert.equal(repeat.status, 201);
    assert.equal(repeat.body.id, first.body.id);
    assert.equal(repeat.body.secret, first.body.secret);
    assert.equal(await stack.services.store.subscriptions.countDocuments({ url: CALLBACK_URL, target: 'orders/*' }), 1);
    const stored = await stack.services.store.idempotencyKeys.find().toArray();
    assert.ok(!JSON.stringify(stored).includes(first.body.secret.slice('whsec_'.length)), 'the secret is stored in plaintext');
  });

  test('invalid key is rejected', async () => {
    const answer = await stack.request('PUT', '/v1/records/orders/i7', { total: 1 }, { 'idempotency-key': 'has space' });

    assert.equal(answer.status, 400);
    assert.equal(answer.body.errors[0].field, 'header.Idempotency-Key');
    assert.equal(await eventsOf('i7'), 0);
  });

  test('request without a key is not deduplicated', async () => {
    await stack.request('PUT', '/v1/records/orders/i8', { total: 1 });
    await stack.request('PUT', '/v1/records/orders/i8', { total: 1 });

    assert.equal(await eventsOf('i8'), 2);
  });
});
