import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { TestReceiver, eventually } from '../support/receiver.js';
import { Stack, type TestApiKey } from '../support/stack.js';

/**
 * A table of hostile requests against the real API. Each one must get its documented 4xx as
 * problem+json without internals, write nothing to any collection, and leave the API healthy.
 */

const CALLBACK = 'http://127.0.0.1:9/hooks';
const SUBSCRIPTION = { target: 'orders/*', url: CALLBACK };
const JSON_TYPE = { 'content-type': 'application/json' };

type Caller = 'admin' | 'alice' | 'bob' | 'none' | { authorization: string };

interface HostileRequest {
  name: string;
  method: string;
  /** Path and query, sent as written: percent-encoding is the case's own. */
  path: string;
  /** A string or bytes, sent as is; an object, sent as JSON. */
  body?: string | Buffer | object;
  headers?: Record<string, string>;
  /** Whose key the request carries; the admin key by default, the most privileged. */
  as?: Caller;
  status: number;
}

function nested(depth: number, open: string, close: string, inner = '1'): string {
  return `${open.repeat(depth)}${inner}${close.repeat(depth)}`;
}

const invalidUtf8 = (prefix: string, suffix: string): Buffer => Buffer.concat([Buffer.from(prefix), Buffer.from([0xc3, 0x28, 0xff, 0xfe]), Buffer.from(suffix)]);

/** Cases whose path needs ids created in `before`; filled in there. */
const foreignIdCases: HostileRequest[] = [];

const cases: HostileRequest[] = [
  // MongoDB operators where the schema expects a plain value.
  { name: 'operator as target', method: 'POST', path: '/v1/subscriptions', body: { target: { $gt: '' }, url: CALLBACK }, status: 422 },
  { name: 'operator as url', method: 'POST', path: '/v1/subscriptions', body: { target: 'orders/*', url: { $ne: null } }, status: 422 },
  { name: 'operator as method', method: 'POST', path: '/v1/subscriptions', body: { ...SUBSCRIPTION, method: { $in: ['POST'] } }, status: 422 },
  { name: 'operator as secret', method: 'POST', path: '/v1/subscriptions', body: { ...SUBSCRIPTION, secret: { $exists: true } }, status: 422 },
  { name: 'operator as retry window', method: 'POST', path: '/v1/subscriptions', body: { ...SUBSCRIPTION, retryWindowDays: { $gt: 0 } }, status: 422 },
  { name: '$where at top level', method: 'POST', path: '/v1/subscriptions', body: { ...SUBSCRIPTION, $where: 'sleep(1000)' }, status: 422 },
  { name: 'duplicate key hides an operator', method: 'POST', path: '/v1/subscriptions', body: '{"target":"orders/*","url":"http://127.0.0.1:9/","target":{"$gt":""}}', headers: JSON_TYPE, status: 422 },
  { name: 'operator as callback', method: 'POST', path: '/v1/records/orders/h1/lookup', body: { callback: { $gt: '' } }, status: 422 },
  { name: 'operator as callback url', method: 'POST', path: '/v1/records/orders/h1/lookup', body: { callback: { url: { $regex: '.*' } } }, status: 422 },
  { name: 'operator as key role', method: 'POST', path: '/v1/api-keys', body: { name: 'x', role: { $ne: 'admin' } }, status: 422 },
  { name: 'operator as key account', method: 'POST', path: '/v1/api-keys', body: { name: 'x', role: 'provider', account: { $gt: '' } }, status: 422 },
  { name: 'dollar key account', method: 'POST', path: '/v1/api-keys', body: { name: 'x', role: 'provider', account: '$where' }, status: 422 },

  // Operators in query strings.
  { name: 'status[$ne] in query', method: 'GET', path: '/v1/subscriptions?status[$ne]=x', status: 400 },
  { name: 'target[$regex] in query', method: 'GET', path: '/v1/subscriptions?target[$regex]=.*', status: 400 },
  { name: 'cursor[$gt] in query', method: 'GET', path: '/v1/subscriptions?cursor[$gt]=', status: 400 },
  { name: 'subscriptionId[$ne] in query', method: 'GET', path: '/v1/deliveries?subscriptionId[$ne]=x', status: 400 },
  { name: 'status[$in][] in query', method: 'GET', path: '/v1/deliveries?status[$in][]=failed', status: 400 },
  { name: 'role[$ne] in query', method: 'GET', path: '/v1/api-keys?role[$ne]=admin', status: 400 },
  { name: 'operator JSON as query value', method: 'GET', path: '/v1/deliveries?subscriptionId=%7B%22%24ne%22%3Anull%7D', status: 400 },
  { name: 'repeated status in query', method: 'GET', path: '/v1/subscriptions?status=active&status=paused', status: 400 },

  // Prototype keys.
  { name: '__proto__ in subscription', method: 'POST', path: '/v1/subscriptions', body: `{"target":"orders/*","url":"${CALLBACK}","__proto__":{"admin":true}}`, headers: JSON_TYPE, status: 422 },
  { name: 'constructor in subscription', method: 'POST', path: '/v1/subscriptions', body: { ...SUBSCRIPTION, constructor: { prototype: { admin: true } } }, status: 422 },
  { name: 'prototype in subscription', method: 'POST', path: '/v1/subscriptions', body: { ...SUBSCRIPTION, prototype: { admin: true } }, status: 422 },
  { name: '__proto__ in callback', method: 'POST', path: '/v1/records/orders/h1/lookup', body: `{"callback":{"url":"${CALLBACK}","__proto__":{"method":"GET"}}}`, headers: JSON_TYPE, status: 422 },
  { name: '__proto__ in key body', method: 'POST', path: '/v1/api-keys', body: '{"name":"x","role":"provider","__proto__":{"role":"admin"}}', headers: JSON_TYPE, status: 422 },
  { name: '__proto__ at record top', method: 'PUT', path: '/v1/records/orders/h1', body: '{"__proto__":{"polluted":true}}', headers: JSON_TYPE, status: 422 },
  { name: '__proto__ deep in record', method: 'PUT', path: '/v1/records/orders/h1', body: '{"a":{"b":[{"__proto__":{"polluted":true}}]}}', headers: JSON_TYPE, status: 422 },
  { name: '__proto__ in query', method: 'GET', path: '/v1/subscriptions?__proto__=1', status: 400 },
  { name: '__proto__[x] in query', method: 'GET', path: '/v1/deliveries?__proto__[status]=failed', status: 400 },
  { name: 'constructor in query', method: 'GET', path: '/v1/api-keys?constructor=1', status: 400 },

  // Huge numbers and deep nesting.
  { name: 'retry window 1e400', method: 'POST', path: '/v1/subscriptions', body: `{"target":"orders/*","url":"${CALLBACK}","retryWindowDays":1e400}`, headers: JSON_TYPE, status: 422 },
  { name: 'retry window -1e308', method: 'POST', path: '/v1/subscriptions', body: { ...SUBSCRIPTION, retryWindowDays: -1e308 }, status: 422 },
  { name: 'retry window 1e-400', method: 'POST', path: '/v1/subscriptions', body: `{"target":"orders/*","url":"${CALLBACK}","retryWindowDays":1e-400}`, headers: JSON_TYPE, status: 422 },
  { name: 'retry window as string', method: 'POST', path: '/v1/subscriptions', body: { ...SUBSCRIPTION, retryWindowDays: '30' }, status: 422 },
  { name: 'limit 1e309 in query', method: 'GET', path: '/v1/subscriptions?limit=1e309', status: 400 },
  { name: 'negative limit', method: 'GET', path: '/v1/deliveries?limit=-1', status: 400 },
  { name: 'limit of 400 digits', method: 'GET', path: `/v1/api-keys?limit=${'9'.repeat(400)}`, status: 400 },
  { name: 'record nested 65 levels', method: 'PUT', path: '/v1/records/orders/h1', body: nested(65, '{"a":', '}'), headers: JSON_TYPE, status: 422 },
  { name: 'record nested 100000 levels', method: 'PUT', path: '/v1/records/orders/h1', body: `{"a":${nested(100_000, '[', ']')}}`, headers: JSON_TYPE, status: 422 },
  { name: 'target nested 1000 arrays', method: 'POST', path: '/v1/subscriptions', body: `{"target":${nested(1000, '[', ']')},"url":"${CALLBACK}"}`, headers: JSON_TYPE, status: 422 },
  { name: 'body nested 50000 objects', method: 'POST', path: '/v1/subscriptions', body: nested(50_000, '{"a":', '}'), headers: JSON_TYPE, status: 422 },
  { name: 'lookup nested 10000 arrays', method: 'POST', path: '/v1/records/orders/h1/lookup', body: nested(10_000, '[', ']'), headers: JSON_TYPE, status: 422 },

  // Bytes that are not UTF-8, and NUL.
  { name: 'invalid UTF-8 in record', method: 'PUT', path: '/v1/records/orders/h1', body: invalidUtf8('{"name":"', '"}'), headers: JSON_TYPE, status: 400 },
  { name: 'invalid UTF-8 in subscription', method: 'POST', path: '/v1/subscriptions', body: invalidUtf8('{"target":"orders/*","url":"http://127.0.0.1:9/', '"}'), headers: JSON_TYPE, status: 400 },
  { name: 'invalid UTF-8 in lookup', method: 'POST', path: '/v1/records/orders/h1/lookup', body: invalidUtf8('{"callback":{"url":"http://127.0.0.1:9/', '"}}'), headers: JSON_TYPE, status: 400 },
  { name: 'invalid UTF-8 in key name', method: 'POST', path: '/v1/api-keys', body: invalidUtf8('{"role":"provider","name":"', '"}'), headers: JSON_TYPE, status: 400 },
  { name: 'invalid percent UTF-8 in id', method: 'GET', path: '/v1/records/orders/%FF%FE', status: 400 },
  { name: 'truncated UTF-8 in id', method: 'GET', path: '/v1/subscriptions/sub_%E0%80', status: 400 },
  { name: 'bad percent escape in id', method: 'GET', path: '/v1/deliveries/msg_%ZZ', status: 400 },
  { name: 'NUL in record id', method: 'PUT', path: '/v1/records/orders/h1%00x', body: { a: 1 }, status: 400 },
  { name: 'NUL in subscription id', method: 'GET', path: '/v1/subscriptions/sub_%00', status: 400 },
  { name: 'NUL in target', method: 'POST', path: '/v1/subscriptions', body: { target: 'orders\u0000/x', url: CALLBACK }, status: 422 },
  { name: 'NUL in url', method: 'POST', path: '/v1/subscriptions', body: { target: 'orders/*', url: 'http://127.0.0.1:9/a\u0000b' }, status: 422 },
  { name: 'NUL in cursor', method: 'GET', path: '/v1/subscriptions?cursor=%00', status: 400 },

  // Very long ids and URLs.
  { name: 'record id of 8000 characters', method: 'GET', path: `/v1/records/orders/${'a'.repeat(8000)}`, status: 400 },
  { name: 'kind of 129 characters', method: 'PUT', path: `/v1/records/${'k'.repeat(129)}/h1`, body: { a: 1 }, status: 400 },
  { name: 'subscription id of 5000 characters', method: 'GET', path: `/v1/subscriptions/sub_${'A'.repeat(5000)}`, status: 400 },
  { name: 'delivery id of 5000 characters', method: 'POST', path: `/v1/deliveries/msg_${'A'.repeat(5000)}/redeliver`, status: 400 },
  { name: 'key id of 5000 characters', method: 'GET', path: `/v1/api-keys/key_${'A'.repeat(5000)}`, status: 400 },
  { name: 'subscriptionId of 5000 in query', method: 'GET', path: `/v1/deliveries?subscriptionId=sub_${'A'.repeat(5000)}`, status: 400 },
  { name: 'endpoint URL of 5000 characters', method: 'POST', path: '/v1/subscriptions', body: { target: 'orders/*', url: `http://127.0.0.1:9/${'a'.repeat(5000)}` }, status: 422 },
  { name: 'target of 300 characters', method: 'POST', path: '/v1/subscriptions', body: { target: `orders/${'x'.repeat(300)}`, url: CALLBACK }, status: 422 },
  { name: 'key name of 1000 characters', method: 'POST', path: '/v1/api-keys', body: { name: 'n'.repeat(1000), role: 'provider' }, status: 422 },
  { name: 'unknown path of 8000 characters', method: 'GET', path: `/v1/${'x'.repeat(8000)}`, status: 404 },

  // CR and LF in values that end up in headers or logs.
  { name: 'CRLF in endpoint URL', method: 'POST', path: '/v1/subscriptions', body: { target: 'orders/*', url: 'http://127.0.0.1:9/a\r\nHost: evil.example' }, status: 422 },
  { name: 'tab in endpoint URL', method: 'POST', path: '/v1/subscriptions', body: { target: 'orders/*', url: 'http://127.0.0.1:9/a\tb' }, status: 422 },
  { name: 'CRLF in callback URL', method: 'POST', path: '/v1/records/orders/h1/lookup', body: { callback: { url: 'http://127.0.0.1:9/\r\nX-Injected: 1' } }, status: 422 },
  { name: 'CRLF in target', method: 'POST', path: '/v1/subscriptions', body: { target: 'orders/x\r\nX-Injected: 1', url: CALLBACK }, status: 422 },
  { name: 'CRLF in key name', method: 'POST', path: '/v1/api-keys', body: { name: 'ops\r\nX-Injected: 1', role: 'provider' }, status: 422 },
  { name: 'encoded CRLF in record id', method: 'PUT', path: '/v1/records/orders/h1%0D%0ASet-Cookie:x', body: { a: 1 }, status: 400 },
  { name: 'encoded CRLF in subscription id', method: 'DELETE', path: '/v1/subscriptions/sub_x%0D%0AX-Injected:1', status: 400 },
  { name: 'encoded CRLF in eventId', method: 'GET', path: '/v1/deliveries?eventId=evt_%0D%0AX', status: 400 },
  { name: 'space in Idempotency-Key', method: 'POST', path: '/v1/subscriptions', body: SUBSCRIPTION, headers: { 'idempotency-key': 'a b' }, status: 400 },
  { name: 'non-ASCII Idempotency-Key', method: 'POST', path: '/v1/subscriptions', body: SUBSCRIPTION, headers: { 'idempotency-key': 'clé\u00e9' }, status: 400 },
  { name: 'Idempotency-Key of 300 characters', method: 'PUT', path: '/v1/records/orders/h1', body: { a: 1 }, headers: { 'idempotency-key': 'k'.repeat(300) }, status: 400 },

  // Other dangerous URLs.
  { name: 'javascript: endpoint', method: 'POST', path: '/v1/subscriptions', body: { target: 'orders/*', url: 'javascript:alert(1)' }, status: 422 },
  { name: 'file: endpoint', method: 'POST', path: '/v1/subscriptions', body: { target: 'orders/*', url: 'file:///etc/passwd' }, status: 422 },
  { name: 'credentials in endpoint', method: 'POST', path: '/v1/subscriptions', body: { target: 'orders/*', url: 'http://user:pw@127.0.0.1:9/' }, status: 422 },
  { name: 'path traversal in record id', method: 'GET', path: '/v1/records/orders/..%2F..%2Fetc%2Fpasswd', status: 400 },
  { name: 'dollar kind', method: 'PUT', path: '/v1/records/$where/h1', body: { a: 1 }, status: 400 },
  { name: 'operator JSON as subscription id', method: 'GET', path: '/v1/subscriptions/%7B%22%24ne%22%3Anull%7D', status: 400 },
  { name: 'dollar delivery id', method: 'POST', path: '/v1/deliveries/%24where/redeliver', status: 400 },

  // Wrong content types and bodies.
  { name: 'text/plain record', method: 'PUT', path: '/v1/records/orders/h1', body: '{"a":1}', headers: { 'content-type': 'text/plain' }, status: 415 },
  { name: 'form-encoded subscription', method: 'POST', path: '/v1/subscriptions', body: 'target=orders%2F*&url=http%3A%2F%2F127.0.0.1%3A9%2F', headers: { 'content-type': 'application/x-www-form-urlencoded' }, status: 415 },
  { name: 'multipart lookup', method: 'POST', path: '/v1/records/orders/h1/lookup', body: '--b\r\n\r\nx\r\n--b--', headers: { 'content-type': 'multipart/form-data; boundary=b' }, status: 415 },
  { name: 'XML key', method: 'POST', path: '/v1/api-keys', body: '<key role="admin"/>', headers: { 'content-type': 'application/xml' }, status: 415 },
  { name: 'no content type', method: 'PUT', path: '/v1/records/orders/h1', body: Buffer.from('{"a":1}'), status: 415 },
  { name: 'UTF-16 charset', method: 'PUT', path: '/v1/records/orders/h1', body: Buffer.from('{"a":1}', 'utf16le'), headers: { 'content-type': 'application/json; charset=utf-16' }, status: 415 },
  { name: 'JSON null body', method: 'PUT', path: '/v1/records/orders/h1', body: 'null', headers: JSON_TYPE, status: 400 },
  { name: 'JSON string body', method: 'POST', path: '/v1/subscriptions', body: '"orders/*"', headers: JSON_TYPE, status: 400 },
  { name: 'JSON array record', method: 'PUT', path: '/v1/records/orders/h1', body: '[{"a":1}]', headers: JSON_TYPE, status: 422 },
  { name: 'truncated JSON', method: 'POST', path: '/v1/subscriptions', body: '{"target":"orders/*",', headers: JSON_TYPE, status: 400 },
  { name: 'body over the size limit', method: 'PUT', path: '/v1/records/orders/h1', body: `{"a":"${'x'.repeat(1_100_000)}"}`, headers: JSON_TYPE, status: 413 },

  // Methods a route does not take.
  { name: 'PATCH a subscription', method: 'PATCH', path: '/v1/subscriptions/sub_x', body: { status: 'active' }, status: 405 },
  { name: 'PUT the subscription list', method: 'PUT', path: '/v1/subscriptions', body: SUBSCRIPTION, status: 405 },
  { name: 'PATCH a record', method: 'PATCH', path: '/v1/records/orders/h1', body: { a: 1 }, status: 405 },
  { name: 'POST a record', method: 'POST', path: '/v1/records/orders/h1', body: { a: 1 }, status: 405 },
  { name: 'GET a lookup', method: 'GET', path: '/v1/records/orders/h1/lookup', status: 405 },
  { name: 'DELETE a delivery', method: 'DELETE', path: '/v1/deliveries/msg_x', status: 405 },
  { name: 'DELETE an API key', method: 'DELETE', path: '/v1/api-keys/key_x', status: 405 },
  { name: 'PUT healthz', method: 'PUT', path: '/healthz', body: {}, status: 405 },
  { name: 'POST metrics', method: 'POST', path: '/metrics', body: {}, status: 405 },

  // Bad, missing and garbage bearer tokens.
  { name: 'no Authorization', method: 'PUT', path: '/v1/records/orders/h1', body: { a: 1 }, as: 'none', status: 401 },
  { name: 'empty bearer', method: 'POST', path: '/v1/subscriptions', body: SUBSCRIPTION, as: { authorization: 'Bearer ' }, status: 401 },
  { name: 'bearer of wrong alphabet', method: 'GET', path: '/v1/subscriptions', as: { authorization: `Bearer dbk_${'!'.repeat(43)}` }, status: 401 },
  { name: 'bearer of 10000 characters', method: 'GET', path: '/v1/deliveries', as: { authorization: `Bearer dbk_${'A'.repeat(10_000)}` }, status: 401 },
  { name: 'operator JSON as bearer', method: 'GET', path: '/v1/api-keys', as: { authorization: 'Bearer {"$ne":null}' }, status: 401 },
  { name: 'Basic credentials', method: 'GET', path: '/v1/api-keys', as: { authorization: 'Basic YWRtaW46YWRtaW4=' }, status: 401 },
  { name: 'two bearer tokens', method: 'POST', path: '/v1/api-keys', body: { name: 'x', role: 'admin' }, as: { authorization: `Bearer dbk_${'A'.repeat(43)}, Bearer dbk_${'B'.repeat(43)}` }, status: 401 },
  { name: 'Latin-1 bytes in bearer', method: 'GET', path: '/v1/subscriptions', as: { authorization: `Bearer dbk_${'\u00e9'.repeat(43)}` }, status: 401 },
  { name: 'well-formed unknown bearer', method: 'PUT', path: '/v1/records/orders/h1', body: { a: 1 }, as: { authorization: `Bearer dbk_${'Z'.repeat(43)}` }, status: 401 },
  { name: 'subscriber writes a record', method: 'PUT', path: '/v1/records/orders/h1', body: { a: 1 }, as: 'alice', status: 403 },
  { name: 'subscriber creates an admin key', method: 'POST', path: '/v1/api-keys', body: { name: 'x', role: 'admin' }, as: 'alice', status: 403 },
];

describe('hostile input corpus', () => {
  let stack: Stack;
  let receiver: TestReceiver;
  let alice: TestApiKey;
  let bob: TestApiKey;
  let revoked: TestApiKey;

  const tokenOf = (caller: Caller): Record<string, string> => {
    switch (caller) {
      case 'admin':
        return { authorization: `Bearer ${stack.adminKey.token}` };
      case 'alice':
        return { authorization: `Bearer ${alice.token}` };
      case 'bob':
        return { authorization: `Bearer ${bob.token}` };
      case 'none':
        return {};
      default:
        return caller;
    }
  };

  /** Counts the documents of every collection, so a case can prove it wrote nothing. */
  const countDocuments = async (): Promise<Record<string, number>> => {
    const { store } = stack.services;
    return {
      events: await store.events.countDocuments(),
      subscriptions: await store.subscriptions.countDocuments(),
      deliveries: await store.deliveries.countDocuments(),
      apiKeys: await store.apiKeys.countDocuments(),
      idempotencyKeys: await store.idempotencyKeys.countDocuments(),
    };
  };

  before(async () => {
    // A large budget: the corpus sends all its requests with three keys.
    stack = await Stack.start({ API_RATE_LIMIT_REQUESTS: '100000' });
    receiver = await new TestReceiver().start();
    alice = await stack.createApiKey('subscriber');
    bob = await stack.createApiKey('subscriber');
    revoked = await stack.createApiKey('provider');
    assert.equal((await stack.request('POST', `/v1/api-keys/${revoked.id}/revoke`)).status, 200);

    const subscription = await stack.requestAs(alice.token, 'POST', '/v1/subscriptions', { target: 'orders/hostile', url: receiver.url });
    assert.equal(subscription.status, 201);
    assert.equal((await stack.request('PUT', '/v1/records/orders/hostile', { a: 1 })).status, 201);
    const deliveryId = await eventually('a succeeded delivery', async () => {
      const listed = await stack.requestAs(alice.token, 'GET', '/v1/deliveries?status=succeeded');
      return listed.body.data[0]?.id as string | undefined;
    });

    const subscriptionPath = `/v1/subscriptions/${subscription.body.id}`;
    foreignIdCases.push(
      { name: 'foreign subscription read', method: 'GET', path: subscriptionPath, as: 'bob', status: 404 },
      { name: 'foreign subscription pause', method: 'POST', path: `${subscriptionPath}/pause`, as: 'bob', status: 404 },
      { name: 'foreign subscription resume', method: 'POST', path: `${subscriptionPath}/resume`, as: 'bob', status: 404 },
      { name: 'foreign subscription delete', method: 'DELETE', path: subscriptionPath, as: 'bob', status: 404 },
      { name: 'foreign delivery read', method: 'GET', path: `/v1/deliveries/${deliveryId}`, as: 'bob', status: 404 },
      { name: 'foreign delivery redeliver', method: 'POST', path: `/v1/deliveries/${deliveryId}/redeliver`, as: 'bob', status: 404 },
      { name: 'revoked key', method: 'PUT', path: '/v1/records/orders/h1', body: { a: 1 }, as: { authorization: `Bearer ${revoked.token}` }, status: 401 },
    );
  });

  after(async () => {
    await stack.stop();
    await receiver.stop();
  });

  test('corpus has at least 80 requests', () => {
    assert.ok(cases.length + foreignIdCases.length >= 80, `${cases.length + foreignIdCases.length} cases`);
  });

  test('each request gets a clean problem and writes nothing', async (t) => {
    for (const hostile of [...cases, ...foreignIdCases]) {
      const label = `${hostile.name} (${hostile.method} ${hostile.path.slice(0, 80)})`;
      await t.test(hostile.name, async () => {
        const before = await countDocuments();

        const isObjectBody = hostile.body !== undefined && typeof hostile.body === 'object' && !Buffer.isBuffer(hostile.body);
        let body = hostile.body as string | Buffer | undefined;
        if (isObjectBody) {
          body = JSON.stringify(hostile.body);
        }
        const response = await fetch(`${stack.apiUrl}${hostile.path}`, {
          method: hostile.method,
          headers: { ...(isObjectBody ? JSON_TYPE : {}), ...tokenOf(hostile.as ?? 'admin'), ...hostile.headers },
          body,
        });
        const text = await response.text();

        assert.equal(response.status, hostile.status, `${label}: ${text.slice(0, 300)}`);
        assert.match(response.headers.get('content-type') ?? '', /^application\/problem\+json/, label);
        const problem = JSON.parse(text) as { status: number; title: string; detail: string };
        assert.equal(problem.status, hostile.status, label);
        assert.equal(typeof problem.detail, 'string', label);
        assert.doesNotMatch(text, /node_modules|\.ts:\d+|\n\s+at |\\n\s+at |MongoServerError|E11000|"stack"/, `${label} leaks internals: ${text.slice(0, 300)}`);
        assert.deepEqual(await countDocuments(), before, `${label} wrote to the database`);
      });
    }
  });

  test('API stays healthy', async () => {
    const health = await fetch(`${stack.apiUrl}/healthz`);
    const write = await stack.request('PUT', '/v1/records/orders/after-corpus', { ok: true });

    assert.equal(health.status, 200);
    assert.equal(write.status, 201);
  });
});
