import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { MongoClient } from 'mongodb';
import { newEventId } from '../../src/domain/ids.js';
import { testServers } from '../support/env.js';
import { Stack, type TestApiKey } from '../support/stack.js';
import { TestReceiver, eventually } from '../support/receiver.js';
import { findFreePort } from '../../scripts/lib/local-servers.js';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses the Prometheus text exposition format into samples, skipping comments. */
function parseSamples(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) {
      continue;
    }
    const match = /^([A-Za-z_:][A-Za-z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    assert.ok(match !== null, `not a Prometheus sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, name, value] of (match[2] ?? '').matchAll(/([A-Za-z_][A-Za-z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[name!] = value!.replace(/\\(.)/g, (_escape, character: string) => (character === 'n' ? '\n' : character));
    }
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return samples;
}

/** Fetches and parses a metrics page; `token` is sent as a bearer token, as the API's /metrics needs one. */
async function scrape(url: string, token?: string): Promise<Sample[]> {
  const response = await fetch(url, { headers: token === undefined ? {} : { authorization: `Bearer ${token}` } });
  assert.equal(response.status, 200, url);
  assert.match(response.headers.get('content-type') ?? '', /^text\/plain/);
  return parseSamples(await response.text());
}

/** Returns the value of the one sample with this name whose labels include `labels`, or undefined. */
function valueOf(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  const matching = samples.filter((sample) => sample.name === name && Object.entries(labels).every(([key, value]) => sample.labels[key] === value));
  assert.ok(matching.length <= 1, `${name} ${JSON.stringify(labels)} matches ${matching.length} samples`);
  return matching[0]?.value;
}


describe('Prometheus metrics of the API and the worker', () => {
  let stack: Stack;
  let receiver: TestReceiver;
  let sdkMetricsPort: number;
  let metricsKey: TestApiKey;

  before(async () => {
    sdkMetricsPort = await findFreePort();
    // A minimum age of 2 minutes keeps the reconciler away from the events the lag test leaves undispatched.
    stack = await Stack.start({ RECONCILER_MIN_AGE_MS: '120000' }, { workerMetrics: true, sdkMetricsPort });
    metricsKey = await stack.createApiKey('metrics');
    receiver = await new TestReceiver().start();
    // The `status` query parameter of a callback URL sets the receiver's response status; 204 without it.
    receiver.respond = (request) => {
      const status = new URL(request.url, 'http://receiver').searchParams.get('status');
      return { status: status === null ? 204 : Number(status) };
    };
  });

  after(async () => {
    await stack.stop();
    await receiver.stop();
  });

  // A key with the metrics role, as a Prometheus server would have.
  const apiMetrics = (): Promise<Sample[]> => scrape(`${stack.apiUrl}/metrics`, metricsKey.token);
  const workerMetrics = (): Promise<Sample[]> => scrape(stack.workerMetricsUrl);

  test('delivered write is counted', async () => {
    const before = await workerMetrics();
    const subscription = await stack.request('POST', '/v1/subscriptions', { target: 'orders/m1', url: receiver.url });
    assert.equal(subscription.status, 201);
    const requestsBefore = receiver.requests.length;

    const written = await stack.request('PUT', '/v1/records/orders/m1', { total: 12 });
    assert.equal(written.status, 201);
    await receiver.waitForRequests(requestsBefore + 1);

    const after = await eventually('the delivered attempt in the worker metrics', async () => {
      const samples = await workerMetrics();
      return valueOf(samples, 'doorbell_delivery_attempts_total', { outcome: 'delivered' }) === 1 ? samples : undefined;
    });
    assert.equal(valueOf(before, 'doorbell_delivery_attempts_total', { outcome: 'delivered' }), 0);
    for (const outcome of ['failed', 'gone', 'skipped']) {
      assert.equal(valueOf(after, 'doorbell_delivery_attempts_total', { outcome }), 0, outcome);
    }
    assert.equal(valueOf(after, 'doorbell_delivery_attempt_duration_seconds_count', { outcome: 'delivered' }), 1);
    assert.equal(valueOf(after, 'doorbell_delivery_attempt_duration_seconds_bucket', { outcome: 'delivered', le: '+Inf' }), 1);
    assert.ok(valueOf(after, 'process_cpu_user_seconds_total')! > 0);

    const api = await apiMetrics();
    assert.equal(valueOf(api, 'doorbell_api_events_written_total', { type: 'record.created' }), 1);
    assert.equal(valueOf(api, 'doorbell_api_requests_total', { method: 'PUT', route: '/v1/records/:kind/:id', status: '201' }), 1);
    assert.equal(valueOf(api, 'doorbell_api_requests_total', { method: 'POST', route: '/v1/subscriptions', status: '201' }), 1);
    assert.equal(valueOf(api, 'doorbell_api_request_duration_seconds_count', { method: 'PUT', route: '/v1/records/:kind/:id' }), 1);
    assert.ok(valueOf(api, 'nodejs_heap_size_used_bytes')! > 0);
  });

  test('updates count as record.updated', async () => {
    await stack.request('PUT', '/v1/records/orders/m2', { total: 1 });
    await stack.request('PUT', '/v1/records/orders/m2', { total: 2 });
    await stack.request('PUT', '/v1/records/orders/m2', { total: 3 });

    const api = await apiMetrics();
    assert.equal(valueOf(api, 'doorbell_api_events_written_total', { type: 'record.updated' }), 2);
    assert.equal(valueOf(api, 'doorbell_api_requests_total', { method: 'PUT', route: '/v1/records/:kind/:id', status: '200' }), 2);
  });

  test('route label is the pattern, not the URL', async () => {
    await stack.request('GET', '/v1/records/orders/m1');
    await stack.request('GET', '/v1/records/orders/never-written');
    await stack.request('GET', '/v1/no-such-route/m1');
    await fetch(`${stack.apiUrl}/docs/assets/swagger-ui.css`).then((response) => response.arrayBuffer());

    const api = await apiMetrics();
    assert.equal(valueOf(api, 'doorbell_api_requests_total', { method: 'GET', route: '/v1/records/:kind/:id', status: '200' }), 1);
    assert.equal(valueOf(api, 'doorbell_api_requests_total', { method: 'GET', route: '/v1/records/:kind/:id', status: '404' }), 1);
    assert.equal(valueOf(api, 'doorbell_api_requests_total', { method: 'GET', route: 'unmatched', status: '404' }), 1);
    assert.equal(valueOf(api, 'doorbell_api_requests_total', { method: 'GET', route: '/docs/assets/*', status: '200' }), 1);
    for (const sample of api) {
      assert.doesNotMatch(sample.labels.route ?? '', /m1|never-written|no-such-route|swagger/, `${sample.name} has a raw URL as route label`);
    }
  });

  test('failed and skipped attempts are counted', async () => {
    const subscription = await stack.request('POST', '/v1/subscriptions', { target: 'orders/m3', url: `${receiver.url}?status=503` });
    const requestsBefore = receiver.requests.length;

    await stack.request('PUT', '/v1/records/orders/m3', { total: 5 });
    await receiver.waitForRequests(requestsBefore + 1);
    const retrying = await eventually('the failed attempt in the worker metrics', async () => {
      const samples = await workerMetrics();
      // The counter and the delivery's stored status change at different moments, so wait for both.
      const isCounted = valueOf(samples, 'doorbell_delivery_attempts_total', { outcome: 'failed' }) === 1;
      const isStored = valueOf(samples, 'doorbell_deliveries_open', { status: 'retrying' }) === 1;
      return isCounted && isStored ? samples : undefined;
    });
    assert.equal(valueOf(retrying, 'doorbell_deliveries_open', { status: 'retrying' }), 1);
    assert.equal(valueOf(retrying, 'doorbell_deliveries_open', { status: 'pending' }), 0);
    assert.equal(valueOf(retrying, 'doorbell_delivery_attempt_duration_seconds_count', { outcome: 'failed' }), 1);
    assert.equal(valueOf(retrying, 'doorbell_subscriptions_disabled'), 0);

    // What another delivery's 410 leaves behind: a disabled subscription whose retries are still scheduled.
    await stack.services.store.subscriptions.updateOne({ _id: subscription.body.id }, { $set: { status: 'disabled', statusReason: 'disabled by the test' } });
    // The retry is due 5 s after the first attempt and then finds the subscription disabled.
    const skipped = await eventually(
      'the skipped attempt in the worker metrics',
      async () => {
        const samples = await workerMetrics();
        const isCounted = valueOf(samples, 'doorbell_delivery_attempts_total', { outcome: 'skipped' }) === 1;
        const isStored = valueOf(samples, 'doorbell_deliveries_open', { status: 'retrying' }) === 0;
        return isCounted && isStored ? samples : undefined;
      },
      30_000,
    );
    assert.equal(valueOf(skipped, 'doorbell_delivery_attempts_total', { outcome: 'failed' }), 1);
    assert.equal(valueOf(skipped, 'doorbell_deliveries_open', { status: 'retrying' }), 0);
    assert.equal(valueOf(skipped, 'doorbell_subscriptions_disabled'), 1);
    assert.equal(receiver.requests.length, requestsBefore + 1);
  });

  test('gone attempt disables the subscription', async () => {
    await stack.request('POST', '/v1/subscriptions', { target: 'orders/m4', url: `${receiver.url}?status=410` });
    const before = await workerMetrics();

    await stack.request('PUT', '/v1/records/orders/m4', { total: 7 });
    // The attempt is counted before the subscription is disabled, so wait for both to show.
    const disabledBefore = valueOf(before, 'doorbell_subscriptions_disabled')!;
    const after = await eventually('the gone attempt and the disabled subscription in the worker metrics', async () => {
      const samples = await workerMetrics();
      const isGoneCounted = valueOf(samples, 'doorbell_delivery_attempts_total', { outcome: 'gone' }) === 1;
      const isDisabledCounted = valueOf(samples, 'doorbell_subscriptions_disabled')! > disabledBefore;
      return isGoneCounted && isDisabledCounted ? samples : undefined;
    });

    assert.equal(valueOf(before, 'doorbell_delivery_attempts_total', { outcome: 'gone' }), 0);
    assert.equal(valueOf(after, 'doorbell_subscriptions_disabled'), disabledBefore + 1);
    assert.equal(valueOf(after, 'doorbell_delivery_attempt_duration_seconds_count', { outcome: 'gone' }), 1);
  });

  test('reconciler lag and dispatches', async () => {
    const insertUndispatched = (recordId: string, ageMs: number) =>
      stack.services.store.events.insertOne({
        _id: newEventId(),
        type: 'record.created',
        kind: 'lagging',
        recordId,
        version: 1,
        dataJson: '{}',
        createdAt: new Date(Date.now() - ageMs),
        recordCreatedAt: new Date(Date.now() - ageMs),
        dispatchedAt: null,
      });
    const dispatchedBefore = valueOf(await workerMetrics(), 'doorbell_reconciler_events_dispatched_total');
    assert.equal(dispatchedBefore, 0);

    // Younger than RECONCILER_MIN_AGE_MS, so it stays undispatched and sets the lag.
    await insertUndispatched('young', 30_000);
    const lag = valueOf(await workerMetrics(), 'doorbell_reconciler_lag_seconds')!;
    assert.ok(lag >= 30, `lag ${lag}`);
    assert.ok(lag < 60, `lag ${lag}`);

    // Older than RECONCILER_MIN_AGE_MS, so the reconciler dispatches it on its next pass.
    await insertUndispatched('old', 600_000);
    const after = await eventually('the reconciler dispatch in the worker metrics', async () => {
      const samples = await workerMetrics();
      return valueOf(samples, 'doorbell_reconciler_events_dispatched_total') === 1 ? samples : undefined;
    });
    const lagAfter = valueOf(after, 'doorbell_reconciler_lag_seconds')!;
    assert.ok(lagAfter >= 30, `lag after the dispatch ${lagAfter}`);
    assert.ok(lagAfter < 60, `lag after the dispatch ${lagAfter}`);
  });

  test('worker metrics server serves only /metrics', async () => {
    const base = stack.workerMetricsUrl.replace(/\/metrics$/, '');

    assert.equal((await fetch(`${base}/`)).status, 404);
    assert.equal((await fetch(`${base}/metrics`, { method: 'POST' })).status, 405);
  });

  test('Temporal SDK metrics have their own endpoint', async () => {
    const samples = await scrape(`http://127.0.0.1:${sdkMetricsPort}/metrics`);
    const ours = samples.filter((sample) => sample.labels.task_queue === stack.config.temporal.taskQueue);

    assert.ok(ours.some((sample) => sample.name.startsWith('temporal_')), `no temporal_ metric for our task queue among ${samples.length} samples`);
    assert.ok(samples.every((sample) => !sample.name.startsWith('doorbell_')), 'Doorbell metrics belong to the worker metrics endpoint');
  });
});

describe('worker process metrics endpoints', () => {
  test('worker serves both endpoints and stops', async () => {
    const servers = testServers();
    const [metricsPort, sdkMetricsPort] = [await findFreePort(), await findFreePort()];
    const database = `test_${randomBytes(6).toString('hex')}`;
    const worker = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('../../src/worker.ts', import.meta.url))], {
      env: {
        ...process.env,
        NODE_ENV: 'test',
        LOG_LEVEL: 'warn',
        LOG_PRETTY: 'false',
        MONGODB_URI: servers.mongoUri,
        MONGODB_DATABASE: database,
        TEMPORAL_ADDRESS: servers.temporalAddress,
        TEMPORAL_TASK_QUEUE: `doorbell-test-${database}`,
        DOORBELL_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
        WORKER_METRICS_HOST: '127.0.0.1',
        WORKER_METRICS_PORT: String(metricsPort),
        WORKER_SDK_METRICS_PORT: String(sdkMetricsPort),
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    worker.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const exited = once(worker, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;

    try {
      // The worker bundles its workflows before it listens, which takes a few seconds.
      const samples = await eventually(
        'the worker metrics endpoint',
        async () => {
          assert.equal(worker.exitCode, null, `worker exited early: ${stderr}`);
          return scrape(`http://127.0.0.1:${metricsPort}/metrics`);
        },
        60_000,
      );
      assert.equal(valueOf(samples, 'doorbell_delivery_attempts_total', { outcome: 'delivered' }), 0);
      assert.equal(valueOf(samples, 'doorbell_reconciler_lag_seconds'), 0);

      const sdkSamples = await scrape(`http://127.0.0.1:${sdkMetricsPort}/metrics`);
      assert.ok(
        sdkSamples.some((sample) => sample.name === 'temporal_worker_start_total'),
        'the SDK endpoint has no temporal_worker_start_total',
      );
    } finally {
      worker.kill('SIGTERM');
      const [code, signal] = await exited;
      const client = await MongoClient.connect(servers.mongoUri);
      await client.db(database).dropDatabase();
      await client.close();
      assert.equal(signal, null, `worker was killed by ${signal}: ${stderr}`);
      assert.equal(code, 0, `worker exited with ${code}: ${stderr}`);
    }
  });
});
