import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { Stack } from '../support/stack.js';
import { TestReceiver, eventually } from '../support/receiver.js';

/** Bytes the endless receiver writes per chunk. */
const CHUNK = Buffer.alloc(16 * 1024, 'x');

/**
 * A receiver that responds 200 and then writes its body forever, until the sender closes the
 * connection. It counts the bytes it managed to write.
 */
class EndlessReceiver {
  bytesWritten = 0;
  closedBySender = false;
  private readonly server: Server = createServer((req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'text/plain' });
    const write = (): void => {
      if (res.destroyed) {
        return;
      }
      this.bytesWritten += CHUNK.length;
      if (res.write(CHUNK)) {
        setImmediate(write);
      } else {
        res.once('drain', write);
      }
    };
    res.once('close', () => {
      this.closedBySender = true;
    });
    write();
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

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

describe('limits on what a receiver can make Doorbell do', () => {
  let stack: Stack;

  before(async () => {
    // Attempts time out after 3 s here, so a body read to its end would fail the attempt.
    stack = await Stack.start();
  });

  after(async () => {
    await stack.stop();
  });

  async function onlyDelivery(subscriptionId: string, status: string) {
    return eventually(
      `a delivery with status ${status}`,
      async () => {
        const listed = await stack.request('GET', `/v1/deliveries?subscriptionId=${subscriptionId}`);
        const [delivery] = listed.body.data as Array<{ id: string; status: string }>;
        if (delivery?.status !== status) {
          return undefined;
        }
        return (await stack.request('GET', `/v1/deliveries/${delivery.id}`)).body;
      },
      30_000,
    );
  }

  test('endless response body is cut off, and the attempt counts its status', async () => {
    const receiver = await new EndlessReceiver().start();
    try {
      const subscription = await stack.request('POST', '/v1/subscriptions', { target: 'limits/endless', url: receiver.url });
      assert.equal(subscription.status, 201);
      assert.equal((await stack.request('PUT', '/v1/records/limits/endless', { n: 1 })).status, 201);

      const delivery = await onlyDelivery(subscription.body.id, 'succeeded');
      assert.equal(delivery.attempts.length, 1);
      assert.equal(delivery.attempts[0].statusCode, 200);
      assert.equal(delivery.attempts[0].responseBody.length, 1024);
      await eventually('the sender to close the connection', async () => (receiver.closedBySender ? true : undefined));
      assert.ok(receiver.bytesWritten >= 64 * 1024, `only ${receiver.bytesWritten} bytes were written`);
    } finally {
      await receiver.stop();
    }
  });

  test('redirect is not followed and counts as a failed attempt', async () => {
    const target = await new TestReceiver().start();
    const redirecting = await new TestReceiver().start();
    redirecting.respond = () => ({ status: 307, headers: { location: target.url } });
    try {
      const subscription = await stack.request('POST', '/v1/subscriptions', { target: 'limits/redirect', url: redirecting.url, retryWindowDays: 1 });
      assert.equal(subscription.status, 201);
      assert.equal((await stack.request('PUT', '/v1/records/limits/redirect', { n: 1 })).status, 201);

      const delivery = await onlyDelivery(subscription.body.id, 'retrying');
      assert.equal(delivery.attempts[0].statusCode, 307);
      assert.equal(redirecting.requests.length, 1);
      assert.equal(target.requests.length, 0);
    } finally {
      await redirecting.stop();
      await target.stop();
    }
  });
});
