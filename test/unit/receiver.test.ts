import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, mock, test } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { MemoryDuplicateStore, WebhookRejectedError, verifyWebhook } from '../../src/receiver/index.js';
import { generateSigningSecret } from '../../src/domain/secrets.js';

const SECRET = generateSigningSecret();
const WEBHOOK_ID = 'msg_test0000000000000000000';
const BODY = JSON.stringify({
  type: 'record.created',
  timestamp: '2025-01-01T00:00:00.000Z',
  data: { kind: 'products', id: 'p21', version: 1, eventId: 'evt_1', record: { name: 'Kettle' } },
});

function signedHeaders(options: { secret?: string; body?: string; timestamp?: Date } = {}): Record<string, string> {
  const timestamp = options.timestamp ?? new Date();
  return {
    'webhook-id': WEBHOOK_ID,
    'webhook-timestamp': String(Math.floor(timestamp.getTime() / 1000)),
    'webhook-signature': new Webhook(options.secret ?? SECRET).sign(WEBHOOK_ID, timestamp, options.body ?? BODY),
  };
}

/** Returns the WebhookRejectedError that `verify` throws. Fails the test when it throws anything else or nothing. */
function rejectionOf(verify: () => unknown): WebhookRejectedError {
  try {
    verify();
  } catch (error) {
    assert.ok(error instanceof WebhookRejectedError, `expected a WebhookRejectedError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected verifyWebhook to throw');
}

describe('verifyWebhook', () => {
  test('accepts a correctly signed body', () => {
    const event = verifyWebhook(SECRET, BODY, signedHeaders());

    assert.equal(event.type, 'record.created');
    assert.deepEqual(event.data.record, { name: 'Kettle' });
  });

  test('accepts a Buffer body', () => {
    const event = verifyWebhook(SECRET, Buffer.from(BODY), signedHeaders());

    assert.equal(event.data.id, 'p21');
  });

  test('accepts one of several signatures', () => {
    const headers = signedHeaders();
    headers['webhook-signature'] = `${signedHeaders({ secret: generateSigningSecret() })['webhook-signature']} ${headers['webhook-signature']}`;

    assert.equal(verifyWebhook(SECRET, BODY, headers).data.kind, 'products');
  });

  test('uses the first value of a repeated header', () => {
    const headers = signedHeaders();

    assert.equal(verifyWebhook(SECRET, BODY, { ...headers, 'webhook-id': [WEBHOOK_ID, 'msg_other'] }).data.version, 1);
  });

  test('rejects a wrong signature', () => {
    const error = rejectionOf(() => verifyWebhook(SECRET, BODY, signedHeaders({ secret: generateSigningSecret() })));

    assert.equal(error.reason, 'invalid-signature');
    assert.equal(error.status, 401);
  });

  test('rejects a body changed after signing', () => {
    const error = rejectionOf(() => verifyWebhook(SECRET, BODY.replace('Kettle', 'Teapot'), signedHeaders()));

    assert.equal(error.reason, 'invalid-signature');
  });

  test('rejects a different webhook id', () => {
    const error = rejectionOf(() => verifyWebhook(SECRET, BODY, { ...signedHeaders(), 'webhook-id': 'msg_other' }));

    assert.equal(error.reason, 'invalid-signature');
  });

  test('rejects a stale timestamp', () => {
    const tenMinutesAgo = new Date(Date.now() - 10 * 60 * 1000);
    const error = rejectionOf(() => verifyWebhook(SECRET, BODY, signedHeaders({ timestamp: tenMinutesAgo })));

    assert.equal(error.reason, 'stale-timestamp');
    assert.equal(error.status, 400);
  });

  test('rejects a timestamp from the future', () => {
    const tenMinutesAhead = new Date(Date.now() + 10 * 60 * 1000);
    const error = rejectionOf(() => verifyWebhook(SECRET, BODY, signedHeaders({ timestamp: tenMinutesAhead })));

    assert.equal(error.reason, 'stale-timestamp');
  });

  test('accepts a timestamp four minutes old', () => {
    const fourMinutesAgo = new Date(Date.now() - 4 * 60 * 1000);

    assert.equal(verifyWebhook(SECRET, BODY, signedHeaders({ timestamp: fourMinutesAgo })).type, 'record.created');
  });

  test('rejects each missing header', () => {
    for (const name of ['webhook-id', 'webhook-timestamp', 'webhook-signature']) {
      const headers: Record<string, string | undefined> = signedHeaders();
      delete headers[name];
      const error = rejectionOf(() => verifyWebhook(SECRET, BODY, headers));

      assert.equal(error.reason, 'missing-headers', name);
      assert.equal(error.status, 400, name);
      assert.equal(error.message, `missing header ${name}`);
    }
  });

  test('rejects an empty header as missing', () => {
    const error = rejectionOf(() => verifyWebhook(SECRET, BODY, { ...signedHeaders(), 'webhook-signature': '' }));

    assert.equal(error.reason, 'missing-headers');
  });

  test('rejects a non-numeric timestamp', () => {
    const error = rejectionOf(() => verifyWebhook(SECRET, BODY, { ...signedHeaders(), 'webhook-timestamp': 'yesterday' }));

    assert.equal(error.reason, 'invalid-timestamp');
    assert.equal(error.status, 400);
  });

  test('finds headers in any case', () => {
    const headers = Object.fromEntries(Object.entries(signedHeaders()).map(([name, value]) => [name.toUpperCase(), value]));

    assert.equal(verifyWebhook(SECRET, BODY, headers).type, JSON.parse(BODY).type);
  });

  test('names every missing header', () => {
    const error = rejectionOf(() => verifyWebhook(SECRET, BODY, {}));

    assert.equal(error.reason, 'missing-headers');
    assert.equal(error.message, 'missing headers webhook-id, webhook-timestamp, webhook-signature');
  });

  test('rejects a signed non-event body', () => {
    const body = JSON.stringify({ hello: 'world' });
    const error = rejectionOf(() => verifyWebhook(SECRET, body, signedHeaders({ body })));

    assert.equal(error.reason, 'invalid-payload');
    assert.equal(error.status, 400);
  });

  test('rejects a signed JSON string body', () => {
    const body = JSON.stringify('record.created');
    const error = rejectionOf(() => verifyWebhook(SECRET, body, signedHeaders({ body })));

    assert.equal(error.reason, 'invalid-payload');
  });
});

describe('MemoryDuplicateStore', () => {
  beforeEach(() => {
    mock.timers.enable({ apis: ['Date'], now: Date.UTC(2025, 0, 1) });
  });

  afterEach(() => {
    mock.timers.reset();
  });

  test('unknown id is not a duplicate', () => {
    assert.equal(new MemoryDuplicateStore().has('msg_1'), false);
  });

  test('added id is a duplicate', () => {
    const store = new MemoryDuplicateStore();
    store.add('msg_1');

    assert.equal(store.has('msg_1'), true);
    assert.equal(store.has('msg_2'), false);
  });

  test('id is kept until the ttl ends', () => {
    const store = new MemoryDuplicateStore({ ttlMs: 60_000, maxEntries: 10 });
    store.add('msg_1');
    mock.timers.tick(59_999);

    assert.equal(store.has('msg_1'), true);
  });

  test('id is forgotten when the ttl ends', () => {
    const store = new MemoryDuplicateStore({ ttlMs: 60_000, maxEntries: 10 });
    store.add('msg_1');
    mock.timers.tick(60_000);

    assert.equal(store.has('msg_1'), false);
  });

  test('default ttl is one day', () => {
    const store = new MemoryDuplicateStore();
    store.add('msg_1');
    mock.timers.tick(24 * 60 * 60 * 1000 - 1);
    assert.equal(store.has('msg_1'), true);

    mock.timers.tick(1);
    assert.equal(store.has('msg_1'), false);
  });

  test('adding again restarts the ttl', () => {
    const store = new MemoryDuplicateStore({ ttlMs: 60_000, maxEntries: 10 });
    store.add('msg_1');
    mock.timers.tick(50_000);
    store.add('msg_1');
    mock.timers.tick(50_000);

    assert.equal(store.has('msg_1'), true);
  });

  test('oldest id is dropped past maxEntries', () => {
    const store = new MemoryDuplicateStore({ ttlMs: 60_000, maxEntries: 2 });
    store.add('msg_1');
    store.add('msg_2');
    store.add('msg_3');

    assert.equal(store.has('msg_1'), false);
    assert.equal(store.has('msg_2'), true);
    assert.equal(store.has('msg_3'), true);
  });

  test('adding again makes an id the newest', () => {
    const store = new MemoryDuplicateStore({ ttlMs: 60_000, maxEntries: 2 });
    store.add('msg_1');
    store.add('msg_2');
    store.add('msg_1');
    store.add('msg_3');

    assert.equal(store.has('msg_1'), true);
    assert.equal(store.has('msg_2'), false);
    assert.equal(store.has('msg_3'), true);
  });

  test('maxEntries of one keeps only the latest', () => {
    const store = new MemoryDuplicateStore({ ttlMs: 60_000, maxEntries: 1 });
    for (const id of ['msg_1', 'msg_2', 'msg_3', 'msg_4']) {
      store.add(id);
    }

    assert.equal(store.has('msg_3'), false);
    assert.equal(store.has('msg_4'), true);
  });
});
