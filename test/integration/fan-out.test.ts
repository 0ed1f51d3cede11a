import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { dispatchWorkflowId } from '../../src/workflows/definitions.js';
import { Stack } from '../support/stack.js';
import { TestReceiver, eventually } from '../support/receiver.js';

/** With pages of 2 and 50 pages per run, 105 subscribers need 53 pages, so the dispatch continues as new once. */
const PAGE_SIZE = 2;
const SUBSCRIBERS = 105;

describe('fan-out in pages', () => {
  let stack: Stack;
  let receiver: TestReceiver;

  before(async () => {
    stack = await Stack.start({ DISPATCH_PAGE_SIZE: String(PAGE_SIZE) });
    receiver = await new TestReceiver().start();
  });

  after(async () => {
    await stack.stop();
    await receiver.stop();
  });

  test('every subscriber gets one delivery', async () => {
    const subscriptionIds = new Set<string>();
    for (let index = 0; index < SUBSCRIBERS; index++) {
      const created = await stack.request('POST', '/v1/subscriptions', { target: 'parts/*', url: `${receiver.url}?subscriber=${index}` });
      subscriptionIds.add(created.body.id);
    }

    const written = await stack.request('PUT', '/v1/records/parts/bolt', { size: 'M6' });
    const received = await receiver.waitForRequests(SUBSCRIBERS, 60_000);

    const subscribersReached = new Set(received.map((request) => new URL(request.url, 'http://x').searchParams.get('subscriber')));
    assert.equal(subscribersReached.size, SUBSCRIBERS);
    assert.equal(new Set(received.map((request) => request.headers['webhook-id'])).size, SUBSCRIBERS);
    for (const request of received) {
      assert.equal(JSON.parse(request.body).data.eventId, written.body.eventId);
    }

    const deliveries = await stack.services.store.deliveries.find({ eventId: written.body.eventId }).toArray();
    assert.equal(deliveries.length, SUBSCRIBERS);
    assert.deepEqual(new Set(deliveries.map((delivery) => delivery.subscriptionId)), subscriptionIds);

    const result = await stack.services.temporal.client.workflow.getHandle(dispatchWorkflowId(written.body.eventId)).result();
    assert.equal(result.deliveriesStarted, SUBSCRIBERS);
  });

  test('dispatch continues as new between pages', async () => {
    const written = await stack.request('PUT', '/v1/records/parts/nut', { size: 'M6' });
    const workflowId = dispatchWorkflowId(written.body.eventId);
    await stack.services.temporal.client.workflow.getHandle(workflowId).result();

    // Visibility is updated asynchronously, so poll until both runs show their final status.
    const statuses = await eventually('both dispatch runs to be listed as closed', async () => {
      const listed: string[] = [];
      for await (const execution of stack.services.temporal.client.workflow.list({ query: `WorkflowId = "${workflowId}"` })) {
        listed.push(execution.status.name);
      }
      return listed.includes('RUNNING') ? undefined : listed.sort();
    });
    assert.deepEqual(statuses, ['COMPLETED', 'CONTINUED_AS_NEW']);
  });
});
