import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config.js';
import { DEFAULT_RETRY_SCHEDULE } from '../../src/workflows/retry-schedule.js';

const KEY = randomBytes(32);
const MINIMAL_ENV = { DOORBELL_ENCRYPTION_KEY: KEY.toString('base64') };

/** Returns the ConfigError that loading `env` raises. Fails the test when it raises anything else or nothing. */
function configError(env: NodeJS.ProcessEnv): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected loadConfig to throw');
}

describe('loadConfig', () => {
  test('minimal env loads the defaults', () => {
    const config = loadConfig(MINIMAL_ENV);

    assert.equal(config.env, 'development');
    assert.deepEqual(config.log, { level: 'info', pretty: true });
    assert.deepEqual(config.api, { host: '127.0.0.1', port: 3000, maxRequestBodyBytes: 1_048_576, maxInFlightRequests: 256, rateLimit: { maxRequests: 6000, windowMs: 60_000 } });
    assert.deepEqual(config.mongo, { uri: 'mongodb://127.0.0.1:27017/', database: 'doorbell' });
    assert.deepEqual(config.temporal, {
      address: '127.0.0.1:7233',
      namespace: 'default',
      taskQueue: 'doorbell',
      uiUrl: 'http://127.0.0.1:8233',
      tls: false,
      clientCertificate: null,
      apiKey: undefined,
    });
    assert.deepEqual(config.delivery, {
      attemptTimeoutMs: 15_000,
      defaultRetryWindowDays: 30,
      endpointDisableAfterMs: 5 * 24 * 60 * 60 * 1000,
      dispatchPageSize: 200,
      catchUpRatePerSecond: 50,
      retrySchedule: DEFAULT_RETRY_SCHEDULE,
      allowedCidrs: ['127.0.0.0/8', '::1/128'],
      maxConcurrentPerEndpoint: 8,
    });
    assert.deepEqual(config.reconciler, { intervalMs: 10_000, minAgeMs: 15_000 });
  });

  test('key is decoded from base64', () => {
    assert.ok(loadConfig(MINIMAL_ENV).encryptionKey.equals(KEY));
  });

  test('numbers are read from strings', () => {
    const config = loadConfig({ ...MINIMAL_ENV, PORT: '8080', DELIVERY_DEFAULT_RETRY_WINDOW_DAYS: '1.5' });

    assert.equal(config.api.port, 8080);
    assert.equal(config.delivery.defaultRetryWindowDays, 1.5);
  });

  test('pretty logs are off in production', () => {
    assert.equal(loadConfig({ ...MINIMAL_ENV, NODE_ENV: 'production' }).log.pretty, false);
  });

  test('LOG_PRETTY overrides the default', () => {
    assert.equal(loadConfig({ ...MINIMAL_ENV, LOG_PRETTY: 'false' }).log.pretty, false);
    assert.equal(loadConfig({ ...MINIMAL_ENV, NODE_ENV: 'production', LOG_PRETTY: '1' }).log.pretty, true);
  });

  test('trailing slash is removed from the UI URL', () => {
    assert.equal(loadConfig({ ...MINIMAL_ENV, TEMPORAL_UI_URL: 'http://127.0.0.1:8233/' }).temporal.uiUrl, 'http://127.0.0.1:8233');
  });

  test('unrelated variables are ignored', () => {
    assert.doesNotThrow(() => loadConfig({ ...MINIMAL_ENV, PATH: '/usr/bin', HOME: '/root' }));
  });

  test('invalid PORT is named with its value', () => {
    const error = configError({ ...MINIMAL_ENV, PORT: 'abc' });

    assert.equal(error.issues.length, 1);
    assert.match(error.issues[0]!, /^PORT: /);
    assert.match(error.issues[0]!, /\(got "abc"\)$/);
    assert.match(error.message, /^invalid configuration:\n {2}PORT: /);
  });

  test('PORT out of range is rejected', () => {
    assert.match(configError({ ...MINIMAL_ENV, PORT: '70000' }).issues[0]!, /^PORT: /);
  });

  test('missing key is named', () => {
    const error = configError({});

    assert.equal(error.issues.length, 1);
    assert.match(error.issues[0]!, /^DOORBELL_ENCRYPTION_KEY: /);
  });

  test('short key is rejected without its value', () => {
    const shortKey = randomBytes(16).toString('base64');
    const error = configError({ DOORBELL_ENCRYPTION_KEY: shortKey });

    assert.match(error.message, /DOORBELL_ENCRYPTION_KEY: must be 32 random bytes in base64/);
    assert.ok(!error.message.includes(shortKey), 'message contains the key');
    assert.ok(!error.issues.some((issue) => issue.includes(shortKey)), 'issues contain the key');
  });

  test('every invalid variable is named', () => {
    const error = configError({ ...MINIMAL_ENV, PORT: 'abc', LOG_LEVEL: 'loud', MONGODB_URI: 'postgres://127.0.0.1/' });
    const names = error.issues.map((issue) => issue.split(':')[0]);

    assert.deepEqual(names.sort(), ['LOG_LEVEL', 'MONGODB_URI', 'PORT']);
  });

  test('rate limit is read', () => {
    const config = loadConfig({ ...MINIMAL_ENV, API_RATE_LIMIT_REQUESTS: '0', API_RATE_LIMIT_WINDOW_MS: '1000' });

    assert.deepEqual(config.api.rateLimit, { maxRequests: 0, windowMs: 1000 });
  });

  test('rate limit window below 1 s is named', () => {
    const error = configError({ ...MINIMAL_ENV, API_RATE_LIMIT_WINDOW_MS: '10' });

    assert.match(error.message, /API_RATE_LIMIT_WINDOW_MS/);
  });

  test('API key turns Temporal TLS on', () => {
    const config = loadConfig({ ...MINIMAL_ENV, TEMPORAL_API_KEY: 'key-123' });

    assert.equal(config.temporal.tls, true);
    assert.equal(config.temporal.apiKey, 'key-123');
  });

  test('client certificate needs its key', () => {
    const error = configError({ ...MINIMAL_ENV, TEMPORAL_TLS_CERT_PATH: '/etc/doorbell/client.pem' });

    assert.match(error.message, /TEMPORAL_TLS_KEY_PATH/);
  });

  test('retry schedule is read from durations', () => {
    const config = loadConfig({ ...MINIMAL_ENV, DELIVERY_RETRY_SCHEDULE: '1s, 500ms,2m' });

    assert.deepEqual(config.delivery.retrySchedule, { delaysMs: [1000, 500], steadyDelayMs: 120_000 });
  });

  test('invalid retry schedule is named', () => {
    const error = configError({ ...MINIMAL_ENV, DELIVERY_RETRY_SCHEDULE: '5 minutes' });

    assert.match(error.message, /DELIVERY_RETRY_SCHEDULE/);
  });

  test('endpoint disable time is read as a duration', () => {
    const config = loadConfig({ ...MINIMAL_ENV, ENDPOINT_DISABLE_AFTER: '12h' });

    assert.equal(config.delivery.endpointDisableAfterMs, 12 * 60 * 60 * 1000);
  });

  test('invalid endpoint disable time is named', () => {
    for (const value of ['5 days', '0s', '1s,2s']) {
      const error = configError({ ...MINIMAL_ENV, ENDPOINT_DISABLE_AFTER: value });

      assert.match(error.message, /ENDPOINT_DISABLE_AFTER/, value);
    }
  });

  test('catch-up rate is read as an integer', () => {
    assert.equal(loadConfig({ ...MINIMAL_ENV, CATCH_UP_RATE_PER_SECOND: '200' }).delivery.catchUpRatePerSecond, 200);
  });

  test('catch-up rate of 0 is named', () => {
    const error = configError({ ...MINIMAL_ENV, CATCH_UP_RATE_PER_SECOND: '0' });

    assert.match(error.message, /CATCH_UP_RATE_PER_SECOND/);
  });

  test('production allows no private range by default', () => {
    assert.deepEqual(loadConfig({ ...MINIMAL_ENV, NODE_ENV: 'production' }).delivery.allowedCidrs, []);
  });

  test('allowed CIDRs are read as a list', () => {
    const config = loadConfig({ ...MINIMAL_ENV, DELIVERY_ALLOWED_CIDRS: ' 10.1.0.0/16, fd00::/8 ' });

    assert.deepEqual(config.delivery.allowedCidrs, ['10.1.0.0/16', 'fd00::/8']);
  });

  test('invalid CIDR is named', () => {
    const error = configError({ ...MINIMAL_ENV, DELIVERY_ALLOWED_CIDRS: '10.0.0.0/33' });

    assert.match(error.message, /DELIVERY_ALLOWED_CIDRS/);
  });

  test('worker metrics default to loopback ports', () => {
    assert.deepEqual(loadConfig(MINIMAL_ENV).workerMetrics, { host: '127.0.0.1', port: 9464, sdkPort: 9465 });
  });

  test('worker metrics ports of 0 are kept', () => {
    const config = loadConfig({ ...MINIMAL_ENV, WORKER_METRICS_PORT: '0', WORKER_SDK_METRICS_PORT: '0' });

    assert.deepEqual(config.workerMetrics, { host: '127.0.0.1', port: 0, sdkPort: 0 });
  });

  test('same port for both metrics endpoints is rejected', () => {
    const error = configError({ ...MINIMAL_ENV, WORKER_METRICS_PORT: '9500', WORKER_SDK_METRICS_PORT: '9500' });

    assert.match(error.message, /WORKER_METRICS_PORT and WORKER_SDK_METRICS_PORT/);
  });

  test('invalid worker metrics port is named', () => {
    const error = configError({ ...MINIMAL_ENV, WORKER_METRICS_PORT: '70000' });

    assert.match(error.message, /WORKER_METRICS_PORT/);
  });

  test('empty PORT means the default', () => {
    assert.equal(loadConfig({ ...MINIMAL_ENV, PORT: '' }).api.port, 3000);
  });

  test('invalid MONGODB_URI is named without its value', () => {
    const error = configError({ ...MINIMAL_ENV, MONGODB_URI: 'mongdb://admin:hunter2@db.example/' });

    assert.match(error.message, /MONGODB_URI/);
    assert.doesNotMatch(error.message, /hunter2/);
  });

  test('error is named ConfigError', () => {
    assert.equal(configError({}).name, 'ConfigError');
  });
});
