import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import { deliveryIdFor } from '../../src/domain/ids.js';
import { deliveryWorkflowId } from '../../src/workflows/definitions.js';
import { Stack } from '../support/stack.js';
import { TestReceiver, eventually } from '../support/receiver.js';

type LogLine = Record<string, unknown> & { msg: string };

describe('log lines of one delivery', () => {
  const lines: LogLine[] = [];
  let stack: Stack;
  let receiver: TestReceiver;

  before(async () => {
    // The worker's log lines, the SDK's workflow and activity lines among them, as JSON in memory.
    const capture = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        for (const text of chunk.toString('utf8').split('\n').filter((line) => line !== '')) {
          lines.push(JSON.parse(text) as LogLine);
        }
        callback();
      },
    });
    stack = await Stack.start({ DELIVERY_RETRY_SCHEDULE: '1s' }, { logger: pino({ level: 'debug' }, capture) });
    receiver = await new TestReceiver().start();
    // The first attempt fails, so the delivery writes lines from both attempts and from its retry.
    receiver.respond = (_request, index) => ({ status: index === 0 ? 503 : 204 });
  });

  after(async () => {
    await receiver.stop();
    await stack.stop();
  });

  test('every line carries the delivery ids', async () => {
    const created = await stack.request('POST', '/v1/subscriptions', { target: 'products/p3', url: receiver.url });
    assert.equal(created.status, 201);
    const subscriptionId = created.body.id as string;
    const written = await stack.request('PUT', '/v1/records/products/p3', { name: 'Vase' });
    assert.equal(written.status, 201);
    const eventId = written.body.eventId as string;
    const workflowId = deliveryWorkflowId(eventId, subscriptionId);

    await receiver.waitForRequests(2);
    const ofDelivery = (): LogLine[] => lines.filter((line) => line.workflowId === workflowId);
    await eventually('the line of the delivered attempt', async () => ofDelivery().find((line) => line.msg === 'Webhook delivered'));

    const delivery = ofDelivery();
    const messages = delivery.map((line) => line.msg);
    assert.ok(messages.includes('Webhook attempt failed'), `lines: ${JSON.stringify(messages)}`);
    assert.ok(messages.includes('Delivery attempt failed, retrying later'), `lines: ${JSON.stringify(messages)}`);
    for (const line of delivery) {
      const label = `${line.msg} (${String(line.activityType ?? line.workflowType)})`;
      assert.equal(line.eventId, eventId, label);
      assert.equal(line.subscriptionId, subscriptionId, label);
      assert.equal(line.deliveryId, deliveryIdFor(eventId, subscriptionId), label);
    }

    // Each attempt's lines carry its number, and the SDK's activity retry count is kept apart.
    const attemptLines = delivery.filter((line) => line.activityType === 'attemptDelivery' || line.msg === 'Delivery attempt failed, retrying later');
    assert.equal(attemptLines.length, 3, `lines: ${JSON.stringify(messages)}`);
    for (const line of attemptLines) {
      assert.equal(line.attempt, line.msg === 'Webhook delivered' ? 2 : 1, line.msg);
    }
    for (const line of attemptLines.filter((candidate) => candidate.activityType === 'attemptDelivery')) {
      assert.equal(line.activityAttempt, 1, line.msg);
    }
  });
});
