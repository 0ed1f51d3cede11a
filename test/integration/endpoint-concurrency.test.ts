import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { Stack } from '../support/stack.js';
import { TestReceiver, eventually } from '../support/receiver.js';

const MAX_PER_ENDPOINT = 2;
const ACTIVITY_SLOTS = 4;
const SLOW_EVENTS = 8;
const FAST_EVENTS = 4;

/**
 * A receiver that keeps every request open until `release()` and counts how many are open at
 * once. After the release it responds 204 at once, still counting.
 */
class HangingReceiver {
  readonly webhookIds: string[] = [];
  inFlight = 0;
  maxInFlight = 0;
  private isReleased = false;
  private held: ServerResponse[] = [];
  private server: Server | undefined;

  async start(): Promise<this> {
    this.server = createServer((req: IncomingMessage, res: ServerResponse) => {
      req.resume();
      req.on('end', () => {
        this.webhookIds.push(String(req.headers['webhook-id']));
        this.inFlight++;
        this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
        res.on('close', () => this.inFlight--);
        if (this.isReleased) {
          res.writeHead(204).end();
        } else {
          this.held.push(res);
        }
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return this;
  }

  get url(): string {
    const address = this.server!.address();
    assert.ok(typeof address === 'object');
    assert.ok(address !== null);
    return `http://127.0.0.1:${address.port}/slow`;
  }

  release(): void {
    this.isReleased = true;
    for (const res of this.held.splice(0)) {
      res.writeHead(204).end();
    }
  }

  async stop(): Promise<void> {
    this.release();
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server === undefined ? resolve() : this.server.close(() => resolve())));
  }
}

describe('per-endpoint concurrency cap', () => {
  let stack: Stack;
  let slow: HangingReceiver;
  let fast: TestReceiver;

  before(async () => {
    // Attempts to the slow origin would hold a slot for up to a minute without the cap.
    stack = await Stack.start(
      { DELIVERY_MAX_CONCURRENT_PER_ENDPOINT: String(MAX_PER_ENDPOINT), DELIVERY_ATTEMPT_TIMEOUT_MS: '60000' },
      { maxConcurrentActivityTaskExecutions: ACTIVITY_SLOTS },
    );
    slow = await new HangingReceiver().start();
    fast = await new TestReceiver().start();
  });

  after(async () => {
    await slow.stop();
    await fast.stop();
    await stack.stop();
  });

  test('hanging endpoint leaves slots for others', async () => {
    const slowSubscription = await stack.request('POST', '/v1/subscriptions', { target: 'slow/*', url: slow.url });
    const fastSubscription = await stack.request('POST', '/v1/subscriptions', { target: 'fast/*', url: fast.url });
    assert.equal(slowSubscription.status, 201);
    assert.equal(fastSubscription.status, 201);

    for (let index = 1; index <= SLOW_EVENTS; index++) {
      assert.equal((await stack.request('PUT', `/v1/records/slow/s${index}`, { index })).status, 201);
    }
    await eventually('the slow receiver to hold the maximum of requests', async () => (slow.inFlight === MAX_PER_ENDPOINT ? true : undefined));

    for (let index = 1; index <= FAST_EVENTS; index++) {
      assert.equal((await stack.request('PUT', `/v1/records/fast/f${index}`, { index })).status, 201);
    }
    await fast.waitForRequests(FAST_EVENTS, 30_000);

    // Every fast webhook arrived while the slow receiver still held its first requests unanswered.
    assert.equal(slow.inFlight, MAX_PER_ENDPOINT);
    assert.equal(slow.webhookIds.length, MAX_PER_ENDPOINT);
    assert.ok(slow.maxInFlight <= MAX_PER_ENDPOINT, `slow receiver held ${slow.maxInFlight} requests at once`);

    slow.release();
    const delivered = await eventually(
      'every slow delivery to succeed',
      async () => {
        const listed = await stack.request('GET', `/v1/deliveries?subscriptionId=${slowSubscription.body.id}&status=succeeded`);
        return listed.body.data.length === SLOW_EVENTS ? (listed.body.data as Array<{ id: string; attemptCount: number }>) : undefined;
      },
      120_000,
    );

    assert.ok(slow.maxInFlight <= MAX_PER_ENDPOINT, `slow receiver held ${slow.maxInFlight} requests at once`);
    assert.equal(slow.webhookIds.length, SLOW_EVENTS);
    assert.deepEqual([...slow.webhookIds].sort(), delivered.map((delivery) => delivery.id).sort());
    // A deferral is not an attempt: each delivery was sent once and counted once.
    assert.deepEqual(delivered.map((delivery) => delivery.attemptCount), Array(SLOW_EVENTS).fill(1));
  });
});
