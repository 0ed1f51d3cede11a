import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config.js';

const MINIMAL_ENV = { DOORBELL_ENCRYPTION_KEY: randomBytes(32).toString('base64') };

function configError(env: NodeJS.ProcessEnv): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected loadConfig to throw');
}

describe('tracing configuration', () => {
  test('tracing is off without an endpoint', () => {
    assert.deepEqual(loadConfig(MINIMAL_ENV).tracing, { exporter: null, serviceName: undefined });
  });

  test('general endpoint gets v1/traces appended', () => {
    const config = loadConfig({ ...MINIMAL_ENV, OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' });

    assert.deepEqual(config.tracing.exporter, { url: 'http://127.0.0.1:4318/v1/traces', protocol: 'http/protobuf' });
  });

  test('general endpoint keeps its path', () => {
    const config = loadConfig({ ...MINIMAL_ENV, OTEL_EXPORTER_OTLP_ENDPOINT: 'https://collector.example/otlp/' });

    assert.equal(config.tracing.exporter?.url, 'https://collector.example/otlp/v1/traces');
  });

  test('traces endpoint is used as it is and wins', () => {
    const config = loadConfig({
      ...MINIMAL_ENV,
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318',
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://127.0.0.1:9999/custom',
    });

    assert.equal(config.tracing.exporter?.url, 'http://127.0.0.1:9999/custom');
  });

  test('traces protocol wins over the general one', () => {
    const config = loadConfig({
      ...MINIMAL_ENV,
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318',
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
      OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json',
    });

    assert.equal(config.tracing.exporter?.protocol, 'http/json');
  });

  test('OTEL_SDK_DISABLED turns tracing off', () => {
    const config = loadConfig({ ...MINIMAL_ENV, OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318', OTEL_SDK_DISABLED: 'true' });

    assert.equal(config.tracing.exporter, null);
  });

  test('OTEL_SERVICE_NAME is kept', () => {
    assert.equal(loadConfig({ ...MINIMAL_ENV, OTEL_SERVICE_NAME: 'doorbell-eu' }).tracing.serviceName, 'doorbell-eu');
  });

  test('grpc protocol is rejected with the supported ones', () => {
    const error = configError({ ...MINIMAL_ENV, OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4317', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' });

    assert.match(error.message, /OTEL_EXPORTER_OTLP_PROTOCOL: must be http\/protobuf or http\/json; grpc is not supported/);
  });

  test('endpoint that is not an http URL is named', () => {
    const error = configError({ ...MINIMAL_ENV, OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' });

    assert.match(error.message, /OTEL_EXPORTER_OTLP_ENDPOINT: must be an http or https URL/);
  });
});
