import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Stack } from '../support/stack.js';

const SECRET = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;
const CALLBACK_URL = 'http://127.0.0.1:9/hooks';

describe('API requests and problems', () => {
  let stack: Stack;

  before(async () => {
    stack = await Stack.start();
  });

  after(async () => {
    await stack.stop();
  });

  async function countDocuments(): Promise<number> {
    const { events, subscriptions, deliveries } = stack.services.store;
    const counts = await Promise.all([events, subscriptions, deliveries].map((collection) => collection.countDocuments()));
    return counts.reduce((sum, count) => sum + count, 0);
  }

  test('lookup of a missing record leaves a callback', async () => {
    const answer = await stack.request('POST', '/v1/records/products/l1/lookup', { callback: { url: CALLBACK_URL } });
    assert.equal(answer.status, 202);
    assert.equal(answer.body.status, 'pending');
    assert.equal(answer.body.subscription.target, 'products/l1');
    assert.equal(answer.body.subscription.method, 'POST');
    assert.match(answer.body.secret, /^whsec_/);
  });

  test('repeated lookup returns the same subscription without its secret', async () => {
    const first = await stack.request('POST', '/v1/records/products/l2/lookup', { callback: { url: CALLBACK_URL, secret: SECRET } });
    const second = await stack.request('POST', '/v1/records/products/l2/lookup', { callback: { url: CALLBACK_URL } });
    const third = await stack.request('POST', '/v1/records/products/l2/lookup', { callback: { url: CALLBACK_URL, secret: SECRET } });

    assert.equal(first.status, 202);
    assert.equal(first.body.secret, SECRET);
    assert.equal(second.status, 202);
    assert.equal(second.body.subscription.id, first.body.subscription.id);
    assert.equal(second.body.secret, undefined);
    assert.equal(third.body.subscription.id, first.body.subscription.id);
    assert.equal(await stack.services.store.subscriptions.countDocuments({ target: 'products/l2' }), 1);
  });

  test('lookup with another secret is a conflict', async () => {
    await stack.request('POST', '/v1/records/products/l3/lookup', { callback: { url: CALLBACK_URL, secret: SECRET } });
    const other = `whsec_${Buffer.alloc(32, 9).toString('base64')}`;
    const conflict = await stack.request('POST', '/v1/records/products/l3/lookup', { callback: { url: CALLBACK_URL, secret: other } });

    assert.equal(conflict.status, 409);
    assert.equal(conflict.headers.get('content-type'), 'application/problem+json; charset=utf-8');
    assert.doesNotMatch(JSON.stringify(conflict.body), /whsec_/);
  });

  test('lookup of an existing record returns it', async () => {
    await stack.request('PUT', '/v1/records/products/l4', { name: 'Mug' });
    const answer = await stack.request('POST', '/v1/records/products/l4/lookup', { callback: { url: CALLBACK_URL } });

    assert.equal(answer.status, 200);
    assert.equal(answer.body.status, 'found');
    assert.deepEqual(answer.body.record.data, { name: 'Mug' });
    assert.equal(await stack.services.store.subscriptions.countDocuments({ target: 'products/l4' }), 0);
  });

  test('secret is returned only on creation', async () => {
    const created = await stack.request('POST', '/v1/subscriptions', { target: 'products/*', url: CALLBACK_URL, secret: SECRET });
    assert.equal(created.body.secret, SECRET);

    const read = await stack.request('GET', `/v1/subscriptions/${created.body.id}`);
    const listed = await stack.request('GET', '/v1/subscriptions?target=products/*');
    const paused = await stack.request('POST', `/v1/subscriptions/${created.body.id}/pause`);
    for (const response of [read, listed, paused]) {
      assert.equal(response.status, 200);
      assert.doesNotMatch(JSON.stringify(response.body), /whsec_|secret/i);
    }
  });

  test('secret is encrypted at rest', async () => {
    const created = await stack.request('POST', '/v1/subscriptions', { target: 'products/s1', url: CALLBACK_URL, secret: SECRET });
    const stored = await stack.services.store.subscriptions.findOne({ _id: created.body.id });

    assert.ok(stored !== null);
    assert.doesNotMatch(JSON.stringify(stored), new RegExp(SECRET.slice('whsec_'.length).replace(/[+/=]/g, '.')));
  });

  test('subscriptions list pages with a cursor', async () => {
    for (let index = 0; index < 3; index++) {
      await stack.request('POST', '/v1/subscriptions', { target: 'pages/*', url: CALLBACK_URL });
    }
    const first = await stack.request('GET', '/v1/subscriptions?target=pages/*&limit=2');
    const second = await stack.request('GET', `/v1/subscriptions?target=pages/*&limit=2&cursor=${first.body.nextCursor}`);

    assert.equal(first.body.data.length, 2);
    assert.equal(second.body.data.length, 1);
    assert.equal(second.body.nextCursor, null);
  });

  test('unknown ids answer 404 problems', async () => {
    for (const path of ['/v1/records/products/none', '/v1/subscriptions/sub_NOPE', '/v1/deliveries/msg_nope']) {
      const answer = await stack.request('GET', path);
      assert.equal(answer.status, 404, path);
      assert.equal(answer.body.status, 404);
      assert.match(answer.body.detail, /not found/);
    }
  });

  test('readiness reports MongoDB and Temporal', async () => {
    const answer = await stack.request('GET', '/readyz');
    assert.equal(answer.status, 200);
    assert.deepEqual(answer.body.checks, { mongodb: 'ok', temporal: 'ok' });
  });

  const invalidRequests: Array<{ name: string; method: string; path: string; body?: unknown; headers?: Record<string, string>; status: number; field?: string; detail: RegExp }> = [
    { name: 'malformed JSON', method: 'PUT', path: '/v1/records/products/x1', body: '{"name": ', status: 400, detail: /not valid JSON/ },
    { name: 'record that is an array', method: 'PUT', path: '/v1/records/products/x1', body: [1, 2], status: 422, detail: /JSON object/ },
    { name: 'wrong content type', method: 'PUT', path: '/v1/records/products/x1', body: 'name=x', headers: { 'content-type': 'text/plain' }, status: 415, detail: /application\/json/ },
    { name: 'kind with a dollar sign', method: 'PUT', path: '/v1/records/$where/x1', body: {}, status: 400, field: 'path.kind', detail: /letters, digits/ },
    { name: 'id with a dot', method: 'PUT', path: '/v1/records/products/a.b', body: {}, status: 400, field: 'path.id', detail: /letters, digits/ },
    { name: 'id with a control character', method: 'PUT', path: '/v1/records/products/a%01b', body: {}, status: 400, field: 'path.id', detail: /letters, digits/ },
    { name: 'id longer than 128', method: 'GET', path: `/v1/records/products/${'a'.repeat(129)}`, status: 400, field: 'path.id', detail: /1-128/ },
    { name: 'ftp endpoint', method: 'POST', path: '/v1/subscriptions', body: { target: 'products/*', url: 'ftp://127.0.0.1/x' }, status: 422, field: 'body.url', detail: /http or https, got ftp:/ },
    { name: 'relative endpoint', method: 'POST', path: '/v1/subscriptions', body: { target: 'products/*', url: '/hooks' }, status: 422, field: 'body.url', detail: /absolute URL/ },
    { name: 'credentials in endpoint', method: 'POST', path: '/v1/subscriptions', body: { target: 'products/*', url: 'http://user:pw@127.0.0.1/x' }, status: 422, field: 'body.url', detail: /username or password/ },
    { name: 'GET method', method: 'POST', path: '/v1/subscriptions', body: { target: 'products/*', url: CALLBACK_URL, method: 'GET' }, status: 422, field: 'body.method', detail: /POST, PUT, PATCH/ },
    { name: 'secret without prefix', method: 'POST', path: '/v1/subscriptions', body: { target: 'products/*', url: CALLBACK_URL, secret: 'hunter2hunter2hunter2hunter2' }, status: 422, field: 'body.secret', detail: /whsec_/ },
    { name: 'secret too short', method: 'POST', path: '/v1/subscriptions', body: { target: 'products/*', url: CALLBACK_URL, secret: 'whsec_c2hvcnQ=' }, status: 422, field: 'body.secret', detail: /24 to 64 bytes/ },
    { name: 'unknown field', method: 'POST', path: '/v1/subscriptions', body: { target: 'products/*', url: CALLBACK_URL, color: 'red' }, status: 422, field: 'body', detail: /unknown field "color"/ },
    { name: 'target without id', method: 'POST', path: '/v1/subscriptions', body: { target: 'products', url: CALLBACK_URL }, status: 422, field: 'body.target', detail: /kind\/id/ },
    { name: 'retry window of zero', method: 'POST', path: '/v1/subscriptions', body: { target: 'products/*', url: CALLBACK_URL, retryWindowDays: 0 }, status: 422, field: 'body.retryWindowDays', detail: /greater than 0/ },
    { name: 'number where a string is expected', method: 'POST', path: '/v1/subscriptions', body: { target: 'products/*', url: 42 }, status: 422, field: 'body.url', detail: /string/ },
    { name: 'lookup without callback', method: 'POST', path: '/v1/records/products/x1/lookup', body: {}, status: 422, field: 'body.callback', detail: /callback/ },
    { name: 'operator object in query', method: 'GET', path: '/v1/deliveries?status[$ne]=failed', status: 400, field: 'query', detail: /unknown field/ },
    { name: 'repeated query parameter', method: 'GET', path: '/v1/deliveries?status=failed&status=succeeded', status: 400, field: 'query.status', detail: /given 2 times; send it once/ },
    { name: 'limit out of range', method: 'GET', path: '/v1/subscriptions?limit=1000', status: 400, field: 'query.limit', detail: /1 to 100/ },
    { name: 'unknown route', method: 'GET', path: '/v2/records', status: 404, detail: /no route/ },
  ];

  for (const invalid of invalidRequests) {
    test(`rejects ${invalid.name}`, async () => {
      const before = await countDocuments();
      const answer = await stack.request(invalid.method, invalid.path, invalid.body, invalid.headers);

      assert.equal(answer.status, invalid.status, JSON.stringify(answer.body));
      assert.match(answer.headers.get('content-type') ?? '', /^application\/problem\+json/);
      assert.match(answer.body.detail, invalid.detail);
      if (invalid.field !== undefined) {
        assert.ok(
          answer.body.errors.some((error: { field: string }) => error.field === invalid.field),
          `expected an error on ${invalid.field}, got ${JSON.stringify(answer.body.errors)}`,
        );
      }
      assert.equal(await countDocuments(), before);
    });
  }

  test('rejects a body over the size limit', async () => {
    const before = await countDocuments();
    const huge = { blob: 'x'.repeat(stack.config.api.maxRequestBodyBytes + 1) };
    const answer = await stack.request('PUT', '/v1/records/products/big', huge);

    assert.equal(answer.status, 413);
    assert.match(answer.body.detail, /limit of \d+ bytes/);
    assert.equal(await countDocuments(), before);
  });
});
