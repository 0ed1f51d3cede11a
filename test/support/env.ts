import { randomBytes } from 'node:crypto';
import { loadConfig, type Config } from '../../src/config.js';

/** Addresses of the servers `npm test` started, passed to each test process through the environment. */
export function testServers(): { mongoUri: string; temporalAddress: string; temporalTestServerPath: string } {
  const mongoUri = process.env.DOORBELL_TEST_MONGODB_URI;
  const temporalAddress = process.env.DOORBELL_TEST_TEMPORAL_ADDRESS;
  const temporalTestServerPath = process.env.DOORBELL_TEST_TEMPORAL_TEST_SERVER;
  if (mongoUri === undefined || temporalAddress === undefined || temporalTestServerPath === undefined) {
    throw new Error('test servers are not running: run the tests with `npm test`, which starts them and sets DOORBELL_TEST_* variables');
  }
  return { mongoUri, temporalAddress, temporalTestServerPath };
}

/** A configuration with its own database and task queue, so test files never see each other's data. */
export function testConfig(overrides: Record<string, string> = {}): Config {
  const servers = testServers();
  const suffix = randomBytes(6).toString('hex');
  return loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: process.env.DOORBELL_TEST_LOG_LEVEL ?? 'silent',
    LOG_PRETTY: 'false',
    PORT: '0',
    MONGODB_URI: servers.mongoUri,
    MONGODB_DATABASE: `test_${suffix}`,
    TEMPORAL_ADDRESS: servers.temporalAddress,
    TEMPORAL_TASK_QUEUE: `doorbell-test-${suffix}`,
    DOORBELL_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    DELIVERY_ATTEMPT_TIMEOUT_MS: '3000',
    RECONCILER_INTERVAL_MS: '500',
    RECONCILER_MIN_AGE_MS: '1000',
    ...overrides,
  });
}
