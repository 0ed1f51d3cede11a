import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { SEARCH_ATTRIBUTES } from '../../src/workflows/definitions.js';
import { Stack } from '../support/stack.js';
import { TestReceiver, eventually, type ReceivedRequest } from '../support/receiver.js';

interface DeliveryView {
  id: string;
  status: string;
  record: { kind: string; id: string; version: number };
  supersededBy: { version: number; deliveryId: string } | null;
  workflowId: string;
}

function versionOf(request: ReceivedRequest): number {
  return (JSON.parse(request.body) as { data: { version: number } }).data.version;
}

function recordIdOf(request: ReceivedRequest): string {
  return (JSON.parse(request.body) as { data: { id: string } }).data.id;
}

describe('per-record ordering and latest mode', () => {
  let stack: Stack;

  before(async () => {
    // Retries every second, so a failing receiver is retried several times within a test.
    stack = await Stack.start({ DELIVERY_RETRY_SCHEDULE: '1s' });
  });

  after(async () => {
    await stack.stop();
  });

  async function subscribe(body: Record<string, unknown>): Promise<{ id: string; ordering: string; mode: string }> {
    const created = await stack.request('POST', '/v1/subscriptions', body);
    assert.equal(created.status, 201, JSON.stringify(created.body));
    return created.body;
  }

  async function write(path: string, body: unknown): Promise<void> {
    const written = await stack.request('PUT', path, body);
    assert.ok(written.status === 200 || written.status === 201, JSON.stringify(written.body));
  }

  async function deliveriesOf(subscriptionId: string): Promise<DeliveryView[]> {
    const listed = await stack.request('GET', `/v1/deliveries?subscriptionId=${subscriptionId}&limit=100`);
    assert.equal(listed.status, 200);
    return listed.body.data;
  }

  test('subscription returns its options', async () => {
    const receiver = await new TestReceiver().start();
    try {
      const defaults = await subscribe({ target: 'plain/*', url: receiver.url });
      assert.equal(defaults.ordering, 'none');
      assert.equal(defaults.mode, 'every-event');

      const chosen = await subscribe({ target: 'plain/*', url: receiver.url, ordering: 'per-record', mode: 'latest' });
      assert.equal(chosen.ordering, 'per-record');
      assert.equal(chosen.mode, 'latest');

      const read = await stack.request('GET', `/v1/subscriptions/${chosen.id}`);
      assert.equal(read.body.ordering, 'per-record');
      assert.equal(read.body.mode, 'latest');
    } finally {
      await receiver.stop();
    }
  });

  test('unknown ordering is a 422 naming the field', async () => {
    const rejected = await stack.request('POST', '/v1/subscriptions', { target: 'plain/*', url: 'http://127.0.0.1:9/hooks', ordering: 'global' });

    assert.equal(rejected.status, 422);
    assert.equal(rejected.body.errors[0].field, 'body.ordering');
    assert.match(rejected.body.errors[0].message, /none, per-record/);
  });

  test('per-record versions arrive in order', async (t) => {
    const receiver = await new TestReceiver().start();
    t.after(() => receiver.stop());

    // Version 1 of o1 fails until the test lets it through, after versions 2 and 3 and another
    // record were written.
    let isVersionOneAccepted = false;
    receiver.respond = (request) => {
      const isHeldBack = recordIdOf(request) === 'o1' && versionOf(request) === 1 && !isVersionOneAccepted;
      return isHeldBack ? { status: 503, body: 'unavailable' } : { status: 204 };
    };
    const subscription = await subscribe({ target: 'ordered/*', url: receiver.url, ordering: 'per-record' });

    await write('/v1/records/ordered/o1', { step: 1 });
    await receiver.waitForRequests(1);
    await write('/v1/records/ordered/o1', { step: 2 });
    await write('/v1/records/ordered/o1', { step: 3 });
    await write('/v1/records/ordered/o2', { step: 1 });

    // A different record is not held back by o1.
    await eventually('o2 to arrive', async () => (receiver.requests.some((request) => recordIdOf(request) === 'o2') ? true : undefined));
    assert.ok(
      receiver.requests.every((request) => recordIdOf(request) !== 'o1' || versionOf(request) === 1),
      'a newer version of o1 was sent while version 1 still failed',
    );

    isVersionOneAccepted = true;
    await eventually('version 3 of o1 to arrive', async () =>
      receiver.requests.some((request) => recordIdOf(request) === 'o1' && versionOf(request) === 3) ? true : undefined,
    );

    const o1Versions = receiver.requests.filter((request) => recordIdOf(request) === 'o1').map(versionOf);
    assert.deepEqual(o1Versions.filter((version) => version > 1), [2, 3], 'versions 2 and 3 were not sent once each, in order');
    assert.ok(o1Versions.indexOf(2) > o1Versions.lastIndexOf(1), `version 2 was sent before version 1 succeeded: ${o1Versions.join(',')}`);

    const deliveries = await eventually('every delivery to succeed', async () => {
      const listed = await deliveriesOf(subscription.id);
      return listed.length === 4 && listed.every((delivery) => delivery.status === 'succeeded') ? listed : undefined;
    });
    const o1Deliveries = deliveries.filter((delivery) => delivery.record.id === 'o1');
    assert.deepEqual(o1Deliveries.map((delivery) => delivery.record.version).sort(), [1, 2, 3]);
    for (const delivery of o1Deliveries) {
      assert.match(delivery.workflowId, /^delivery:/, 'a streamed delivery kept its workflow id');
    }
  });

  test('latest mode sends one webhook for ten writes', async (t) => {
    const receiver = await new TestReceiver().start();
    t.after(() => receiver.stop());

    let isUp = false;
    receiver.respond = () => (isUp ? { status: 200, body: 'ok' } : { status: 503, body: 'down' });
    const subscription = await subscribe({ target: 'latest/l1', url: receiver.url, mode: 'latest' });

    // Version 1's first attempt fails before the others are written, so its delivery has a
    // workflow of its own, waiting on a retry timer, when version 2 replaces it.
    await write('/v1/records/latest/l1', { step: 1 });
    await receiver.waitForRequests(1);
    for (let step = 2; step <= 10; step++) {
      await write('/v1/records/latest/l1', { step });
    }

    // The receiver stays down until Doorbell has taken every write in, as in an outage that
    // outlasts the burst of changes.
    await eventually('versions 1 to 9 to be superseded', async () => {
      const listed = await deliveriesOf(subscription.id);
      const superseded = listed.filter((delivery) => delivery.status === 'superseded');
      return listed.length === 10 && superseded.length === 9 ? listed : undefined;
    });
    const requestsWhileDown = receiver.requests.length;
    isUp = true;

    const deliveries = await eventually('version 10 to succeed', async () => {
      const listed = await deliveriesOf(subscription.id);
      return listed.some((delivery) => delivery.status === 'succeeded') ? listed : undefined;
    });

    const accepted = receiver.requests.slice(requestsWhileDown);
    assert.equal(accepted.length, 1, 'the receiver got more than one webhook after it came back');
    assert.equal(versionOf(accepted[0]!), 10);
    assert.deepEqual(JSON.parse(accepted[0]!.body).data.record, { step: 10 });

    const succeeded = deliveries.filter((delivery) => delivery.status === 'succeeded');
    assert.deepEqual(succeeded.map((delivery) => delivery.record.version), [10]);
    for (const delivery of deliveries.filter((item) => item.status === 'superseded')) {
      assert.ok(delivery.supersededBy !== null, `delivery of version ${delivery.record.version} has no supersededBy`);
      assert.ok(delivery.supersededBy.version > delivery.record.version, `version ${delivery.record.version} was superseded by an older one`);
      assert.ok(deliveries.some((other) => other.id === delivery.supersededBy!.deliveryId && other.record.version === delivery.supersededBy!.version));
    }

    // Version 1 had a workflow of its own, superseded while it waited; the Web UI shows that status.
    const first = deliveries.find((delivery) => delivery.record.version === 1)!;
    assert.match(first.workflowId, /^delivery:/);
    const description = await stack.services.temporal.client.workflow.getHandle(first.workflowId).describe();
    assert.equal(description.typedSearchAttributes.get(SEARCH_ATTRIBUTES.deliveryStatus), 'superseded');
  });
});
