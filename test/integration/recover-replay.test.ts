import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { cliEnvironment, runCli } from '../support/cli.js';
import { Stack } from '../support/stack.js';
import { TestReceiver, eventually } from '../support/receiver.js';

const HOUR_MS = 60 * 60 * 1000;

describe('recover and replay', () => {
  let stack: Stack;

  before(async () => {
    stack = await Stack.start({ DELIVERY_RETRY_SCHEDULE: '300ms' });
  });

  after(async () => {
    await stack.stop();
  });

  async function withReceiver<T>(run: (receiver: TestReceiver) => Promise<T>): Promise<T> {
    const receiver = await new TestReceiver().start();
    try {
      return await run(receiver);
    } finally {
      await receiver.stop();
    }
  }

  /** Creates a subscription whose deliveries fail for good after one attempt, writes `count` records, and waits until every delivery failed. */
  async function failedDeliveries(receiver: TestReceiver, kind: string, count: number) {
    receiver.respond = () => ({ status: 503 });
    // 0.000001 days is under 0.1 s, so the first failed attempt ends each delivery.
    const created = await stack.request('POST', '/v1/subscriptions', { target: `${kind}/*`, url: receiver.url, retryWindowDays: 0.000001 });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    for (let index = 0; index < count; index++) {
      await stack.request('PUT', `/v1/records/${kind}/r${index}`, { index });
    }
    const failed = await eventually(`${count} failed deliveries`, async () => {
      const listed = await stack.request('GET', `/v1/deliveries?subscriptionId=${created.body.id}&status=failed`);
      return listed.body.data.length === count ? listed.body.data : undefined;
    });
    return { subscription: created.body as { id: string; secret: string }, failedIds: failed.map((delivery: { id: string }) => delivery.id).sort() as string[] };
  }

  async function completed(operationId: string) {
    return eventually(`operation ${operationId} to end`, async () => {
      const read = await stack.request('GET', `/v1/operations/${operationId}`);
      return read.body.status === 'running' ? undefined : read.body;
    });
  }

  test('recover redelivers failed deliveries once', () =>
    withReceiver(async (receiver) => {
      const { subscription, failedIds } = await failedDeliveries(receiver, 'rec', 3);
      receiver.respond = () => ({ status: 204 });
      const before = receiver.requests.length;
      const since = new Date(Date.now() - HOUR_MS).toISOString();

      const [first, second] = await Promise.all([
        stack.request('POST', `/v1/subscriptions/${subscription.id}/recover`, { since }),
        stack.request('POST', `/v1/subscriptions/${subscription.id}/recover`, { since }),
      ]);
      assert.equal(first.status, 202, JSON.stringify(first.body));
      assert.equal(second.status, 202, JSON.stringify(second.body));
      assert.equal(first.headers.get('location'), `/v1/operations/${first.body.id}`);

      const results = [await completed(first.body.id), await completed(second.body.id)];
      assert.deepEqual(
        results.map((result) => result.status),
        ['completed', 'completed'],
      );
      assert.equal(results[0].started + results[1].started, 3);

      const resent = (await receiver.waitForRequests(before + 3)).slice(before);
      assert.deepEqual(resent.map((request) => request.headers['webhook-id']).sort(), failedIds);
      for (const request of resent) {
        new Webhook(subscription.secret).verify(request.body, request.headers as Record<string, string>);
      }

      // A third call after they succeeded finds nothing to recover.
      await eventually('the recovered deliveries to succeed', async () => {
        const listed = await stack.request('GET', `/v1/deliveries?subscriptionId=${subscription.id}&status=succeeded`);
        return listed.body.data.length === 3 ? true : undefined;
      });
      const third = await stack.request('POST', `/v1/subscriptions/${subscription.id}/recover`, { since });
      assert.equal(third.body.total, 0);
      assert.equal((await completed(third.body.id)).started, 0);
      assert.equal(receiver.requests.length, before + 3);
    }));

  test('recover honors Idempotency-Key', () =>
    withReceiver(async (receiver) => {
      const { subscription } = await failedDeliveries(receiver, 'idem', 1);
      const since = new Date(Date.now() - HOUR_MS).toISOString();
      const headers = { 'idempotency-key': `recover-${subscription.id}` };

      const first = await stack.request('POST', `/v1/subscriptions/${subscription.id}/recover`, { since }, headers);
      const repeat = await stack.request('POST', `/v1/subscriptions/${subscription.id}/recover`, { since }, headers);
      assert.equal(repeat.status, 202);
      assert.equal(repeat.body.id, first.body.id);
      assert.equal(repeat.headers.get('idempotent-replayed'), 'true');
    }));

  test('recover beyond 14 days is 422', async () => {
    const created = await stack.request('POST', '/v1/subscriptions', { target: 'old/*', url: 'http://127.0.0.1:9/hooks' });
    const since = new Date(Date.now() - 15 * 24 * HOUR_MS).toISOString();

    const response = await stack.request('POST', `/v1/subscriptions/${created.body.id}/recover`, { since });
    assert.equal(response.status, 422);
    assert.equal(response.body.errors[0].field, 'body.since');
  });

  test('replay of a record sends new webhook-ids', () =>
    withReceiver(async (receiver) => {
      const created = await stack.request('POST', '/v1/subscriptions', { target: 'rep/*', url: receiver.url });
      await stack.request('PUT', '/v1/records/rep/p1', { v: 1 });
      await stack.request('PUT', '/v1/records/rep/p1', { v: 2 });
      await stack.request('PUT', '/v1/records/rep/p2', { v: 1 });
      const originals = await receiver.waitForRequests(3);

      const replay = await stack.request('POST', `/v1/subscriptions/${created.body.id}/replay`, { record: 'rep/p1' });
      assert.equal(replay.status, 202, JSON.stringify(replay.body));
      assert.equal(replay.body.total, 2);
      const result = await completed(replay.body.id);
      assert.equal(result.started, 2);

      const replayed = (await receiver.waitForRequests(5)).slice(3);
      const payloads = replayed.map((request) => new Webhook(created.body.secret).verify(request.body, request.headers as Record<string, string>) as any);
      assert.deepEqual(payloads.map((payload) => `${payload.data.id} v${payload.data.version}`).sort(), ['p1 v1', 'p1 v2']);
      const originalIds = new Set(originals.map((request) => request.headers['webhook-id']));
      for (const request of replayed) {
        assert.equal(originalIds.has(request.headers['webhook-id']), false, 'a replay must not reuse the webhook-id');
      }

      const listed = await stack.request('GET', `/v1/deliveries?subscriptionId=${created.body.id}`);
      const fromReplay = listed.body.data.filter((delivery: { replayOperationId: string | null }) => delivery.replayOperationId === replay.body.id);
      assert.equal(fromReplay.length, 2);
    }));

  test('replay of a kind since a time', () =>
    withReceiver(async (receiver) => {
      const created = await stack.request('POST', '/v1/subscriptions', { target: 'kin/*', url: receiver.url, eventTypes: ['record.created'] });
      await stack.request('PUT', '/v1/records/kin/a', { v: 1 });
      await stack.request('PUT', '/v1/records/kin/a', { v: 2 });
      await receiver.waitForRequests(1);
      const cut = new Date();
      await stack.request('PUT', '/v1/records/kin/b', { v: 1 });
      await receiver.waitForRequests(2);

      const replay = await stack.request('POST', `/v1/subscriptions/${created.body.id}/replay`, { kind: 'kin', since: cut.toISOString() });
      assert.equal(replay.status, 202, JSON.stringify(replay.body));
      const result = await completed(replay.body.id);
      assert.equal(result.processed, 1);
      assert.equal(result.started, 1);
      const [request] = (await receiver.waitForRequests(3)).slice(2);
      assert.equal(JSON.parse(request!.body).data.id, 'b');
    }));

  test('replay outside the target is 422', async () => {
    const created = await stack.request('POST', '/v1/subscriptions', { target: 'out/one', url: 'http://127.0.0.1:9/hooks' });
    const response = await stack.request('POST', `/v1/subscriptions/${created.body.id}/replay`, { record: 'out/two' });
    assert.equal(response.status, 422);
    assert.equal(response.body.errors[0].field, 'body.record');
  });

  test('CLI recover and replay', () =>
    withReceiver(async (receiver) => {
      const env = cliEnvironment({ DOORBELL_API_URL: stack.apiUrl, DOORBELL_API_KEY: stack.adminKey.token, DOORBELL_CONFIG: '/nonexistent/doorbell-config.json' });
      const { subscription, failedIds } = await failedDeliveries(receiver, 'cli', 2);
      receiver.respond = () => ({ status: 204 });
      const before = receiver.requests.length;

      const recovered = await runCli(['--json', 'recover', subscription.id, '--since', '1h', '--interval', '100'], { env });
      assert.equal(recovered.code, 0, recovered.stderr);
      const operation = JSON.parse(recovered.stdout);
      assert.equal(operation.status, 'completed');
      assert.equal(operation.started, 2);
      const resent = (await receiver.waitForRequests(before + 2)).slice(before);
      assert.deepEqual(resent.map((request) => request.headers['webhook-id']).sort(), failedIds);

      const replayed = await runCli(['replay', subscription.id, '--record', 'cli/r0', '--interval', '100'], { env });
      assert.equal(replayed.code, 0, replayed.stderr);
      assert.match(replayed.stdout, /^replay op_\w+ completed: 1 of 1 events looked at, 1 deliveries started/);

      const badSince = await runCli(['recover', subscription.id, '--since', 'yesterday'], { env });
      assert.equal(badSince.code, 2);
      const tooOld = await runCli(['recover', subscription.id, '--since', '15d'], { env });
      assert.equal(tooOld.code, 1);
      assert.match(tooOld.stderr, /body\.since: must be at most 14 days ago/);
      const noSelection = await runCli(['replay', subscription.id], { env });
      assert.equal(noSelection.code, 2);
    }));
});
