import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { buildWebhookBody } from '../../src/domain/payload.js';
import type { EventDocument } from '../../src/store/documents.js';

// Unusual spacing, key order, an escape sequence and an integer beyond 2^53: a parse and
// re-serialize round trip would change every one of them.
const RECORD_JSON = '{ "price" :25,"name":"Kettle \\u00e9",  "sku":12345678901234567890,"tags":[ "a" ,"b"] }';

function event(overrides: Partial<EventDocument> = {}): EventDocument {
  return {
    _id: 'evt_01J00000000000000000000000',
    type: 'record.updated',
    kind: 'products',
    recordId: 'p21',
    version: 3,
    dataJson: RECORD_JSON,
    createdAt: new Date('2025-03-04T05:06:07.089Z'),
    recordCreatedAt: new Date('2025-03-01T00:00:00.000Z'),
    dispatchedAt: null,
    ...overrides,
  };
}

describe('buildWebhookBody', () => {
  test('body is valid JSON', () => {
    assert.doesNotThrow(() => JSON.parse(buildWebhookBody(event())));
  });

  test('body carries type and timestamp', () => {
    const body = JSON.parse(buildWebhookBody(event()));

    assert.equal(body.type, 'record.updated');
    assert.equal(body.timestamp, '2025-03-04T05:06:07.089Z');
  });

  test('data carries kind, id, version and eventId', () => {
    const { data } = JSON.parse(buildWebhookBody(event()));

    assert.equal(data.kind, 'products');
    assert.equal(data.id, 'p21');
    assert.equal(data.version, 3);
    assert.equal(data.eventId, 'evt_01J00000000000000000000000');
  });

  test('data carries the record', () => {
    const { data } = JSON.parse(buildWebhookBody(event({ dataJson: '{"name":"Kettle","price":25}' })));

    assert.deepEqual(data.record, { name: 'Kettle', price: 25 });
  });

  test('body has only type, timestamp and data', () => {
    const body = JSON.parse(buildWebhookBody(event()));

    assert.deepEqual(Object.keys(body), ['type', 'timestamp', 'data']);
    assert.deepEqual(Object.keys(body.data), ['kind', 'id', 'version', 'eventId', 'record']);
  });

  test('body keeps the record bytes', () => {
    const body = buildWebhookBody(event());

    assert.ok(body.endsWith(`,"record":${RECORD_JSON}}}`), body);
  });

  test('same event gives the same bytes', () => {
    assert.equal(buildWebhookBody(event()), buildWebhookBody(event()));
  });

  test('different version gives different bytes', () => {
    assert.notEqual(buildWebhookBody(event({ version: 3 })), buildWebhookBody(event({ version: 4 })));
  });

  test('created event has the created type', () => {
    const body = JSON.parse(buildWebhookBody(event({ type: 'record.created', version: 1 })));

    assert.equal(body.type, 'record.created');
  });

  test('empty record object stays an object', () => {
    const { data } = JSON.parse(buildWebhookBody(event({ dataJson: '{}' })));

    assert.deepEqual(data.record, {});
  });
});
