import assert from 'node:assert/strict';
import { networkInterfaces } from 'node:os';
import { after, before, describe, test } from 'node:test';
import protos from '@temporalio/proto';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import { Webhook } from 'standardwebhooks';
import type { Config } from '../../src/config.js';
import { writeRecord } from '../../src/domain/record-writes.js';
import { SecretBox } from '../../src/domain/secrets.js';
import { createSubscription } from '../../src/domain/subscriptions.js';
import { createLogger, type Logger } from '../../src/logger.js';
import type { Services } from '../../src/services.js';
import { openStore, type Store } from '../../src/store/mongo.js';
import { ensureSearchAttributes } from '../../src/temporal/connect.js';
import { deliveryWorkflowId, dispatchWorkflowId, SEARCH_ATTRIBUTES, type DeliveryWorkflowResult } from '../../src/workflows/definitions.js';
import { createWorker, installTemporalRuntime } from '../../src/worker.js';
import { testConfig, testServers } from '../support/env.js';
import { TestReceiver } from '../support/receiver.js';
import { workflowBundle } from '../support/stack.js';

const { EventType } = protos.temporal.api.enums.v1;

const SECOND_MS = 1000;
const MINUTE_MS = 60 * SECOND_MS;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;

/**
 * Doorbell's retry schedule, written out here rather than imported, so a change to it in src fails
 * these tests. Attempt 2 waits 5 s after attempt 1, the next ones 5 min, 30 min, 2 h, 5 h and 10 h,
 * and every wait after the seventh attempt is 12 h.
 */
const EXPECTED_WAITS_MS = [5 * SECOND_MS, 5 * MINUTE_MS, 30 * MINUTE_MS, 2 * HOUR_MS, 5 * HOUR_MS, 10 * HOUR_MS];
const EXPECTED_STEADY_WAIT_MS = 12 * HOUR_MS;

/**
 * Workflow time that may pass between attempts on top of the scheduled wait. The test server's
 * clock runs in real time while an attempt's activity and the next workflow task are in flight,
 * so each gap is the wait plus that processing time.
 */
const GAP_SLACK_MS = MINUTE_MS;

/** Upper bound of real time for one test. The outage itself passes in skipped workflow time. */
const TEST_TIMEOUT_MS = 120_000;

/**
 * Returns why this file must not start the time-skipping test server here, or undefined when it may.
 * That server (Temporal's Java test server) binds its gRPC port on every interface and has no
 * option to bind one address, so the tests run only where every interface is loopback, such as a
 * private network namespace, unless DOORBELL_TEST_ALLOW_ANY_INTERFACE=1 accepts the exposure.
 */
function reasonToSkip(): string | undefined {
  const exposedAddresses = Object.entries(networkInterfaces()).flatMap(([name, addresses]) =>
    (addresses ?? []).filter((address) => !address.internal).map((address) => `${name} ${address.address}`),
  );
  if (exposedAddresses.length === 0 || process.env.DOORBELL_TEST_ALLOW_ANY_INTERFACE === '1') {
    return undefined;
  }
  return (
    `the time-skipping test server listens on every interface, and this host has non-loopback addresses (${exposedAddresses.join(', ')}). ` +
    `Run in a loopback-only network namespace: unshare -rn sh -c 'ip link set lo up && npm test -- test/integration/long-outage.test.ts', ` +
    'or set DOORBELL_TEST_ALLOW_ANY_INTERFACE=1 to run anyway'
  );
}

function expectedWaitAfter(failedAttempt: number): number {
  return EXPECTED_WAITS_MS[failedAttempt - 1] ?? EXPECTED_STEADY_WAIT_MS;
}

function timestampToMs(timestamp: { seconds?: { toString(): string } | null; nanos?: number | null } | null | undefined): number {
  assert.ok(timestamp, 'history event has no eventTime');
  return Number(timestamp.seconds?.toString() ?? '0') * 1000 + Math.floor((timestamp.nanos ?? 0) / 1_000_000);
}

describe('long receiver outage, time-skipping server', { skip: reasonToSkip() }, () => {
  let config: Config;
  let logger: Logger;
  let testEnv: TestWorkflowEnvironment | undefined;
  let store: Store | undefined;
  let services: Services;
  let worker: Worker | undefined;
  let workerRun: Promise<void> | undefined;

  before(async () => {
    config = testConfig();
    logger = createLogger({ level: config.log.level, pretty: false, name: 'doorbell-long-outage-test' });
    // The SDK runtime is global and must be installed before the test environment creates it.
    installTemporalRuntime(logger);

    testEnv = await TestWorkflowEnvironment.createTimeSkipping({
      server: { executable: { type: 'existing-path', path: testServers().temporalTestServerPath } },
    });
    await ensureSearchAttributes(testEnv.client, config.temporal.namespace, logger);
    store = await openStore({ uri: config.mongo.uri, database: config.mongo.database, appName: 'doorbell-long-outage-test' });
    const openedStore = store;
    services = {
      store: openedStore,
      // Activities start delivery workflows through this client, so they land on the test server.
      temporal: { client: testEnv.client, taskQueue: config.temporal.taskQueue },
      secretBox: new SecretBox(config.encryptionKey),
      close: () => openedStore.client.close(),
    };

    const doorbellWorker = await createWorker({ config, services, connection: testEnv.nativeConnection, logger, workflowBundle: await workflowBundle() });
    worker = doorbellWorker.worker;
    workerRun = doorbellWorker.run();
  });

  after(async () => {
    worker?.shutdown();
    await workerRun;
    await store?.db.dropDatabase();
    await store?.client.close();
    await testEnv?.teardown();
  });

  /**
   * Subscribes the receiver to one record, writes the record, and waits for the dispatch, which
   * starts the delivery workflow. `respond` scripts the receiver's response by the 0-based index of the request.
   */
  async function dispatchToNewSubscription(options: {
    recordId: string;
    retryWindowDays: number | null;
    receiver: TestReceiver;
    respond: (index: number) => { status: number; headers?: Record<string, string> };
  }): Promise<{ workflowId: string; deliveryId: string; secret: string; responseStatuses: number[] }> {
    const responseStatuses: number[] = [];
    options.receiver.respond = (_request, index) => {
      const response = options.respond(index);
      responseStatuses.push(response.status);
      return { ...response, body: response.status < 300 ? 'ok' : 'unavailable' };
    };

    const { subscription, secret } = await createSubscription(services, {
      accountId: 'long-outage-test',
      target: `products/${options.recordId}`,
      kind: 'products',
      recordId: options.recordId,
      url: options.receiver.url,
      method: 'POST',
      secret: undefined,
      retryWindowDays: options.retryWindowDays,
    });
    assert.ok(secret !== null, 'createSubscription returned no secret for a new subscription');

    const written = await writeRecord({ ...services, logger }, { kind: 'products', recordId: options.recordId, dataJson: JSON.stringify({ name: 'Kettle', price: 25 }) });
    assert.equal(written.dispatched, true, 'the dispatch workflow did not start');

    // The delivery workflow exists once the dispatch workflow has finished.
    const dispatch = await testEnv!.client.workflow.getHandle(dispatchWorkflowId(written.eventId)).result();
    assert.deepEqual(dispatch, { deliveriesStarted: 1 });

    const workflowId = deliveryWorkflowId(written.eventId, subscription._id);
    const delivery = await store!.deliveries.findOne({ workflowId });
    assert.ok(delivery, `no delivery document for workflow ${workflowId}`);
    return { workflowId, deliveryId: delivery._id, secret, responseStatuses };
  }

  /** Awaits the delivery workflow, which lets the test server skip through its timers. */
  function awaitDeliveryResult(workflowId: string): Promise<DeliveryWorkflowResult> {
    return testEnv!.client.workflow.getHandle(workflowId).result() as Promise<DeliveryWorkflowResult>;
  }

  /**
   * Reads from the workflow history when the run started and when each attempt was scheduled, in
   * workflow time. The attempts' startedAt in MongoDB is no use here, because the activity sets it
   * from the worker's real clock, which the test server does not skip.
   */
  async function readAttemptTimes(workflowId: string): Promise<{ runStartedAtMs: number; attemptsAtMs: number[] }> {
    const history = await testEnv!.client.workflow.getHandle(workflowId).fetchHistory();
    let runStartedAtMs: number | undefined;
    const attemptsAtMs: number[] = [];
    for (const event of history.events ?? []) {
      if (event.eventType === EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED) {
        runStartedAtMs = timestampToMs(event.eventTime);
      }
      if (event.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED && event.activityTaskScheduledEventAttributes?.activityType?.name === 'attemptDelivery') {
        attemptsAtMs.push(timestampToMs(event.eventTime));
      }
    }
    assert.ok(runStartedAtMs !== undefined, `history of ${workflowId} has no WorkflowExecutionStarted event`);
    return { runStartedAtMs, attemptsAtMs };
  }

  /** Asserts that each attempt followed the previous one after the scheduled wait, or `minimumWaitMs(attempt)` when given. */
  function assertGapsFollowSchedule(attemptsAtMs: number[], minimumWaitMs: (failedAttempt: number) => number = expectedWaitAfter): void {
    for (let failedAttempt = 1; failedAttempt < attemptsAtMs.length; failedAttempt++) {
      const gapMs = attemptsAtMs[failedAttempt]! - attemptsAtMs[failedAttempt - 1]!;
      const waitMs = minimumWaitMs(failedAttempt);
      assert.ok(gapMs >= waitMs, `attempt ${failedAttempt + 1} came ${gapMs} ms after attempt ${failedAttempt}, expected at least ${waitMs} ms`);
      assert.ok(gapMs < waitMs + GAP_SLACK_MS, `attempt ${failedAttempt + 1} came ${gapMs} ms after attempt ${failedAttempt}, expected less than ${waitMs + GAP_SLACK_MS} ms`);
    }
  }

  test('10-day outage ends in delivery', { timeout: TEST_TIMEOUT_MS }, async (t) => {
    const receiver = await new TestReceiver().start();
    t.after(() => receiver.stop());

    // Attempt n comes at the sum of the first n-1 waits: attempt 7 at 17h35m05s, then one every
    // 12 h, so attempt 25 is at 9d17h35m05s and attempt 26 at 10d05h35m05s. The receiver is down
    // for the first 25 attempts. It counts requests instead of reading testEnv.currentTimeMs(),
    // because its responder is synchronous and a count does not depend on how far the server has
    // skipped when a request lands. The history check below ties the count to the 10-day mark.
    const failingAttempts = 25;
    const { workflowId, deliveryId, secret, responseStatuses } = await dispatchToNewSubscription({
      recordId: 'outage-10-days',
      retryWindowDays: config.delivery.defaultRetryWindowDays,
      receiver,
      respond: (index) => (index < failingAttempts ? { status: 503 } : { status: 204 }),
    });

    const result = await awaitDeliveryResult(workflowId);
    assert.deepEqual(result, { status: 'succeeded', attempts: failingAttempts + 1, reason: null });

    assert.equal(receiver.requests.length, failingAttempts + 1);
    assert.deepEqual(responseStatuses.slice(0, failingAttempts), Array(failingAttempts).fill(503));
    assert.equal(responseStatuses.filter((status) => status >= 200 && status < 300).length, 1, 'expected exactly one 2xx response');
    assert.equal(responseStatuses.at(-1), 204);
    for (const [index, request] of receiver.requests.entries()) {
      assert.equal(request.headers['webhook-id'], deliveryId, `request ${index} carried another webhook-id`);
    }

    const last = receiver.requests.at(-1)!;
    const payload = new Webhook(secret).verify(last.body, last.headers as Record<string, string>) as { type: string; data: { record: unknown } };
    assert.equal(payload.type, 'record.created');
    assert.deepEqual(payload.data.record, { name: 'Kettle', price: 25 });

    const delivery = await store!.deliveries.findOne({ _id: deliveryId });
    assert.equal(delivery?.status, 'succeeded');
    assert.equal(delivery?.attemptCount, failingAttempts + 1);
    assert.equal(delivery?.nextAttemptAt, null);

    const { runStartedAtMs, attemptsAtMs } = await readAttemptTimes(workflowId);
    assert.equal(attemptsAtMs.length, failingAttempts + 1);
    assertGapsFollowSchedule(attemptsAtMs);
    const outageEndMs = runStartedAtMs + 10 * DAY_MS;
    assert.ok(attemptsAtMs[failingAttempts - 1]! < outageEndMs, 'the last failed attempt came after the 10-day outage');
    assert.ok(attemptsAtMs[failingAttempts]! >= outageEndMs, 'the successful attempt came before the 10-day outage ended');

    const description = await testEnv!.client.workflow.getHandle(workflowId).describe();
    assert.equal(description.typedSearchAttributes.get(SEARCH_ATTRIBUTES.deliveryStatus), 'succeeded');
  });

  test('outage past retry window fails', { timeout: TEST_TIMEOUT_MS }, async (t) => {
    const receiver = await new TestReceiver().start();
    t.after(() => receiver.stop());

    // With a 1-day window the attempts come at 0, 5 s, 5m05s, 35m05s, 2h35m05s, 7h35m05s and
    // 17h35m05s. The 8th would come 12 h after the 7th, at 29h35m05s, past the 24 h deadline,
    // so the delivery gives up after 7 attempts.
    const expectedAttempts = 7;
    const { workflowId, deliveryId, responseStatuses } = await dispatchToNewSubscription({
      recordId: 'outage-past-window',
      retryWindowDays: 1,
      receiver,
      respond: () => ({ status: 503 }),
    });

    const result = await awaitDeliveryResult(workflowId);
    assert.equal(result.status, 'failed');
    assert.equal(result.attempts, expectedAttempts);
    assert.match(result.reason ?? '', /retry window/);

    const delivery = await store!.deliveries.findOne({ _id: deliveryId });
    assert.equal(delivery?.status, 'failed');
    assert.match(delivery?.statusReason ?? '', /retry window/);
    assert.equal(delivery?.attemptCount, expectedAttempts);
    assert.equal(delivery?.nextAttemptAt, null);
    assert.equal(receiver.requests.length, expectedAttempts);
    assert.deepEqual(responseStatuses, Array(expectedAttempts).fill(503));

    const { runStartedAtMs, attemptsAtMs } = await readAttemptTimes(workflowId);
    assert.equal(attemptsAtMs.length, expectedAttempts);
    assertGapsFollowSchedule(attemptsAtMs);
    assert.ok(attemptsAtMs.at(-1)! + expectedWaitAfter(expectedAttempts) > runStartedAtMs + DAY_MS, 'the next scheduled attempt would still fit in the window');

    const description = await testEnv!.client.workflow.getHandle(workflowId).describe();
    assert.equal(description.typedSearchAttributes.get(SEARCH_ATTRIBUTES.deliveryStatus), 'failed');

    // Skip two more days of workflow time: a stray timer or retry would reach the receiver now.
    await testEnv!.sleep(2 * DAY_MS);
    assert.equal(receiver.requests.length, expectedAttempts, 'an attempt happened after the delivery failed');
  });

  test('429 Retry-After delays next attempt', { timeout: TEST_TIMEOUT_MS }, async (t) => {
    const receiver = await new TestReceiver().start();
    t.after(() => receiver.stop());

    // The schedule waits 5 s after the first attempt. The receiver requests 7200 s, which is longer
    // and under the 24 h cap, so the wait becomes 2 h.
    const retryAfterMs = 7200 * SECOND_MS;
    const { workflowId, deliveryId } = await dispatchToNewSubscription({
      recordId: 'retry-after',
      retryWindowDays: config.delivery.defaultRetryWindowDays,
      receiver,
      respond: (index) => (index === 0 ? { status: 429, headers: { 'retry-after': '7200' } } : { status: 200 }),
    });

    const result = await awaitDeliveryResult(workflowId);
    assert.deepEqual(result, { status: 'succeeded', attempts: 2, reason: null });
    assert.equal(receiver.requests.length, 2);

    const { attemptsAtMs } = await readAttemptTimes(workflowId);
    assert.equal(attemptsAtMs.length, 2);
    assertGapsFollowSchedule(attemptsAtMs, () => retryAfterMs);

    const delivery = await store!.deliveries.findOne({ _id: deliveryId });
    assert.deepEqual(
      delivery?.attempts.map((attempt) => attempt.statusCode),
      [429, 200],
    );
  });
});
