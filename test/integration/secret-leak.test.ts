import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { BSON } from 'mongodb';
import { Stack, type ApiResponse } from '../support/stack.js';
import { TestReceiver, eventually } from '../support/receiver.js';

const GIVEN_SECRET = 'whsec_' + Buffer.from('leak-test-given-secret-0123456789ab').toString('base64');
const ROTATED_SECRET = 'whsec_' + Buffer.from('leak-test-rotated-secret-0123456789').toString('base64');
const HEADER_TOKEN = 'rcv-leak-token-7f3a9c2e51d8';

/** Collects the JSON log lines of the API and the worker. */
class LogCapture extends Writable {
  readonly lines: string[] = [];

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: () => void): void {
    this.lines.push(...chunk.toString('utf8').split('\n').filter((line) => line !== ''));
    done();
  }
}

/** Returns the text forms a secret could leak in: as given, its base64 key part, and that key as hex and base64url. */
function formsOfSecret(secret: string): string[] {
  const encoded = secret.slice(secret.indexOf('_') + 1);
  const bytes = Buffer.from(encoded, 'base64');
  return [secret, encoded, bytes.toString('hex'), bytes.toString('base64url')];
}

/** Returns the forms of a `whsk_` private key: as stored, its base64 part, and its 32-byte seed in base64, base64url (a JWK `d`) and hex. */
function formsOfPrivateKey(privateKey: string): string[] {
  const seed = Buffer.from(privateKey.slice('whsk_'.length), 'base64').subarray(0, 32);
  return [...formsOfSecret(privateKey), seed.toString('base64'), seed.toString('base64url'), seed.toString('hex')];
}

const BASE64_TEXT = /^(?:[A-Za-z0-9+/]{4})+(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * Serializes Temporal history and descriptions so that payloads are searched decoded. fetchHistory
 * returns payload bytes as base64 strings, and describe() may return byte arrays, so each of
 * those is written both as it is and as UTF-8 text.
 */
function serializeDecoded(value: unknown): string {
  return JSON.stringify(value, (_key, item: unknown) => {
    if (item instanceof Uint8Array) {
      const bytes = Buffer.from(item);
      return { utf8: bytes.toString('utf8'), base64: bytes.toString('base64') };
    }
    if (typeof item === 'string' && BASE64_TEXT.test(item)) {
      return `${item} decoded: ${Buffer.from(item, 'base64').toString('utf8')}`;
    }
    if (typeof item === 'bigint') {
      return item.toString();
    }
    return item;
  });
}

describe('no secret leaks after a full scenario', () => {
  const logs = new LogCapture();
  const responsesAfterCreation: string[] = [];
  const createdSecrets: string[] = [];
  let stack: Stack;
  let receiver: TestReceiver;

  before(async () => {
    stack = await Stack.start({ LOG_LEVEL: 'debug' }, { logDestination: logs });
    receiver = await new TestReceiver().start();
  });

  after(async () => {
    await receiver.stop();
    await stack.stop();
  });

  /** Sends a request and records its response, except the creation and rotation responses whose job is to return a secret once. */
  async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<ApiResponse> {
    const response = await stack.request(method, path, body, headers);
    const returnsSecretOnce = (method === 'POST' && path === '/v1/subscriptions' && response.status === 201) || path.endsWith('/secret/rotate');
    if (returnsSecretOnce) {
      createdSecrets.push(String(response.body?.secret));
    } else {
      responsesAfterCreation.push(`${response.status} ${JSON.stringify([...response.headers])} ${JSON.stringify(response.body)}`);
    }
    return response;
  }

  test('no secret in any output', async () => {
    // Subscriptions with a given secret and a custom header, a generated secret, and ed25519.
    const withHeader = await call('POST', '/v1/subscriptions', { target: 'leak/*', url: `${receiver.url}/a`, secret: GIVEN_SECRET, headers: { Authorization: `Bearer ${HEADER_TOKEN}` } }, { 'idempotency-key': 'leak-create-1' });
    const generated = await call('POST', '/v1/subscriptions', { target: 'leak/*', url: `${receiver.url}/fail`, retryWindowDays: 0.00002 });
    const ed25519 = await call('POST', '/v1/subscriptions', { target: 'leak/*', url: `${receiver.url}/ed`, signature: { scheme: 'v1a' } });
    for (const created of [withHeader, generated, ed25519]) {
      assert.equal(created.status, 201, JSON.stringify(created.body));
    }
    const generatedSecret = generated.body.secret as string;

    // Rotations of each kind: a given secret, a generated one, and a new key pair.
    assert.equal((await call('POST', `/v1/subscriptions/${withHeader.body.id}/secret/rotate`, { secret: ROTATED_SECRET })).status, 200);
    const rotatedGenerated = await call('POST', `/v1/subscriptions/${generated.body.id}/secret/rotate`, { gracePeriodSeconds: 3600 });
    assert.equal(rotatedGenerated.status, 200);
    assert.equal((await call('POST', `/v1/subscriptions/${ed25519.body.id}/secret/rotate`)).status, 200);

    // Deliveries that succeed, and one to /fail that fails, gives up, and is redelivered.
    receiver.respond = (request) => (request.url.endsWith('/fail') ? { status: 500, body: 'receiver error' } : { status: 200, body: 'ok' });
    assert.equal((await call('PUT', '/v1/records/leak/r1', { n: 1 })).status, 201);
    const failed = await eventually('the delivery to /fail to give up', async () => {
      const listed = await call('GET', `/v1/deliveries?subscriptionId=${generated.body.id}&status=failed`);
      return listed.body.data[0] as { id: string } | undefined;
    });
    receiver.respond = () => ({ status: 200, body: 'ok' });
    // The status reads failed a moment before the delivery's workflow closes, and redeliver
    // responds 409 until it has.
    await eventually('the redelivery to be accepted', async () => ((await call('POST', `/v1/deliveries/${failed.id}/redeliver`)).status === 202 ? true : undefined));
    assert.equal((await call('PUT', '/v1/records/leak/r1', { n: 2 })).status, 200);

    await eventually('every delivery to succeed', async () => {
      const listed = await call('GET', '/v1/deliveries?status=succeeded');
      return listed.body.data.length === 6 ? true : undefined;
    }, 60_000);
    for (const subscription of [withHeader, generated, ed25519]) {
      assert.equal((await call('GET', `/v1/subscriptions/${subscription.body.id}`)).status, 200);
      const deliveries = await call('GET', `/v1/deliveries?subscriptionId=${subscription.body.id}`);
      for (const delivery of deliveries.body.data as Array<{ id: string }>) {
        await call('GET', `/v1/deliveries/${delivery.id}`);
      }
    }
    await call('GET', '/v1/subscriptions');
    await call('GET', '/openapi.json');

    // The header token reached the receiver, so searching for it below is meaningful.
    assert.ok(receiver.requests.some((request) => request.headers.authorization === `Bearer ${HEADER_TOKEN}`));

    // Private keys never leave Doorbell, so read them back from MongoDB with the test's encryption key.
    const stored = await stack.services.store.subscriptions.findOne({ _id: ed25519.body.id });
    assert.ok(stored?.previousKey);
    const privateKeys = [stack.services.secretBox.decrypt(stored.secretCiphertext, stored._id), stack.services.secretBox.decrypt(stored.previousKey.ciphertext, stored._id)];
    assert.ok(privateKeys.every((key) => key.startsWith('whsk_')));

    const needles = new Map<string, string>();
    for (const [label, secret] of [['given secret', GIVEN_SECRET], ['rotated secret', ROTATED_SECRET], ['generated secret', generatedSecret], ['generated rotated secret', rotatedGenerated.body.secret as string]] as const) {
      formsOfSecret(secret).forEach((form, index) => needles.set(form, `${label} (form ${index})`));
    }
    privateKeys.forEach((key, keyIndex) => formsOfPrivateKey(key).forEach((form, index) => needles.set(form, `private key ${keyIndex} (form ${index})`)));
    needles.set(HEADER_TOKEN, 'header token');
    needles.set(stack.config.encryptionKey.toString('base64'), 'encryption key');

    // The creation and rotation responses did carry the v1 secrets, which shows the needles match real values.
    for (const secret of [GIVEN_SECRET, ROTATED_SECRET, generatedSecret]) {
      assert.ok(createdSecrets.includes(secret));
    }

    // Temporal: history, memo and search attributes of every dispatch and delivery workflow.
    const client = stack.services.temporal.client;
    const workflowIds = new Set<string>();
    for (const delivery of await stack.services.store.deliveries.find().toArray()) {
      workflowIds.add(delivery.workflowId);
      workflowIds.add(`dispatch:${delivery.eventId}`);
    }
    const temporalDumps: string[] = [];
    for (const workflowId of workflowIds) {
      const handle = client.workflow.getHandle(workflowId);
      const [history, description] = await Promise.all([handle.fetchHistory(), handle.describe()]);
      temporalDumps.push(serializeDecoded(history), serializeDecoded({ memo: description.memo, searchAttributes: description.searchAttributes, typedSearchAttributes: description.typedSearchAttributes, raw: description.raw }));
    }
    assert.ok(temporalDumps.length >= 8, `expected the histories of every workflow, got ${temporalDumps.length}`);
    assert.ok(temporalDumps.some((dump) => dump.includes(`\\"deliveryId\\":\\"${failed.id}\\"`)), 'activity inputs are searched as decoded JSON');

    // MongoDB: every document of every collection, in extended JSON.
    const mongoDumps: string[] = [];
    for (const { name } of await stack.services.store.db.listCollections().toArray()) {
      const documents = await stack.services.store.db.collection(name).find().toArray();
      mongoDumps.push(`${name}: ${BSON.EJSON.stringify(documents)}`);
    }
    assert.ok(mongoDumps.some((dump) => dump.includes('bodyCiphertext')), 'the stored idempotent creation response is part of the dump');

    assert.ok(logs.lines.length > 20, `expected the API's and worker's log lines, got ${logs.lines.length}`);
    assert.ok(logs.lines.some((line) => line.includes('Webhook delivered')), 'worker activity lines are captured');

    const sources: Array<[string, string[]]> = [
      ['log lines', logs.lines],
      ['API responses after creation', responsesAfterCreation],
      ['Temporal histories, memos and search attributes', temporalDumps],
      ['MongoDB collections', mongoDumps],
    ];
    for (const [source, texts] of sources) {
      for (const [needle, label] of needles) {
        const leak = texts.find((text) => text.includes(needle));
        assert.equal(leak, undefined, `${label} appears in ${source}`);
      }
    }
  });
});
