import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Config } from '../../src/config.js';
import { Stack } from '../support/stack.js';
import { eventually } from '../support/receiver.js';
import { findFreePort } from '../../scripts/lib/local-servers.js';

/** A Doorbell process (API or worker) started from its entry point, with its JSON log lines collected. */
class DoorbellProcess {
  readonly logs: Array<{ msg?: string; [field: string]: unknown }> = [];
  private stderr = '';
  readonly exited: Promise<[number | null, NodeJS.Signals | null]>;

  constructor(private readonly child: ChildProcess) {
    let pending = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      pending += chunk.toString('utf8');
      const lines = pending.split('\n');
      pending = lines.pop()!;
      for (const line of lines.filter((text) => text.startsWith('{'))) {
        this.logs.push(JSON.parse(line) as { msg?: string });
      }
    });
    child.stderr!.on('data', (chunk: Buffer) => (this.stderr += chunk.toString('utf8')));
    this.exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  }

  static start(entry: string, config: Config, env: Record<string, string>): DoorbellProcess {
    const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL(`../../src/${entry}`, import.meta.url))], {
      env: {
        ...process.env,
        NODE_ENV: 'test',
        LOG_LEVEL: 'info',
        LOG_PRETTY: 'false',
        MONGODB_URI: config.mongo.uri,
        MONGODB_DATABASE: config.mongo.database,
        TEMPORAL_ADDRESS: config.temporal.address,
        TEMPORAL_TASK_QUEUE: config.temporal.taskQueue,
        DOORBELL_ENCRYPTION_KEY: config.encryptionKey.toString('base64'),
        WORKER_METRICS_PORT: '0',
        WORKER_SDK_METRICS_PORT: '0',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return new DoorbellProcess(child);
  }

  async waitForLog(message: string, timeoutMs = 60_000): Promise<void> {
    await eventually(
      `log line "${message}"`,
      async () => {
        assert.equal(this.child.exitCode, null, `process exited early: ${this.stderr}`);
        return this.messages().some((msg) => msg.startsWith(message)) ? true : undefined;
      },
      timeoutMs,
    );
  }

  messages(): string[] {
    return this.logs.map((line) => line.msg ?? '');
  }

  signal(name: NodeJS.Signals): void {
    this.child.kill(name);
  }

  kill(): void {
    if (this.child.exitCode === null) {
      this.child.kill('SIGKILL');
    }
  }

  describe(): string {
    return `logs: ${this.messages().join(' | ')}; stderr: ${this.stderr}`;
  }
}


/** A receiver that holds each webhook's response until the test releases it. */
class HoldingReceiver {
  readonly arrivals: string[] = [];
  private release: (() => void) | undefined;
  private readonly held = new Promise<void>((resolve) => (this.release = resolve));
  private readonly server: Server = createServer((req, res) => {
    this.arrivals.push(String(req.headers['webhook-id']));
    req.resume();
    void this.held.then(() => res.writeHead(200).end('ok'));
  });

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return this;
  }

  get url(): string {
    const address = this.server.address();
    assert.ok(typeof address === 'object');
  assert.ok(address !== null);
    return `http://127.0.0.1:${address.port}/hooks`;
  }

  respond(): void {
    this.release!();
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

describe('graceful shutdown', () => {
  let stack: Stack;

  before(async () => {
    stack = await Stack.start();
    // The worker under test runs as its own process; this one would compete for its tasks.
    await stack.stopWorker();
  });

  after(async () => {
    await stack.stop();
  });

  test('worker on SIGTERM lets the running attempt finish and record its response', async () => {
    const receiver = await new HoldingReceiver().start();
    const worker = DoorbellProcess.start('worker.ts', stack.config, { SHUTDOWN_GRACE_MS: '20000', DELIVERY_ATTEMPT_TIMEOUT_MS: '15000' });
    try {
      await worker.waitForLog('Worker started');
      const subscription = await stack.request('POST', '/v1/subscriptions', { target: 'orders/o1', url: receiver.url });
      assert.equal(subscription.status, 201);
      assert.equal((await stack.request('PUT', '/v1/records/orders/o1', { total: 12 })).status, 201);

      await eventually('the webhook at the receiver', async () => (receiver.arrivals.length > 0 ? true : undefined), 60_000);
      worker.signal('SIGTERM');
      await worker.waitForLog('Worker stopping');
      // The worker is now shutting down with the attempt still waiting for its response.
      assert.equal(worker.messages().includes('Worker stopped'), false, 'the worker stopped before its running attempt ended');
      receiver.respond();

      const [code, signal] = await worker.exited;
      assert.equal(signal, null, worker.describe());
      assert.equal(code, 0, worker.describe());
      const order = ['Worker stopping', 'Worker drained', 'Worker stopped'].map((message) => worker.messages().findIndex((msg) => msg.startsWith(message)));
      assert.ok(order.every((index, position) => index >= 0 && (position === 0 || index > order[position - 1]!)), worker.describe());

      // A worker that comes back finds the attempt finished: the delivery succeeded on that one request.
      await stack.startWorker();
      const deliveries = await eventually(
        'the delivery to succeed',
        async () => {
          const list = await stack.request('GET', `/v1/deliveries?subscriptionId=${subscription.body.id}`);
          return list.body.data.every((delivery: { status: string }) => delivery.status === 'succeeded') && list.body.data.length === 1 ? list.body.data : undefined;
        },
        60_000,
      );
      assert.equal(deliveries[0].attemptCount, 1);
      assert.deepEqual(receiver.arrivals, [deliveries[0].id]);
    } finally {
      worker.kill();
      await stack.stopWorker();
      await receiver.stop();
    }
  });

  test('API on SIGTERM answers the request in flight and refuses new connections', async () => {
    const port = await findFreePort();
    const api = DoorbellProcess.start('api/main.ts', stack.config, { PORT: String(port), SHUTDOWN_GRACE_MS: '20000' });
    try {
      await api.waitForLog('API listening');

      // Send the headers and half the body, so the request is in flight when the signal arrives.
      const body = JSON.stringify({ note: 'written during shutdown' });
      const inFlight = httpRequest({
        host: '127.0.0.1',
        port,
        method: 'PUT',
        path: '/v1/records/notes/n1',
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), authorization: `Bearer ${stack.adminKey.token}` },
      });
      const response = once(inFlight, 'response') as Promise<[IncomingMessage]>;
      inFlight.write(body.slice(0, 10));
      await once(inFlight, 'socket');
      // Give the API's event loop a moment to accept the connection before the signal closes the listener.
      await new Promise((resolve) => setTimeout(resolve, 300));

      api.signal('SIGTERM');
      await api.waitForLog('API stopping');
      await assert.rejects(fetch(`http://127.0.0.1:${port}/healthz`), 'a new connection is refused while the API drains');

      inFlight.end(body.slice(10));
      const [answer] = await response;
      answer.resume();
      assert.equal(answer.statusCode, 201);
      assert.equal(answer.headers.connection, 'close');

      const [code, signal] = await api.exited;
      assert.equal(signal, null, api.describe());
      assert.equal(code, 0, api.describe());
      assert.ok(api.messages().includes('API stopped'), api.describe());
      const record = await stack.request('GET', '/v1/records/notes/n1');
      assert.equal(record.status, 200);
      assert.deepEqual(record.body.data, { note: 'written during shutdown' });
    } finally {
      api.kill();
    }
  });
});
