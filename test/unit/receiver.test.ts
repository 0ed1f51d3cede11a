import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, mock, test } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { MemoryDuplicateStore, WebhookRejectedError, createWebhookProcessor, verifyWebhook } from '../../src/receiver/index.js';
import { idsFromWorkflowId } from '../../src/workflows/log-context.js';
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

describe('verifyWebhook tolerance', () => {
  test('custom tolerance accepts an older timestamp', () => {
    const tenMinutesAgo = new Date(Date.now() - 10 * 60 * 1000);

    assert.equal(verifyWebhook(SECRET, BODY, signedHeaders({ timestamp: tenMinutesAgo }), { toleranceSeconds: 15 * 60 }).type, 'record.created');
  });

  test('custom tolerance rejects beyond it', () => {
    const twoMinutesAgo = new Date(Date.now() - 2 * 60 * 1000);
    const error = rejectionOf(() => verifyWebhook(SECRET, BODY, signedHeaders({ timestamp: twoMinutesAgo }), { toleranceSeconds: 60 }));

    assert.equal(error.reason, 'stale-timestamp');
    assert.match(error.message, /outside the tolerance of 60 s/);
  });

  test('stale check comes before the signature', () => {
    const tenMinutesAgo = new Date(Date.now() - 10 * 60 * 1000);
    const error = rejectionOf(() => verifyWebhook(SECRET, BODY, signedHeaders({ secret: generateSigningSecret(), timestamp: tenMinutesAgo })));

    assert.equal(error.reason, 'stale-timestamp');
  });

  test('signed body that is not JSON is invalid', () => {
    const body = 'not json';
    const error = rejectionOf(() => verifyWebhook(SECRET, body, signedHeaders({ body })));

    assert.equal(error.reason, 'invalid-payload');
    assert.equal(error.message, 'body is not JSON');
  });
});

describe('MemoryDuplicateStore', () => {
  beforeEach(() => {
    mock.timers.enable({ apis: ['Date'], now: Date.UTC(2025, 0, 1) });
  });

  afterEach(() => {
    mock.timers.reset();
  });

  test('first claim wins', async () => {
    const store = new MemoryDuplicateStore();

    assert.equal(await store.claim('msg_1'), 'claimed');
    assert.equal(await store.claim('msg_1'), 'in-progress');
    assert.equal(await store.claim('msg_2'), 'claimed');
  });

  test('completed id is handled', async () => {
    const store = new MemoryDuplicateStore();
    await store.claim('msg_1');
    await store.complete('msg_1');

    assert.equal(await store.claim('msg_1'), 'handled');
  });

  test('released id can be claimed again', async () => {
    const store = new MemoryDuplicateStore();
    await store.claim('msg_1');
    await store.release('msg_1');

    assert.equal(await store.claim('msg_1'), 'claimed');
  });

  test('release keeps a handled id', async () => {
    const store = new MemoryDuplicateStore();
    await store.claim('msg_1');
    await store.complete('msg_1');
    await store.release('msg_1');

    assert.equal(await store.claim('msg_1'), 'handled');
  });

  test('abandoned claim expires', async () => {
    const store = new MemoryDuplicateStore({ claimTtlMs: 1_000 });
    await store.claim('msg_1');
    mock.timers.tick(999);
    assert.equal(await store.claim('msg_1'), 'in-progress');

    mock.timers.tick(1);
    assert.equal(await store.claim('msg_1'), 'claimed');
  });

  test('handled id is kept until the ttl ends', async () => {
    const store = new MemoryDuplicateStore({ ttlMs: 60_000 });
    await store.claim('msg_1');
    await store.complete('msg_1');
    mock.timers.tick(59_999);
    assert.equal(await store.claim('msg_1'), 'handled');

    mock.timers.tick(1);
    assert.equal(await store.claim('msg_1'), 'claimed');
  });

  test('default ttl is one day', async () => {
    const store = new MemoryDuplicateStore();
    await store.claim('msg_1');
    await store.complete('msg_1');
    mock.timers.tick(24 * 60 * 60 * 1000 - 1);
    assert.equal(await store.claim('msg_1'), 'handled');

    mock.timers.tick(1);
    assert.equal(await store.claim('msg_1'), 'claimed');
  });

  test('oldest id is dropped past maxEntries', async () => {
    const store = new MemoryDuplicateStore({ maxEntries: 2 });
    for (const id of ['msg_1', 'msg_2', 'msg_3']) {
      await store.claim(id);
      await store.complete(id);
    }

    assert.equal(await store.claim('msg_1'), 'claimed');
    assert.equal(await store.claim('msg_3'), 'handled');
  });

  test('completing again makes an id the newest', async () => {
    const store = new MemoryDuplicateStore({ maxEntries: 2 });
    for (const id of ['msg_1', 'msg_2', 'msg_1', 'msg_3']) {
      await store.complete(id);
    }

    assert.equal(await store.claim('msg_1'), 'handled');
    assert.equal(await store.claim('msg_2'), 'claimed');
  });
});

describe('createWebhookProcessor', () => {
  function headersFor(webhookId: string): Record<string, string> {
    const timestamp = new Date();
    return {
      'webhook-id': webhookId,
      'webhook-timestamp': String(Math.floor(timestamp.getTime() / 1000)),
      'webhook-signature': new Webhook(SECRET).sign(webhookId, timestamp, BODY),
    };
  }

  test('handles an event once', async () => {
    const onEvent = mock.fn();
    const process = createWebhookProcessor({ secret: SECRET, onEvent });

    const first = await process(Buffer.from(BODY), headersFor('msg_a'));
    const second = await process(Buffer.from(BODY), headersFor('msg_a'));

    assert.equal(first.status, 204);
    assert.equal(second.status, 204);
    assert.equal(onEvent.mock.callCount(), 1);
    assert.equal(onEvent.mock.calls[0]!.arguments[1], 'msg_a');
  });

  test('concurrent copy gets 409 while the first runs', async () => {
    let finish!: () => void;
    const onEvent = mock.fn(() => new Promise<void>((resolve) => (finish = resolve)));
    const process = createWebhookProcessor({ secret: SECRET, onEvent });

    const first = process(Buffer.from(BODY), headersFor('msg_b'));
    await new Promise((resolve) => setImmediate(resolve));
    const second = await process(Buffer.from(BODY), headersFor('msg_b'));
    finish();

    assert.equal(second.status, 409);
    assert.equal(second.headers['retry-after'], '5');
    assert.equal((await first).status, 204);
    assert.equal(onEvent.mock.callCount(), 1);
  });

  test('failed handler lets the retry run', async () => {
    let calls = 0;
    const process = createWebhookProcessor({
      secret: SECRET,
      onEvent: () => {
        calls++;
        if (calls === 1) {
          throw new Error('database down');
        }
      },
    });

    await assert.rejects(process(Buffer.from(BODY), headersFor('msg_c')), /database down/);
    const retry = await process(Buffer.from(BODY), headersFor('msg_c'));

    assert.equal(retry.status, 204);
    assert.equal(calls, 2);
  });

  test('rejection is reported and not handled', async () => {
    const onEvent = mock.fn();
    const onRejected = mock.fn();
    const process = createWebhookProcessor({ secret: SECRET, onEvent, onRejected });

    const response = await process(Buffer.from(BODY), { ...headersFor('msg_d'), 'webhook-signature': 'v1,AAAA' });

    assert.equal(response.status, 401);
    assert.equal(onRejected.mock.callCount(), 1);
    assert.equal(onEvent.mock.callCount(), 0);
  });
});

describe('idsFromWorkflowId', () => {
  test('reads a delivery workflow id', () => {
    assert.deepEqual(idsFromWorkflowId('delivery:evt_1:sub_2'), { eventId: 'evt_1', subscriptionId: 'sub_2' });
  });

  test('reads a dispatch workflow id', () => {
    assert.deepEqual(idsFromWorkflowId('dispatch:evt_1'), { eventId: 'evt_1' });
  });

  test('other workflow ids give no ids', () => {
    for (const workflowId of ['', 'delivery:evt_1', 'dispatch:evt_1:sub_2', 'other:evt_1:sub_2', 'delivery:evt_1:sub_2:x', 'delivery::sub_2']) {
      assert.deepEqual(idsFromWorkflowId(workflowId), {}, workflowId);
    }
  });
});
