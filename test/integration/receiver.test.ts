import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, type RequestListener, type Server } from 'node:http';
import { after, before, describe, test } from 'node:test';
import express from 'express';
import { MongoClient, type Db } from 'mongodb';
import { Webhook } from 'standardwebhooks';
// The package entry, resolved through the `exports` field of package.json.
import { MongoDuplicateStore, nodeWebhookHandler, webhookHandler, type DuplicateStore, type WebhookEvent } from 'doorbell/receiver';
import { generateSigningSecret } from '../../src/domain/secrets.js';
import { testServers } from '../support/env.js';
import { eventually } from '../support/receiver.js';

const SECRET = generateSigningSecret();

function bodyFor(version: number): string {
  return JSON.stringify({
    type: 'record.updated',
    timestamp: new Date().toISOString(),
    data: { kind: 'products', id: 'p1', version, eventId: 'evt_1', record: { name: 'Kettle' } },
  });
}

function signedRequest(webhookId: string, body: string, options: { secret?: string; timestamp?: Date } = {}): RequestInit {
  const timestamp = options.timestamp ?? new Date();
  return {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'webhook-id': webhookId,
      'webhook-timestamp': String(Math.floor(timestamp.getTime() / 1000)),
      'webhook-signature': new Webhook(options.secret ?? SECRET).sign(webhookId, timestamp, body),
    },
    body,
  };
}

async function listen(handler: RequestListener): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  assert.ok(typeof address === 'object');
  assert.ok(address !== null);
  return {
    url: `http://127.0.0.1:${address.port}/hooks`,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const newWebhookId = (): string => `msg_${randomBytes(8).toString('hex')}`;

describe('receiver kit over real HTTP', () => {
  let mongo: MongoClient;
  let db: Db;

  before(async () => {
    mongo = await MongoClient.connect(testServers().mongoUri);
    db = mongo.db(`test_receiver_${randomBytes(6).toString('hex')}`);
  });

  after(async () => {
    await db.dropDatabase();
    await mongo.close();
  });

  /** Runs `check` against an Express receiver and a node:http one, each with its own store and handled events. */
  async function withBothServers(
    makeStore: () => DuplicateStore | undefined,
    onEvent: (event: WebhookEvent) => Promise<void> | void,
    check: (url: string, label: string) => Promise<void>,
  ): Promise<void> {
    const app = express();
    const expressStore = makeStore();
    app.post('/hooks', ...webhookHandler({ secret: SECRET, onEvent, ...(expressStore === undefined ? {} : { duplicates: expressStore }) }));
    // The application's JSON parser comes after the webhook route, as the README shows.
    app.use(express.json());
    app.use(((_error, _req, res, _next) => void res.status(500).end()) as express.ErrorRequestHandler);
    const nodeStore = makeStore();

    const servers = [
      { label: 'express', server: await listen(app) },
      { label: 'node:http', server: await listen(nodeWebhookHandler({ secret: SECRET, onEvent, ...(nodeStore === undefined ? {} : { duplicates: nodeStore }) })) },
    ];
    try {
      for (const { label, server } of servers) {
        await check(server.url, label);
      }
    } finally {
      for (const { server } of servers) {
        await server.close();
      }
    }
  }

  test('valid webhook reaches the handler', async () => {
    const handled: WebhookEvent[] = [];
    await withBothServers(
      () => undefined,
      (event) => void handled.push(event),
      async (url, label) => {
        const response = await fetch(url, signedRequest(newWebhookId(), bodyFor(3)));
        assert.equal(response.status, 204, label);
      },
    );

    assert.equal(handled.length, 2);
    assert.equal(handled[0]!.data.version, 3);
  });

  test('bad signature gets 401', async () => {
    let calls = 0;
    await withBothServers(
      () => undefined,
      () => void calls++,
      async (url, label) => {
        const response = await fetch(url, signedRequest(newWebhookId(), bodyFor(1), { secret: generateSigningSecret() }));
        assert.equal(response.status, 401, label);
      },
    );

    assert.equal(calls, 0);
  });

  test('stale timestamp gets 400', async () => {
    let calls = 0;
    await withBothServers(
      () => undefined,
      () => void calls++,
      async (url, label) => {
        const response = await fetch(url, signedRequest(newWebhookId(), bodyFor(1), { timestamp: new Date(Date.now() - 10 * 60 * 1000) }));
        assert.equal(response.status, 400, label);
        assert.match(await response.text(), /outside the tolerance/, label);
      },
    );

    assert.equal(calls, 0);
  });

  test('repeated webhook-id is handled once', async () => {
    let calls = 0;
    await withBothServers(
      () => MongoDuplicateStore.in(db, { collectionName: `ids_${randomBytes(4).toString('hex')}` }),
      () => void calls++,
      async (url, label) => {
        const webhookId = newWebhookId();
        const body = bodyFor(1);
        assert.equal((await fetch(url, signedRequest(webhookId, body))).status, 204, label);
        // Doorbell signs every attempt again, so the repeat has a new signature over the same id and body.
        assert.equal((await fetch(url, signedRequest(webhookId, body))).status, 204, label);
      },
    );

    assert.equal(calls, 2);
  });

  test('concurrent copies run the handler once', async () => {
    let calls = 0;
    let gate: Promise<void> = Promise.resolve();
    let openGate = (): void => {};
    await withBothServers(
      () => MongoDuplicateStore.in(db, { collectionName: `ids_${randomBytes(4).toString('hex')}` }),
      async () => {
        calls++;
        // The first copy keeps its claim until the other copies have their responses.
        await gate;
      },
      async (url, label) => {
        gate = new Promise<void>((resolve) => (openGate = resolve));
        const webhookId = newWebhookId();
        const body = bodyFor(1);
        const answered: Response[] = [];
        const requests = Array.from({ length: 5 }, () => fetch(url, signedRequest(webhookId, body)).then((response) => (answered.push(response), response)));
        await eventually('responses to four copies', async () => (answered.length >= 4 ? true : undefined));
        openGate();
        const responses = await Promise.all(requests);

        const statuses = responses.map((response) => response.status).sort();
        assert.deepEqual(statuses, [204, 409, 409, 409, 409], label);
        assert.equal(responses.find((response) => response.status === 409)!.headers.get('retry-after'), '5', label);
        // Doorbell retries the 409s later, and they find the id handled.
        assert.equal((await fetch(url, signedRequest(webhookId, body))).status, 204, label);
      },
    );

    assert.equal(calls, 2);
  });

  test('failed handler runs again on retry', async () => {
    const attemptsById = new Map<string, number>();
    await withBothServers(
      () => MongoDuplicateStore.in(db, { collectionName: `ids_${randomBytes(4).toString('hex')}` }),
      (event) => {
        const attempts = (attemptsById.get(event.timestamp) ?? 0) + 1;
        attemptsById.set(event.timestamp, attempts);
        if (attempts === 1) {
          throw new Error('application database unavailable');
        }
      },
      async (url, label) => {
        const webhookId = newWebhookId();
        const body = bodyFor(1);
        assert.equal((await fetch(url, signedRequest(webhookId, body))).status, 500, label);
        assert.equal((await fetch(url, signedRequest(webhookId, body))).status, 204, label);
        assert.equal((await fetch(url, signedRequest(webhookId, body))).status, 204, label);
        assert.equal(attemptsById.get(JSON.parse(body).timestamp), 2, label);
      },
    );
  });

  test('node handler rejects an oversized body with 413', async () => {
    const server = await listen(nodeWebhookHandler({ secret: SECRET, onEvent: () => {}, maxBodyBytes: 64 }));
    try {
      const response = await fetch(server.url, signedRequest(newWebhookId(), bodyFor(1)));
      assert.equal(response.status, 413);
    } finally {
      await server.close();
    }
  });
});

describe('MongoDuplicateStore on the MongoDB-compatible server', () => {
  let mongo: MongoClient;
  let db: Db;

  before(async () => {
    mongo = await MongoClient.connect(testServers().mongoUri);
    db = mongo.db(`test_duplicates_${randomBytes(6).toString('hex')}`);
  });

  after(async () => {
    await db.dropDatabase();
    await mongo.close();
  });

  const storeWith = (options: { ttlMs?: number; claimTtlMs?: number } = {}): MongoDuplicateStore =>
    MongoDuplicateStore.in(db, { collectionName: `ids_${randomBytes(4).toString('hex')}`, ...options });

  test('claim, complete and release', async () => {
    const store = storeWith();

    assert.equal(await store.claim('msg_1'), 'claimed');
    assert.equal(await store.claim('msg_1'), 'in-progress');
    await store.release('msg_1');
    assert.equal(await store.claim('msg_1'), 'claimed');
    await store.complete('msg_1');
    assert.equal(await store.claim('msg_1'), 'handled');
  });

  test('concurrent claims have one winner', async () => {
    const store = storeWith();

    const results = await Promise.all(Array.from({ length: 8 }, () => store.claim('msg_race')));

    assert.equal(results.filter((result) => result === 'claimed').length, 1);
    assert.equal(results.filter((result) => result === 'in-progress').length, 7);
  });

  test('expired entries are claimed again', async () => {
    const store = storeWith({ ttlMs: 1, claimTtlMs: 1 });
    await store.claim('msg_abandoned');
    await store.claim('msg_old');
    await store.complete('msg_old');
    await new Promise((resolve) => setTimeout(resolve, 20));

    assert.equal(await store.claim('msg_abandoned'), 'claimed');
    assert.equal(await store.claim('msg_old'), 'claimed');
  });

  test('deleteExpired removes only expired entries', async () => {
    const store = storeWith({ ttlMs: 1 });
    await store.complete('msg_expired');
    await new Promise((resolve) => setTimeout(resolve, 20));
    await store.claim('msg_live');

    assert.equal(await store.deleteExpired(), 1);
    assert.equal(await store.collection.countDocuments(), 1);
  });

  test('ensureIndexes reports the TTL index', async () => {
    const store = storeWith();
    await store.claim('msg_1');
    const created = await store.ensureIndexes();

    const indexes = await store.collection.listIndexes().toArray();
    const ttl = indexes.find((index) => index.name === 'expiresAt_ttl');
    // FerretDB 1.24 rejects TTL indexes as not implemented, and MongoDB creates one.
    assert.equal(created, ttl !== undefined);
    assert.equal(await store.claim('msg_1'), 'in-progress');
  });
});
