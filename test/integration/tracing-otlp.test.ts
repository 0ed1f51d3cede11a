import assert from 'node:assert/strict';
import { MongoClient } from 'mongodb';
import { createApiKey } from '../../src/domain/api-keys.js';
import type { ApiKeyDocument } from '../../src/store/documents.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer as createHttpServer, type Server } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { testServers } from '../support/env.js';
import { TestReceiver, eventually } from '../support/receiver.js';
import { findFreePort } from '../../scripts/lib/local-servers.js';

interface ExportRequest {
  path: string;
  contentType: string;
  body: Buffer;
}

/** The parts of an OTLP/JSON span that the test reads. */
interface JsonSpan {
  traceId: string;
  spanId: string;
  name: string;
  service: string;
  attributes: Record<string, unknown>;
}

/** A loopback HTTP server in place of an OpenTelemetry collector. It keeps every export request and accepts it. */
class TestCollector {
  readonly requests: ExportRequest[] = [];
  private readonly server: Server = createHttpServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      this.requests.push({ path: req.url ?? '', contentType: req.headers['content-type'] ?? '', body: Buffer.concat(chunks) });
      // An empty ExportTraceServiceResponse is a valid success response in both encodings.
      res.writeHead(200, { 'content-type': req.headers['content-type'] ?? 'application/json' }).end(req.headers['content-type'] === 'application/json' ? '{}' : '');
    });
  });

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return this;
  }

  get endpoint(): string {
    const address = this.server.address();
    assert.ok(typeof address === 'object');
    assert.ok(address !== null);
    return `http://127.0.0.1:${address.port}`;
  }

  /** Decodes every OTLP/JSON request received so far into spans with their service name. */
  jsonSpans(): JsonSpan[] {
    const spans: JsonSpan[] = [];
    for (const request of this.requests.filter((candidate) => candidate.contentType === 'application/json')) {
      const payload = JSON.parse(request.body.toString('utf8')) as { resourceSpans: any[] };
      for (const resourceSpans of payload.resourceSpans) {
        const resource = attributesOf(resourceSpans.resource?.attributes ?? []);
        for (const scopeSpans of resourceSpans.scopeSpans ?? []) {
          for (const span of scopeSpans.spans ?? []) {
            spans.push({ traceId: span.traceId, spanId: span.spanId, name: span.name, service: String(resource['service.name']), attributes: attributesOf(span.attributes ?? []) });
          }
        }
      }
    }
    return spans;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** Flattens OTLP key-value attributes such as `{ key, value: { stringValue } }` into a plain object. */
function attributesOf(list: Array<{ key: string; value: Record<string, unknown> }>): Record<string, unknown> {
  return Object.fromEntries(list.map(({ key, value }) => [key, Object.values(value)[0]]));
}


/** A Doorbell process (API or worker) started from its entry point, as in production. */
class DoorbellProcess {
  private stderr = '';
  private readonly exited: Promise<unknown>;

  constructor(
    readonly name: string,
    private readonly child: ChildProcess,
  ) {
    child.stderr?.on('data', (chunk: Buffer) => (this.stderr += chunk.toString('utf8')));
    this.exited = once(child, 'exit');
  }

  static start(name: string, entry: string, env: Record<string, string>): DoorbellProcess {
    const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL(entry, import.meta.url))], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    return new DoorbellProcess(name, child);
  }

  assertRunning(): void {
    assert.equal(this.child.exitCode, null, `${this.name} exited early: ${this.stderr}`);
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGTERM');
    }
    await this.exited;
  }
}

describe('spans exported over OTLP/HTTP', () => {
  let collector: TestCollector;
  let receiver: TestReceiver;
  const processes: DoorbellProcess[] = [];

  /** Environment of both processes: their own database and task queue, and no worker metrics ports. */
  function processEnv(protocol: string): Record<string, string> {
    const servers = testServers();
    const suffix = randomBytes(6).toString('hex');
    return {
      NODE_ENV: 'test',
      LOG_LEVEL: 'warn',
      LOG_PRETTY: 'false',
      MONGODB_URI: servers.mongoUri,
      MONGODB_DATABASE: `test_${suffix}`,
      TEMPORAL_ADDRESS: servers.temporalAddress,
      TEMPORAL_TASK_QUEUE: `doorbell-test-${suffix}`,
      DOORBELL_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
      WORKER_METRICS_PORT: '0',
      WORKER_SDK_METRICS_PORT: '0',
      OTEL_EXPORTER_OTLP_ENDPOINT: collector.endpoint,
      OTEL_EXPORTER_OTLP_PROTOCOL: protocol,
      // Export batches every 100 ms instead of every 5 s, so the test waits less.
      OTEL_BSP_SCHEDULE_DELAY: '100',
    };
  }

  /** Creates an admin key in the processes' database, as `npm run keys:create` does. */
  async function adminToken(env: Record<string, string>): Promise<string> {
    const client = await MongoClient.connect(env.MONGODB_URI!);
    try {
      const { token } = await createApiKey({ apiKeys: client.db(env.MONGODB_DATABASE).collection<ApiKeyDocument>('api_keys') }, { name: 'tracing test', role: 'admin' });
      return token;
    } finally {
      await client.close();
    }
  }

  async function startApi(env: Record<string, string>): Promise<string> {
    const port = await findFreePort();
    const api = DoorbellProcess.start('API', '../../src/api/main.ts', { ...env, PORT: String(port) });
    processes.push(api);
    const url = `http://127.0.0.1:${port}`;
    await eventually(
      'the API to be ready',
      async () => {
        api.assertRunning();
        const response = await fetch(`${url}/readyz`);
        return response.status === 200 ? true : undefined;
      },
      60_000,
    );
    return url;
  }

  before(async () => {
    collector = await new TestCollector().start();
    receiver = await new TestReceiver().start();
    receiver.respond = () => ({ status: 204 });
  });

  after(async () => {
    for (const running of processes) {
      await running.stop();
    }
    await receiver.stop();
    await collector.stop();
  });

  test('trace crosses from the API process to the worker', async () => {
    const env = processEnv('http/json');
    const apiUrl = await startApi(env);
    const worker = DoorbellProcess.start('worker', '../../src/worker.ts', env);
    processes.push(worker);

    const authorization = `Bearer ${await adminToken(env)}`;
    const created = await fetch(`${apiUrl}/v1/subscriptions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization },
      body: JSON.stringify({ target: 'products/p9', url: receiver.url }),
    });
    assert.equal(created.status, 201);
    const written = await fetch(`${apiUrl}/v1/records/products/p9`, { method: 'PUT', headers: { 'content-type': 'application/json', authorization }, body: '{"name":"Clock"}' });
    assert.equal(written.status, 201);
    const { eventId } = (await written.json()) as { eventId: string };

    // The worker bundles its workflows first, which takes a few seconds.
    await eventually(
      'the webhook',
      async () => {
        worker.assertRunning();
        return receiver.requests.length > 0 ? true : undefined;
      },
      60_000,
    );
    const attemptSpan = await eventually('the attempt span at the collector', async () =>
      collector.jsonSpans().find((span) => span.name === 'RunActivity:attemptDelivery' && span.attributes['doorbell.event_id'] === eventId),
    );

    const apiSpan = collector.jsonSpans().find((span) => span.name === 'PUT /v1/records/:kind/:id');
    assert.ok(apiSpan !== undefined, 'no API span for the write arrived');
    assert.equal(apiSpan.service, 'doorbell-api');
    assert.equal(attemptSpan.service, 'doorbell-worker');
    assert.equal(attemptSpan.traceId, apiSpan.traceId);
    assert.equal(attemptSpan.attributes['http.response.status_code'], 204);

    const exports = collector.requests.filter((request) => request.contentType === 'application/json');
    assert.ok(exports.every((request) => request.path === '/v1/traces'), 'an export went to another path than /v1/traces');
  });

  test('default protocol sends protobuf', async () => {
    // An empty variable counts as unset.
    const env = processEnv('http/json');
    env.OTEL_EXPORTER_OTLP_PROTOCOL = '';
    const apiUrl = await startApi(env);

    const response = await fetch(`${apiUrl}/healthz`);
    assert.equal(response.status, 200);

    const protobufExport = await eventually('a protobuf export', async () =>
      collector.requests.find((request) => request.contentType === 'application/x-protobuf'),
    );
    assert.equal(protobufExport.path, '/v1/traces');
    assert.ok(protobufExport.body.length > 0, 'the protobuf export is empty');
    // The span name travels as a plain UTF-8 string inside the protobuf message.
    assert.ok(protobufExport.body.includes('GET /healthz'), 'the protobuf export does not contain the /healthz span');
  });
});
