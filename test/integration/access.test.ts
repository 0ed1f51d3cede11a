import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { TestReceiver, eventually } from '../support/receiver.js';
import { Stack, type ApiResponse, type TestApiKey } from '../support/stack.js';

function assertProblem(response: ApiResponse, status: number, message: string): void {
  assert.equal(response.status, status, `${message}: ${JSON.stringify(response.body)}`);
  assert.match(response.headers.get('content-type') ?? '', /^application\/problem\+json/, message);
}

describe('API keys, roles and tenancy', () => {
  let stack: Stack;
  let receiver: TestReceiver;
  let provider: TestApiKey;
  let alice: TestApiKey;
  let bob: TestApiKey;
  /** A subscription of Alice's account with one ended delivery. */
  let aliceSubscriptionId: string;
  let aliceDeliveryId: string;

  before(async () => {
    stack = await Stack.start();
    receiver = await new TestReceiver().start();
    provider = await stack.createApiKey('provider');
    alice = await stack.createApiKey('subscriber');
    bob = await stack.createApiKey('subscriber');

    const created = await stack.requestAs(alice.token, 'POST', '/v1/subscriptions', { target: 'orders/acc-1', url: receiver.url });
    assert.equal(created.status, 201);
    aliceSubscriptionId = created.body.id;
    assert.equal((await stack.requestAs(provider.token, 'PUT', '/v1/records/orders/acc-1', { total: 1 })).status, 201);
    aliceDeliveryId = await eventually('a succeeded delivery', async () => {
      const listed = await stack.requestAs(alice.token, 'GET', `/v1/deliveries?subscriptionId=${aliceSubscriptionId}&status=succeeded`);
      return listed.body.data[0]?.id as string | undefined;
    });
  });

  after(async () => {
    await stack.stop();
    await receiver.stop();
  });

  describe('authentication', () => {
    test('missing key is 401 with a challenge', async () => {
      const response = await stack.requestAs(null, 'GET', '/v1/subscriptions');

      assertProblem(response, 401, 'no key');
      assert.equal(response.headers.get('www-authenticate'), 'Bearer realm="doorbell"');
    });

    test('unknown key is 401 invalid_token', async () => {
      const response = await stack.requestAs(`dbk_${'A'.repeat(43)}`, 'GET', '/v1/subscriptions');

      assertProblem(response, 401, 'unknown key');
      assert.equal(response.headers.get('www-authenticate'), 'Bearer realm="doorbell", error="invalid_token"');
    });

    test('other schemes are 401', async () => {
      for (const authorization of ['Basic YWxpY2U6c2VjcmV0', `Token ${alice.token}`, 'Bearer', `Bearer ${alice.token} extra`, alice.token]) {
        const response = await stack.request('GET', '/v1/subscriptions', undefined, { authorization });
        assertProblem(response, 401, authorization.slice(0, 12));
      }
    });

    test('scheme is case-insensitive', async () => {
      const response = await stack.request('GET', '/v1/subscriptions', undefined, { authorization: `bearer ${alice.token}` });

      assert.equal(response.status, 200);
    });

    test('public routes need no key', async () => {
      for (const path of ['/healthz', '/readyz', '/openapi.json', '/docs']) {
        const response = await fetch(`${stack.apiUrl}${path}`);
        assert.equal(response.status, 200, path);
      }
    });

    test('public routes ignore a bad key', async () => {
      const response = await stack.request('GET', '/healthz', undefined, { authorization: 'Bearer garbage' });

      assert.equal(response.status, 200);
    });

    test('metrics needs a metrics or admin key', async () => {
      const metricsKey = await stack.createApiKey('metrics');

      assert.equal((await fetch(`${stack.apiUrl}/metrics`)).status, 401);
      assert.equal((await fetch(`${stack.apiUrl}/metrics`, { headers: { authorization: `Bearer ${metricsKey.token}` } })).status, 200);
      assert.equal((await fetch(`${stack.apiUrl}/metrics`, { headers: { authorization: `Bearer ${stack.adminKey.token}` } })).status, 200);
      assert.equal((await fetch(`${stack.apiUrl}/metrics`, { headers: { authorization: `Bearer ${alice.token}` } })).status, 403);
    });
  });

  describe('roles', () => {
    test('subscriber cannot write records', async () => {
      const before = await stack.services.store.events.countDocuments();
      const response = await stack.requestAs(alice.token, 'PUT', '/v1/records/orders/acc-2', { total: 2 });

      assertProblem(response, 403, 'subscriber write');
      assert.match(response.body.detail, /role subscriber/);
      assert.equal(await stack.services.store.events.countDocuments(), before);
    });

    test('provider cannot subscribe', async () => {
      const lookup = await stack.requestAs(provider.token, 'POST', '/v1/records/orders/acc-3/lookup', { callback: { url: receiver.url } });
      const create = await stack.requestAs(provider.token, 'POST', '/v1/subscriptions', { target: 'orders/*', url: receiver.url });
      const list = await stack.requestAs(provider.token, 'GET', '/v1/deliveries');

      assertProblem(lookup, 403, 'provider lookup');
      assertProblem(create, 403, 'provider subscribe');
      assertProblem(list, 403, 'provider deliveries');
    });

    test('provider and subscriber read records', async () => {
      assert.equal((await stack.requestAs(provider.token, 'GET', '/v1/records/orders/acc-1')).status, 200);
      assert.equal((await stack.requestAs(alice.token, 'GET', '/v1/records/orders/acc-1')).status, 200);
    });

    test('only admin keys manage keys', async () => {
      for (const key of [provider, alice]) {
        assertProblem(await stack.requestAs(key.token, 'GET', '/v1/api-keys'), 403, 'list keys');
        assertProblem(await stack.requestAs(key.token, 'POST', '/v1/api-keys', { name: 'x', role: 'admin' }), 403, 'create key');
        assertProblem(await stack.requestAs(key.token, 'POST', `/v1/api-keys/${key.id}/revoke`), 403, 'revoke key');
      }
    });

    test('metrics key reaches only metrics', async () => {
      const metricsKey = await stack.createApiKey('metrics');

      assertProblem(await stack.requestAs(metricsKey.token, 'GET', '/v1/records/orders/acc-1'), 403, 'metrics key reads a record');
      assertProblem(await stack.requestAs(metricsKey.token, 'GET', '/v1/subscriptions'), 403, 'metrics key lists subscriptions');
    });
  });

  describe('tenancy', () => {
    test('foreign subscription answers 404', async () => {
      const subscriptionsBefore = await stack.services.store.subscriptions.find().toArray();
      const missing = await stack.requestAs(bob.token, 'GET', '/v1/subscriptions/sub_01JMISSING');

      for (const [method, suffix] of [
        ['GET', ''],
        ['POST', '/pause'],
        ['POST', '/resume'],
        ['DELETE', ''],
      ] as const) {
        const response = await stack.requestAs(bob.token, method, `/v1/subscriptions/${aliceSubscriptionId}${suffix}`);
        assertProblem(response, 404, `${method} ${suffix}`);
        assert.equal(response.body.title, missing.body.title);
        assert.equal(response.body.detail, `subscription "${aliceSubscriptionId}" not found`);
      }
      assert.deepEqual(await stack.services.store.subscriptions.find().toArray(), subscriptionsBefore);
    });

    test('foreign delivery answers 404', async () => {
      const deliveriesBefore = await stack.services.store.deliveries.find().toArray();

      const read = await stack.requestAs(bob.token, 'GET', `/v1/deliveries/${aliceDeliveryId}`);
      const redeliver = await stack.requestAs(bob.token, 'POST', `/v1/deliveries/${aliceDeliveryId}/redeliver`);

      assertProblem(read, 404, 'read');
      assertProblem(redeliver, 404, 'redeliver');
      assert.equal(redeliver.body.detail, `delivery "${aliceDeliveryId}" not found`);
      assert.deepEqual(await stack.services.store.deliveries.find().toArray(), deliveriesBefore);
    });

    test('lists show only own items', async () => {
      const bobSubscriptions = await stack.requestAs(bob.token, 'GET', '/v1/subscriptions');
      const bobDeliveries = await stack.requestAs(bob.token, 'GET', '/v1/deliveries');
      const bobFiltered = await stack.requestAs(bob.token, 'GET', `/v1/deliveries?subscriptionId=${aliceSubscriptionId}`);
      const aliceSubscriptions = await stack.requestAs(alice.token, 'GET', '/v1/subscriptions');
      const aliceDeliveries = await stack.requestAs(alice.token, 'GET', '/v1/deliveries');

      assert.deepEqual(bobSubscriptions.body.data, []);
      assert.deepEqual(bobDeliveries.body.data, []);
      assert.deepEqual(bobFiltered.body.data, []);
      assert.deepEqual(
        aliceSubscriptions.body.data.map((subscription: { id: string }) => subscription.id),
        [aliceSubscriptionId],
      );
      assert.deepEqual(
        aliceDeliveries.body.data.map((delivery: { id: string }) => delivery.id),
        [aliceDeliveryId],
      );
    });

    test('owner reaches its own items', async () => {
      assert.equal((await stack.requestAs(alice.token, 'GET', `/v1/subscriptions/${aliceSubscriptionId}`)).status, 200);
      assert.equal((await stack.requestAs(alice.token, 'GET', `/v1/deliveries/${aliceDeliveryId}`)).status, 200);
      assert.equal((await stack.requestAs(alice.token, 'POST', `/v1/deliveries/${aliceDeliveryId}/redeliver`)).status, 202);
    });

    test('admin sees every account', async () => {
      const subscriptions = await stack.request('GET', '/v1/subscriptions');
      const delivery = await stack.request('GET', `/v1/deliveries/${aliceDeliveryId}`);

      assert.ok(subscriptions.body.data.some((subscription: { id: string }) => subscription.id === aliceSubscriptionId));
      assert.equal(delivery.status, 200);
    });

    test('same lookup from two accounts', async () => {
      const callback = { url: `${receiver.url}/shared` };
      const fromAlice = await stack.requestAs(alice.token, 'POST', '/v1/records/orders/acc-shared/lookup', { callback });
      const fromBob = await stack.requestAs(bob.token, 'POST', '/v1/records/orders/acc-shared/lookup', { callback });

      assert.equal(fromAlice.status, 202);
      assert.equal(fromBob.status, 202);
      assert.notEqual(fromBob.body.subscription.id, fromAlice.body.subscription.id);
      assert.ok(fromBob.body.secret, 'the second account gets its own secret');
    });

    test('keys of one account share subscriptions', async () => {
      const secondAliceKey = await stack.createApiKey('subscriber', { account: alice.accountId });

      const response = await stack.requestAs(secondAliceKey.token, 'GET', `/v1/subscriptions/${aliceSubscriptionId}`);

      assert.equal(response.status, 200);
    });

    test('idempotency keys are per account', async () => {
      const headers = { 'idempotency-key': 'shared-key-1' };
      const body = { target: 'orders/acc-idem', url: receiver.url };
      const fromAlice = await stack.requestAs(alice.token, 'POST', '/v1/subscriptions', body, headers);
      const fromBob = await stack.requestAs(bob.token, 'POST', '/v1/subscriptions', body, headers);

      assert.equal(fromAlice.status, 201);
      assert.equal(fromBob.status, 201);
      assert.equal(fromBob.headers.get('idempotent-replayed'), null);
      assert.notEqual(fromBob.body.id, fromAlice.body.id);
    });
  });

  describe('key management', () => {
    test('create returns the token once', async () => {
      const created = await stack.request('POST', '/v1/api-keys', { name: 'orders-service', role: 'provider' });
      const read = await stack.request('GET', `/v1/api-keys/${created.body.id}`);

      assert.equal(created.status, 201);
      assert.match(created.body.token, /^dbk_[A-Za-z0-9_-]{43}$/);
      assert.equal(created.body.prefix, created.body.token.slice(0, 12));
      assert.equal(created.body.account, created.body.id);
      assert.equal(created.headers.get('location'), `/v1/api-keys/${created.body.id}`);
      assert.equal(read.body.token, undefined);
      assert.equal((await stack.requestAs(created.body.token, 'PUT', '/v1/records/orders/acc-new', { total: 3 })).status, 201);
    });

    test('list shows no tokens or digests', async () => {
      const listed = await stack.request('GET', '/v1/api-keys?limit=100');
      const text = JSON.stringify(listed.body);

      assert.equal(listed.status, 200);
      assert.ok(listed.body.data.length >= 4);
      assert.ok(!text.includes(alice.token), 'a token is listed');
      assert.ok(!text.includes('tokenHash'), 'a digest is listed');
      const stored = await stack.services.store.apiKeys.findOne({ _id: alice.id });
      assert.ok(stored !== null);
      assert.ok(!text.includes(stored.tokenHash), 'a digest value is listed');
    });

    test('list filters by role', async () => {
      const listed = await stack.request('GET', '/v1/api-keys?role=provider&limit=100');

      assert.ok(listed.body.data.length >= 1);
      assert.ok(listed.body.data.every((key: { role: string }) => key.role === 'provider'));
    });

    test('store keeps only a digest', async () => {
      const created = await stack.request('POST', '/v1/api-keys', { name: 'digest-check', role: 'subscriber' });
      const stored = await stack.services.store.apiKeys.findOne({ _id: created.body.id });

      assert.ok(stored !== null);
      assert.ok(!JSON.stringify(stored).includes(created.body.token));
      assert.match(stored.tokenHash, /^[0-9a-f]{64}$/);
    });

    test('revoked key is 401', async () => {
      const key = await stack.createApiKey('subscriber');
      assert.equal((await stack.requestAs(key.token, 'GET', '/v1/subscriptions')).status, 200);

      const revoked = await stack.request('POST', `/v1/api-keys/${key.id}/revoke`);
      const after = await stack.requestAs(key.token, 'GET', '/v1/subscriptions');
      const again = await stack.request('POST', `/v1/api-keys/${key.id}/revoke`);

      assert.equal(revoked.status, 200);
      assert.ok(revoked.body.revokedAt !== null);
      assertProblem(after, 401, 'revoked key');
      assert.equal(again.status, 200);
      assert.equal(again.body.revokedAt, revoked.body.revokedAt);
    });

    test('unknown key id is 404', async () => {
      assertProblem(await stack.request('GET', '/v1/api-keys/key_01JMISSING'), 404, 'read');
      assertProblem(await stack.request('POST', '/v1/api-keys/key_01JMISSING/revoke'), 404, 'revoke');
    });

    test('create rejects bad fields', async () => {
      const badRole = await stack.request('POST', '/v1/api-keys', { name: 'x', role: 'root' });
      const badAccount = await stack.request('POST', '/v1/api-keys', { name: 'x', role: 'provider', account: '$where' });
      const missingName = await stack.request('POST', '/v1/api-keys', { role: 'provider' });

      assertProblem(badRole, 422, 'role');
      assert.equal(badRole.body.errors[0].field, 'body.role');
      assertProblem(badAccount, 422, 'account');
      assert.equal(badAccount.body.errors[0].field, 'body.account');
      assertProblem(missingName, 422, 'name');
    });
  });
});

describe('per-key rate limit', () => {
  let stack: Stack;

  before(async () => {
    stack = await Stack.start({ API_RATE_LIMIT_REQUESTS: '3', API_RATE_LIMIT_WINDOW_MS: '60000' });
  });

  after(async () => {
    await stack.stop();
  });

  test('fourth request is 429', async () => {
    const key = await stack.createApiKey('subscriber');
    const statuses: number[] = [];
    let limited: ApiResponse | undefined;
    for (let request = 0; request < 4; request++) {
      const response = await stack.requestAs(key.token, 'GET', '/v1/subscriptions');
      statuses.push(response.status);
      limited = response;
    }

    assert.deepEqual(statuses, [200, 200, 200, 429]);
    assertProblem(limited!, 429, 'limited');
    const retryAfter = Number(limited!.headers.get('retry-after'));
    assert.ok(Number.isInteger(retryAfter), `Retry-After ${limited!.headers.get('retry-after')}`);
    assert.ok(retryAfter >= 1, `Retry-After ${retryAfter}`);
    assert.ok(retryAfter <= 60, `Retry-After ${retryAfter}`);
    assert.match(limited!.headers.get('ratelimit-policy') ?? '', /q=3; w=60/);
    assert.match(limited!.headers.get('ratelimit') ?? '', /r=0/);
  });

  test('other keys keep their budget', async () => {
    const first = await stack.createApiKey('subscriber');
    const second = await stack.createApiKey('subscriber');
    for (let request = 0; request < 4; request++) {
      await stack.requestAs(first.token, 'GET', '/v1/subscriptions');
    }

    const response = await stack.requestAs(second.token, 'GET', '/v1/subscriptions');

    assert.equal(response.status, 200);
  });

  test('health is never limited', async () => {
    for (let request = 0; request < 5; request++) {
      assert.equal((await fetch(`${stack.apiUrl}/healthz`)).status, 200);
    }
  });
});
