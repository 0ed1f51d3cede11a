import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { SpanKind } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { deliveryIdFor } from '../../src/domain/ids.js';
import { startTracing, type Tracing } from '../../src/tracing.js';
import { deliveryWorkflowId, dispatchWorkflowId } from '../../src/workflows/definitions.js';
import { Stack } from '../support/stack.js';
import { TestReceiver, eventually } from '../support/receiver.js';

describe('traces from the API request to the delivery attempt', () => {
  const exporter = new InMemorySpanExporter();
  let tracing: Tracing;
  let stack: Stack;
  let receiver: TestReceiver;

  before(async () => {
    // An in-memory exporter replaces the OTLP one. Everything else is what production starts.
    tracing = startTracing({ exporter: null, serviceName: undefined }, 'doorbell-test', { spanProcessor: new SimpleSpanProcessor(exporter) })!;
    stack = await Stack.start({}, { tracing });
    receiver = await new TestReceiver().start();
    receiver.respond = () => ({ status: 204 });
  });

  after(async () => {
    await receiver.stop();
    await stack.stop();
    await tracing.shutdown();
  });

  function spansNamed(name: string): ReadableSpan[] {
    return exporter.getFinishedSpans().filter((span) => span.name === name);
  }

  /** Spans made in the workflow sandbox carry the workflow's info as attributes. The others carry `temporalWorkflowId`. */
  function workflowIdOf(span: ReadableSpan): unknown {
    return span.attributes.temporalWorkflowId ?? span.attributes.workflowId;
  }

  function onlySpan(name: string, workflowId?: string): ReadableSpan {
    const spans = spansNamed(name).filter((span) => workflowId === undefined || workflowIdOf(span) === workflowId);
    assert.equal(spans.length, 1, `expected one ${name} span${workflowId === undefined ? '' : ` of ${workflowId}`}, found ${spans.length}`);
    return spans[0]!;
  }

  test('one trace links the write, the workflows and the attempt', async () => {
    const created = await stack.request('POST', '/v1/subscriptions', { target: 'products/p7', url: receiver.url });
    assert.equal(created.status, 201);
    const subscription = created.body as { id: string; secret: string };
    exporter.reset();

    const written = await stack.request('PUT', '/v1/records/products/p7', { name: 'Lamp', marker: 'record-body-marker' });
    assert.equal(written.status, 201);
    const eventId = written.body.eventId as string;
    const deliveryId = deliveryIdFor(eventId, subscription.id);
    await receiver.waitForRequests(1);
    // The attempt's span ends when the activity returns, a moment after the receiver responded.
    const attemptSpan = await eventually('the attemptDelivery span', async () => spansNamed('RunActivity:attemptDelivery')[0]);

    const apiSpan = onlySpan('PUT /v1/records/:kind/:id');
    const traceId = apiSpan.spanContext().traceId;
    assert.equal(apiSpan.kind, SpanKind.SERVER);
    assert.equal(apiSpan.attributes['http.route'], '/v1/records/:kind/:id');
    assert.equal(apiSpan.attributes['http.response.status_code'], 201);
    assert.equal(apiSpan.attributes['doorbell.event_id'], eventId);

    const startDispatch = onlySpan('StartWorkflow:dispatchWorkflow');
    assert.equal(startDispatch.parentSpanId, apiSpan.spanContext().spanId);
    assert.equal(startDispatch.attributes.temporalWorkflowId, dispatchWorkflowId(eventId));

    const deliveryWorkflow = deliveryWorkflowId(eventId, subscription.id);
    const linked = [
      startDispatch,
      onlySpan('RunWorkflow:dispatchWorkflow', dispatchWorkflowId(eventId)),
      onlySpan('RunActivity:startDeliveries', dispatchWorkflowId(eventId)),
      onlySpan('StartWorkflow:deliveryWorkflow', deliveryWorkflow),
      onlySpan('RunWorkflow:deliveryWorkflow', deliveryWorkflow),
      onlySpan('StartActivity:attemptDelivery', deliveryWorkflow),
      attemptSpan,
    ];
    for (const span of linked) {
      assert.equal(span.spanContext().traceId, traceId, `${span.name} belongs to another trace`);
    }

    assert.equal(attemptSpan.attributes['doorbell.event_id'], eventId);
    assert.equal(attemptSpan.attributes['doorbell.subscription_id'], subscription.id);
    assert.equal(attemptSpan.attributes['doorbell.delivery_id'], deliveryId);
    assert.equal(attemptSpan.attributes['doorbell.attempt'], 1);
    assert.equal(attemptSpan.attributes['http.response.status_code'], 204);
    assert.equal(attemptSpan.attributes['doorbell.attempt.outcome'], 'delivered');
  });

  test('spans carry no secret and no body', async () => {
    const created = await stack.request('POST', '/v1/subscriptions', { target: 'products/p8', url: receiver.url });
    assert.equal(created.status, 201);
    const secret = (created.body as { secret: string }).secret;
    const written = await stack.request('PUT', '/v1/records/products/p8', { marker: 'second-body-marker' });
    assert.equal(written.status, 201);
    await eventually('the attempt span of products/p8', async () =>
      spansNamed('RunActivity:attemptDelivery').find((span) => span.attributes['doorbell.event_id'] === written.body.eventId),
    );

    const exported = JSON.stringify(exporter.getFinishedSpans().map((span) => ({ name: span.name, attributes: span.attributes, events: span.events })));
    assert.ok(!exported.includes(secret.slice('whsec_'.length)), 'a span contains the signing secret');
    assert.ok(!exported.includes('second-body-marker'), 'a span contains the record body');
    assert.ok(!exported.includes('record-body-marker'), 'a span contains the record body of the first test');
  });

  test('request span continues an incoming traceparent', async () => {
    const parentTraceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const response = await stack.request('GET', '/v1/records/products/p7', undefined, { traceparent: `00-${parentTraceId}-00f067aa0ba902b7-01` });
    assert.equal(response.status, 200);

    const span = await eventually('the GET span', async () => spansNamed('GET /v1/records/:kind/:id')[0]);
    assert.equal(span.spanContext().traceId, parentTraceId);
    assert.equal(span.parentSpanId, '00f067aa0ba902b7');
  });
});
