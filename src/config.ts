import ipaddr from 'ipaddr.js';
import { z } from 'zod';
import { parseRetrySchedule, type RetrySchedule } from './workflows/retry-schedule.js';

const booleanFromEnv = z
  .enum(['true', 'false', '1', '0'])
  .transform((value) => value === 'true' || value === '1');

const encryptionKeySchema = z
  .string()
  .refine((value) => Buffer.from(value, 'base64').length === 32, {
    message: 'must be 32 random bytes in base64, for example the output of `openssl rand -base64 32`',
  });

const otlpUrl = z.url({ protocol: /^https?$/, error: 'must be an http or https URL such as http://127.0.0.1:4318' });

// NOTE: only the HTTP exporters are installed; OTLP over gRPC would need @opentelemetry/exporter-trace-otlp-grpc.
const otlpProtocol = z.enum(['http/protobuf', 'http/json'], { error: 'must be http/protobuf or http/json; grpc is not supported' });

/** Outside production, deliveries may reach loopback, where local receivers and tests listen. */
const DEVELOPMENT_ALLOWED_CIDRS = '127.0.0.0/8,::1/128';

function parseCidrList(list: string): string[] {
  return list
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
}

/** Parses one duration such as `5d` or `30s` into milliseconds; undefined when the text is not one, or is 0. */
export function parseDurationMs(text: string): number | undefined {
  const schedule = parseRetrySchedule(text);
  // A schedule of one duration has that duration as its steady delay and no others.
  return schedule === undefined || schedule.delaysMs.length > 0 ? undefined : schedule.steadyDelayMs;
}

/** Variables whose values are never repeated in an error: a key, or a URI that may hold a password. */
const SENSITIVE_VARIABLES = new Set(['DOORBELL_ENCRYPTION_KEY', 'MONGODB_URI', 'TEMPORAL_API_KEY']);

/** Environment variables Doorbell reads, with their defaults. */
const envSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  LOG_PRETTY: booleanFromEnv.optional(),

  HOST: z.string().min(1).default('127.0.0.1'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  MAX_REQUEST_BODY_BYTES: z.coerce.number().int().positive().default(1_048_576),
  MAX_IN_FLIGHT_REQUESTS: z.coerce.number().int().positive().default(256),
  // 0 turns the per-key rate limit off.
  API_RATE_LIMIT_REQUESTS: z.coerce.number().int().min(0).default(6000),
  API_RATE_LIMIT_WINDOW_MS: z.coerce.number().int().min(1000).max(3_600_000).default(60_000),

  MONGODB_URI: z.string().regex(/^mongodb(\+srv)?:\/\//, 'must start with mongodb:// or mongodb+srv://').default('mongodb://127.0.0.1:27017/'),
  MONGODB_DATABASE: z.string().regex(/^[A-Za-z0-9_-]{1,63}$/, 'must be 1-63 letters, digits, _ or -').default('doorbell'),

  TEMPORAL_ADDRESS: z.string().min(1).default('127.0.0.1:7233'),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TEMPORAL_TASK_QUEUE: z.string().min(1).default('doorbell'),
  TEMPORAL_UI_URL: z.url().default('http://127.0.0.1:8233'),
  TEMPORAL_TLS: booleanFromEnv.optional(),
  TEMPORAL_TLS_CERT_PATH: z.string().min(1).optional(),
  TEMPORAL_TLS_KEY_PATH: z.string().min(1).optional(),
  TEMPORAL_API_KEY: z.string().min(1).optional(),

  DOORBELL_ENCRYPTION_KEY: encryptionKeySchema,

  // The attempt activity's start-to-close timeout is 2 minutes, so one attempt must end well before.
  DELIVERY_ATTEMPT_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(15_000),
  DELIVERY_RETRY_SCHEDULE: z
    .string()
    .refine((text) => parseRetrySchedule(text) !== undefined, {
      message: 'must be comma-separated durations such as 5s,5m,30m,2h,5h,10h,12h (units ms, s, m, h, d), the last one repeating',
    })
    .default('5s,5m,30m,2h,5h,10h,12h'),
  DELIVERY_ALLOWED_CIDRS: z
    .string()
    .refine((list) => parseCidrList(list).every((cidr) => ipaddr.isValidCIDR(cidr)), {
      message: 'must be comma-separated CIDR ranges such as 10.1.0.0/16,fd00::/8',
    })
    .optional(),
  DELIVERY_MAX_CONCURRENT_PER_ENDPOINT: z.coerce.number().int().min(1).max(10_000).default(8),
  DELIVERY_DEFAULT_RETRY_WINDOW_DAYS: z.coerce.number().positive().max(3650).default(30),
  ENDPOINT_DISABLE_AFTER: z
    .string()
    .refine((text) => parseDurationMs(text) !== undefined, { message: 'must be a duration such as 5d, 12h or 30s (units ms, s, m, h, d), more than 0' })
    .default('5d'),
  DISPATCH_PAGE_SIZE: z.coerce.number().int().min(1).max(1000).default(200),
  CATCH_UP_RATE_PER_SECOND: z.coerce.number().int().min(1).max(10_000).default(50),

  RECONCILER_INTERVAL_MS: z.coerce.number().int().min(100).default(10_000),
  RECONCILER_MIN_AGE_MS: z.coerce.number().int().min(0).default(15_000),

  WORKER_METRICS_HOST: z.string().min(1).default('127.0.0.1'),
  // 0 turns the endpoint off rather than choosing a free port, so a port is always known to scrapers.
  WORKER_METRICS_PORT: z.coerce.number().int().min(0).max(65535).default(9464),
  WORKER_SDK_METRICS_PORT: z.coerce.number().int().min(0).max(65535).default(9465),

  // On SIGTERM the API finishes requests in flight and the worker its running attempts, for at most this long.
  SHUTDOWN_GRACE_MS: z.coerce.number().int().min(0).max(600_000).default(30_000),
  // Standard OpenTelemetry variables. Setting an OTLP endpoint turns tracing on.
  OTEL_SDK_DISABLED: booleanFromEnv.optional(),
  OTEL_SERVICE_NAME: z.string().min(1).optional(),
  OTEL_EXPORTER_OTLP_ENDPOINT: otlpUrl.optional(),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: otlpUrl.optional(),
  OTEL_EXPORTER_OTLP_PROTOCOL: otlpProtocol.optional(),
  OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: otlpProtocol.optional(),
});

export type Config = {
  env: 'development' | 'production' | 'test';
  log: { level: string; pretty: boolean };
  api: {
    host: string;
    port: number;
    maxRequestBodyBytes: number;
    maxInFlightRequests: number;
    /** Requests each API key may send per window and API process; 0 means no limit. */
    rateLimit: { maxRequests: number; windowMs: number };
  };
  mongo: { uri: string; database: string };
  temporal: {
    address: string;
    namespace: string;
    taskQueue: string;
    uiUrl: string;
    /** TLS to the frontend: on with an API key or a client certificate unless TEMPORAL_TLS=false. */
    tls: boolean;
    clientCertificate: { certPath: string; keyPath: string } | null;
    apiKey: string | undefined;
  };
  encryptionKey: Buffer;
  delivery: {
    attemptTimeoutMs: number;
    defaultRetryWindowDays: number;
    dispatchPageSize: number;
    retrySchedule: RetrySchedule;
    /** Early attempts per second, at most, when a recovered endpoint's waiting deliveries are woken. */
    catchUpRatePerSecond: number;
    /** Ranges deliveries may reach besides public unicast addresses (see src/activities/address-guard.ts). */
    allowedCidrs: string[];
    /** A subscription is disabled when every attempt to it has failed for this long. */
    endpointDisableAfterMs: number;
    /** Attempts one worker process sends to one origin (scheme, host and port) at a time. */
    maxConcurrentPerEndpoint: number;
  };
  reconciler: { intervalMs: number; minAgeMs: number };
  /** The worker's Prometheus endpoints; a port of 0 turns that endpoint off. */
  workerMetrics: { host: string; port: number; sdkPort: number };
  /** How long a stopping process waits for requests and attempts in flight before it cuts them off. */
  shutdownGraceMs: number;
  /**
   * OpenTelemetry tracing. `exporter` is null when no OTLP endpoint is set or OTEL_SDK_DISABLED
   * is true, and then no SDK is started. `serviceName` overrides each process's default name.
   */
  tracing: {
    exporter: { url: string; protocol: 'http/protobuf' | 'http/json' } | null;
    serviceName: string | undefined;
  };
};

/**
 * Parses only the MongoDB variables, for tools that talk to the database alone, such as the
 * script that creates API keys.
 *
 * @throws ConfigError naming each invalid variable.
 */
export function loadMongoConfig(env: NodeJS.ProcessEnv = process.env): Config['mongo'] {
  const setVariables = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  const parsed = envSchema.pick({ MONGODB_URI: true, MONGODB_DATABASE: true }).safeParse(setVariables);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`));
  }
  return { uri: parsed.data.MONGODB_URI, database: parsed.data.MONGODB_DATABASE };
}

/**
 * Parses only the worker's metrics variables, so `npm start` can print the worker's metrics URLs
 * without the rest of the worker's configuration.
 *
 * @throws ConfigError naming each invalid variable.
 */
export function loadWorkerMetricsConfig(env: NodeJS.ProcessEnv = process.env): Config['workerMetrics'] {
  const setVariables = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  const parsed = envSchema.pick({ WORKER_METRICS_HOST: true, WORKER_METRICS_PORT: true, WORKER_SDK_METRICS_PORT: true }).safeParse(setVariables);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`));
  }
  return { host: parsed.data.WORKER_METRICS_HOST, port: parsed.data.WORKER_METRICS_PORT, sdkPort: parsed.data.WORKER_SDK_METRICS_PORT };
}

/** Error raised when an environment variable is missing or invalid; the message names each one. */
export class ConfigError extends Error {
  constructor(readonly issues: string[]) {
    super(`invalid configuration:\n  ${issues.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

/**
 * Parses and validates the environment once at start-up.
 *
 * @throws ConfigError naming every invalid variable, so the process can stop with a clear message.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // An empty variable (`PORT=` in an .env file) means unset, not zero.
  const setVariables = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  const parsed = envSchema.safeParse(setVariables);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((issue) => {
      const name = issue.path.join('.');
      const value = SENSITIVE_VARIABLES.has(name) ? '' : ` (got ${JSON.stringify(env[name])})`;
      return `${name}: ${issue.message}${value}`;
    });
    throw new ConfigError(issues);
  }

  const e = parsed.data;
  if ((e.TEMPORAL_TLS_CERT_PATH === undefined) !== (e.TEMPORAL_TLS_KEY_PATH === undefined)) {
    throw new ConfigError(['TEMPORAL_TLS_CERT_PATH and TEMPORAL_TLS_KEY_PATH: set both for mutual TLS, or neither']);
  }
  if (e.WORKER_METRICS_PORT !== 0 && e.WORKER_METRICS_PORT === e.WORKER_SDK_METRICS_PORT) {
    throw new ConfigError([`WORKER_METRICS_PORT and WORKER_SDK_METRICS_PORT: both are ${e.WORKER_METRICS_PORT}; the two endpoints need different ports, or 0 to turn one off`]);
  }
  const clientCertificate = e.TEMPORAL_TLS_CERT_PATH === undefined ? null : { certPath: e.TEMPORAL_TLS_CERT_PATH, keyPath: e.TEMPORAL_TLS_KEY_PATH! };

  return {
    env: e.NODE_ENV,
    log: { level: e.LOG_LEVEL, pretty: e.LOG_PRETTY ?? e.NODE_ENV === 'development' },
    api: {
      host: e.HOST,
      port: e.PORT,
      maxRequestBodyBytes: e.MAX_REQUEST_BODY_BYTES,
      maxInFlightRequests: e.MAX_IN_FLIGHT_REQUESTS,
      rateLimit: { maxRequests: e.API_RATE_LIMIT_REQUESTS, windowMs: e.API_RATE_LIMIT_WINDOW_MS },
    },
    mongo: { uri: e.MONGODB_URI, database: e.MONGODB_DATABASE },
    temporal: {
      address: e.TEMPORAL_ADDRESS,
      namespace: e.TEMPORAL_NAMESPACE,
      taskQueue: e.TEMPORAL_TASK_QUEUE,
      uiUrl: e.TEMPORAL_UI_URL.replace(/\/$/, ''),
      tls: e.TEMPORAL_TLS ?? (e.TEMPORAL_API_KEY !== undefined || clientCertificate !== null),
      clientCertificate,
      apiKey: e.TEMPORAL_API_KEY,
    },
    encryptionKey: Buffer.from(e.DOORBELL_ENCRYPTION_KEY, 'base64'),
    delivery: {
      attemptTimeoutMs: e.DELIVERY_ATTEMPT_TIMEOUT_MS,
      retrySchedule: parseRetrySchedule(e.DELIVERY_RETRY_SCHEDULE)!,
      allowedCidrs: parseCidrList(e.DELIVERY_ALLOWED_CIDRS ?? (e.NODE_ENV === 'production' ? '' : DEVELOPMENT_ALLOWED_CIDRS)),
      defaultRetryWindowDays: e.DELIVERY_DEFAULT_RETRY_WINDOW_DAYS,
      dispatchPageSize: e.DISPATCH_PAGE_SIZE,
      endpointDisableAfterMs: parseDurationMs(e.ENDPOINT_DISABLE_AFTER)!,
      catchUpRatePerSecond: e.CATCH_UP_RATE_PER_SECOND,
      maxConcurrentPerEndpoint: e.DELIVERY_MAX_CONCURRENT_PER_ENDPOINT,
    },
    reconciler: { intervalMs: e.RECONCILER_INTERVAL_MS, minAgeMs: e.RECONCILER_MIN_AGE_MS },
    workerMetrics: { host: e.WORKER_METRICS_HOST, port: e.WORKER_METRICS_PORT, sdkPort: e.WORKER_SDK_METRICS_PORT },
    shutdownGraceMs: e.SHUTDOWN_GRACE_MS,
    tracing: { exporter: tracesExporter(e), serviceName: e.OTEL_SERVICE_NAME },
  };
}

/**
 * Returns the OTLP traces URL and protocol, or null when tracing is off. As the OpenTelemetry
 * specification defines, the per-signal endpoint is used as it is, while the general endpoint
 * gets `v1/traces` appended. The specification's default protocol is http/protobuf.
 */
function tracesExporter(e: z.infer<typeof envSchema>): Config['tracing']['exporter'] {
  if (e.OTEL_SDK_DISABLED === true) {
    return null;
  }
  const protocol = e.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? e.OTEL_EXPORTER_OTLP_PROTOCOL ?? 'http/protobuf';
  if (e.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT !== undefined) {
    return { url: e.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, protocol };
  }
  if (e.OTEL_EXPORTER_OTLP_ENDPOINT !== undefined) {
    return { url: `${e.OTEL_EXPORTER_OTLP_ENDPOINT.replace(/\/+$/, '')}/v1/traces`, protocol };
  }
  return null;
}
