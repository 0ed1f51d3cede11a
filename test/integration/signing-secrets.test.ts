import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createPublicKey, verify } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { verifyWebhook } from '../../src/receiver/index.js';
import { Stack } from '../support/stack.js';
import { TestReceiver, eventually, type ReceivedRequest } from '../support/receiver.js';

const GIVEN_SECRET = 'whsec_' + Buffer.alloc(32, 0x5a).toString('base64');
const ROTATED_SECRET = 'whsec_' + Buffer.alloc(32, 0x3c).toString('base64');

function webhookHeaders(request: ReceivedRequest): Record<string, string> {
  return {
    'webhook-id': String(request.headers['webhook-id']),
    'webhook-timestamp': String(request.headers['webhook-timestamp']),
    'webhook-signature': String(request.headers['webhook-signature']),
  };
}

/**
 * Checks the v1a entries of a request with node:crypto alone, over the signed content of the
 * Standard Webhooks spec, because the JavaScript standardwebhooks package (1.3.0) verifies v1 only.
 */
function v1aVerifies(publicKey: string, request: ReceivedRequest): boolean {
  const headers = webhookHeaders(request);
  const key = createPublicKey({ format: 'jwk', key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(publicKey.slice(5), 'base64').toString('base64url') } });
  const content = Buffer.from(`${headers['webhook-id']}.${headers['webhook-timestamp']}.${request.body}`);
  return headers['webhook-signature']!.split(' ').some((entry) => entry.startsWith('v1a,') && verify(null, content, key, Buffer.from(entry.slice(4), 'base64')));
}

describe('signing secrets through the real stack', () => {
  let stack: Stack;
  let receiver: TestReceiver;

  before(async () => {
    stack = await Stack.start();
    receiver = await new TestReceiver().start();
  });

  after(async () => {
    await receiver.stop();
    await stack.stop();
  });

  async function subscribe(target: string, extra: Record<string, unknown> = {}) {
    const created = await stack.request('POST', '/v1/subscriptions', { target, url: receiver.url, ...extra });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    return created.body;
  }

  /** Writes a record and returns the webhook it produced. */
  async function deliver(kind: string, id: string): Promise<ReceivedRequest> {
    const before = receiver.requests.length;
    const written = await stack.request('PUT', `/v1/records/${kind}/${id}`, { at: Date.now() });
    assert.ok(written.status === 200 || written.status === 201);
    const requests = await receiver.waitForRequests(before + 1);
    return requests[before]!;
  }

  test('rotation signs with both secrets', async () => {
    const subscription = await subscribe('rot1/*', { secret: GIVEN_SECRET });

    const rotated = await stack.request('POST', `/v1/subscriptions/${subscription.id}/secret/rotate`, { secret: ROTATED_SECRET });
    assert.equal(rotated.status, 200, JSON.stringify(rotated.body));
    assert.equal(rotated.body.secret, ROTATED_SECRET);
    assert.ok(Date.parse(rotated.body.signature.previousKeyExpiresAt) > Date.now() + 23 * 3600 * 1000);

    const request = await deliver('rot1', 'a');
    const entries = webhookHeaders(request)['webhook-signature']!.split(' ');
    assert.equal(entries.length, 2);
    assert.ok(entries.every((entry) => entry.startsWith('v1,')));
    assert.doesNotThrow(() => new Webhook(ROTATED_SECRET).verify(request.body, webhookHeaders(request)));
    assert.doesNotThrow(() => new Webhook(GIVEN_SECRET).verify(request.body, webhookHeaders(request)));
  });

  test('rotation without body generates a secret', async () => {
    const subscription = await subscribe('rot2/*');

    const rotated = await stack.request('POST', `/v1/subscriptions/${subscription.id}/secret/rotate`);
    assert.equal(rotated.status, 200, JSON.stringify(rotated.body));
    assert.match(rotated.body.secret, /^whsec_/);
    assert.notEqual(rotated.body.secret, subscription.secret);

    const read = await stack.request('GET', `/v1/subscriptions/${subscription.id}`);
    assert.equal(read.body.secret, undefined);
    assert.equal(read.body.signature.previousKeyExpiresAt, rotated.body.signature.previousKeyExpiresAt);
  });

  test('zero grace period drops the old secret', async () => {
    const subscription = await subscribe('rot3/*', { secret: GIVEN_SECRET });

    const rotated = await stack.request('POST', `/v1/subscriptions/${subscription.id}/secret/rotate`, { gracePeriodSeconds: 0 });
    assert.equal(rotated.status, 200);
    assert.equal(rotated.body.signature.previousKeyExpiresAt, null);

    const request = await deliver('rot3', 'a');
    assert.equal(webhookHeaders(request)['webhook-signature']!.split(' ').length, 1);
    assert.doesNotThrow(() => new Webhook(rotated.body.secret).verify(request.body, webhookHeaders(request)));
    assert.throws(() => new Webhook(GIVEN_SECRET).verify(request.body, webhookHeaders(request)), /No matching signature/);
  });

  test('expired grace period signs once', async () => {
    const subscription = await subscribe('rot4/*', { secret: GIVEN_SECRET });
    const rotated = await stack.request('POST', `/v1/subscriptions/${subscription.id}/secret/rotate`, { gracePeriodSeconds: 1 });
    assert.equal(rotated.status, 200);

    await eventually('the grace period to end', async () => {
      const read = await stack.request('GET', `/v1/subscriptions/${subscription.id}`);
      return read.body.signature.previousKeyExpiresAt === null ? true : undefined;
    });

    const request = await deliver('rot4', 'a');
    assert.equal(webhookHeaders(request)['webhook-signature']!.split(' ').length, 1);
    assert.throws(() => new Webhook(GIVEN_SECRET).verify(request.body, webhookHeaders(request)), /No matching signature/);
  });

  test('second rotation drops the oldest secret', async () => {
    const subscription = await subscribe('rot5/*', { secret: GIVEN_SECRET });
    const first = await stack.request('POST', `/v1/subscriptions/${subscription.id}/secret/rotate`, {});
    const second = await stack.request('POST', `/v1/subscriptions/${subscription.id}/secret/rotate`, {});
    assert.equal(second.status, 200);

    const request = await deliver('rot5', 'a');
    assert.equal(webhookHeaders(request)['webhook-signature']!.split(' ').length, 2);
    assert.doesNotThrow(() => new Webhook(second.body.secret).verify(request.body, webhookHeaders(request)));
    assert.doesNotThrow(() => new Webhook(first.body.secret).verify(request.body, webhookHeaders(request)));
    assert.throws(() => new Webhook(GIVEN_SECRET).verify(request.body, webhookHeaders(request)), /No matching signature/);
  });

  test('rotation input errors are 422', async () => {
    const subscription = await subscribe('rot6/*', { secret: GIVEN_SECRET });
    const path = `/v1/subscriptions/${subscription.id}/secret/rotate`;

    const same = await stack.request('POST', path, { secret: GIVEN_SECRET });
    assert.equal(same.status, 422);
    assert.equal(same.body.errors[0].field, 'body.secret');
    assert.ok(!JSON.stringify(same.body).includes(GIVEN_SECRET.slice(6)));

    const tooLong = await stack.request('POST', path, { gracePeriodSeconds: 31 * 24 * 3600 });
    assert.equal(tooLong.status, 422);
    assert.equal(tooLong.body.errors[0].field, 'body.gracePeriodSeconds');

    const missing = await stack.request('POST', '/v1/subscriptions/sub_01NOSUCHSUBSCRIPTION00000/secret/rotate');
    assert.equal(missing.status, 404);
  });

  test('v1a subscription signs with ed25519', async () => {
    const subscription = await subscribe('ed1/*', { signature: { scheme: 'v1a' } });
    assert.equal(subscription.secret, null);
    assert.equal(subscription.signature.scheme, 'v1a');
    assert.match(subscription.signature.publicKey, /^whpk_/);

    const read = await stack.request('GET', `/v1/subscriptions/${subscription.id}`);
    assert.equal(read.body.signature.publicKey, subscription.signature.publicKey);

    const request = await deliver('ed1', 'a');
    const signature = webhookHeaders(request)['webhook-signature']!;
    assert.match(signature, /^v1a,[A-Za-z0-9+/]{86}==$/);
    assert.ok(v1aVerifies(subscription.signature.publicKey, request));
    const event = verifyWebhook(subscription.signature.publicKey, request.body, request.headers);
    assert.equal(event.type, 'record.created');
  });

  test('v1a rotation keeps both public keys valid', async () => {
    const subscription = await subscribe('ed2/*', { signature: { scheme: 'v1a' } });

    const rotated = await stack.request('POST', `/v1/subscriptions/${subscription.id}/secret/rotate`);
    assert.equal(rotated.status, 200);
    assert.equal(rotated.body.secret, null);
    assert.notEqual(rotated.body.signature.publicKey, subscription.signature.publicKey);
    assert.equal(rotated.body.signature.previousPublicKey, subscription.signature.publicKey);

    const request = await deliver('ed2', 'a');
    assert.equal(webhookHeaders(request)['webhook-signature']!.split(' ').length, 2);
    assert.ok(v1aVerifies(rotated.body.signature.publicKey, request));
    assert.ok(v1aVerifies(subscription.signature.publicKey, request));

    const withSecret = await stack.request('POST', `/v1/subscriptions/${subscription.id}/secret/rotate`, { secret: GIVEN_SECRET });
    assert.equal(withSecret.status, 422);
    assert.equal(withSecret.body.errors[0].field, 'body.secret');
  });

  test('v1a signature fails with another public key', async () => {
    const subscription = await subscribe('ed3/*', { signature: { scheme: 'v1a' } });
    const other = await subscribe('ed4/*', { signature: { scheme: 'v1a' } });

    const request = await deliver('ed3', 'a');
    assert.equal(v1aVerifies(other.signature.publicKey, request), false);
    assert.throws(() => verifyWebhook(other.signature.publicKey, request.body, request.headers), /no webhook-signature matches the body/);
    assert.ok(v1aVerifies(subscription.signature.publicKey, request));
  });

  test('custom headers reach the receiver', async () => {
    const subscription = await subscribe('hdr1/*', { headers: { Authorization: 'Bearer rcv-token-1', 'X-Tenant': 'acme' } });
    assert.deepEqual(subscription.headerNames, ['Authorization', 'X-Tenant']);

    const read = await stack.request('GET', `/v1/subscriptions/${subscription.id}`);
    assert.deepEqual(read.body.headerNames, ['Authorization', 'X-Tenant']);
    assert.ok(!JSON.stringify(read.body).includes('rcv-token-1'));

    const request = await deliver('hdr1', 'a');
    assert.equal(request.headers.authorization, 'Bearer rcv-token-1');
    assert.equal(request.headers['x-tenant'], 'acme');
    assert.equal(request.headers['content-type'], 'application/json');
    assert.doesNotThrow(() => new Webhook(subscription.secret).verify(request.body, webhookHeaders(request)));
  });

  test('custom header values are encrypted at rest', async () => {
    const subscription = await subscribe('hdr2/*', { headers: { 'X-Api-Key': 'rcv-token-at-rest' } });
    const stored = await stack.services.store.subscriptions.findOne({ _id: subscription.id });
    assert.ok(stored !== null);
    assert.ok(!JSON.stringify(stored).includes('rcv-token-at-rest'));
    assert.deepEqual(stored.headerNames, ['X-Api-Key']);
  });

  const rejected: Array<[string, Record<string, unknown>, string]> = [
    ['Host', { Host: 'internal.example' }, 'body.headers.Host'],
    ['hop-by-hop', { Connection: 'close' }, 'body.headers.Connection'],
    ['Proxy-*', { 'Proxy-Authorization': 'Basic eA==' }, 'body.headers.Proxy-Authorization'],
    ['webhook-*', { 'webhook-signature': 'v1,forged' }, 'body.headers.webhook-signature'],
    ['Content-Type', { 'content-type': 'text/plain' }, 'body.headers.content-type'],
    ['CR/LF value', { 'X-Token': 'a\r\nX-Injected: yes' }, 'body.headers.X-Token'],
    ['invalid name', { 'X Token': 'a' }, 'body.headers.X Token'],
    ['too many', Object.fromEntries(Array.from({ length: 21 }, (_, index) => [`X-H${index}`, 'v'])), 'body.headers'],
  ];
  for (const [name, headers, field] of rejected) {
    test(`${name} header is a 422`, async () => {
      const response = await stack.request('POST', '/v1/subscriptions', { target: 'hdr3/*', url: receiver.url, headers });
      assert.equal(response.status, 422);
      assert.equal(response.headers.get('content-type'), 'application/problem+json; charset=utf-8');
      assert.deepEqual(response.body.errors.map((error: { field: string }) => error.field), [field]);
    });
  }
});
