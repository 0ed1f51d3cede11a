import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { z } from 'zod';
import { callbackBody, createSubscriptionBody, endpointUrl, listDeliveriesQuery, recoverBody, replayBody, subscriptionTarget } from '../../src/api/schemas.js';
import { generateSigningSecret } from '../../src/domain/secrets.js';

/** Returns the issue messages of a failed parse, one per line. Fails the test when the parse succeeded. */
function rejection(result: z.ZodSafeParseResult<unknown>): string {
  assert.equal(result.success, false, `expected a rejection, got ${JSON.stringify(result.data)}`);
  return result.error!.issues.map((issue) => issue.message).join('\n');
}

describe('endpointUrl', () => {
  test('accepts https', () => {
    assert.equal(endpointUrl.parse('https://example.com/hooks'), 'https://example.com/hooks');
  });

  test('accepts http with a port', () => {
    assert.equal(endpointUrl.parse('http://127.0.0.1:8080/hooks?x=1'), 'http://127.0.0.1:8080/hooks?x=1');
  });

  test('rejects ftp and names the protocol', () => {
    assert.match(rejection(endpointUrl.safeParse('ftp://example.com/hooks')), /must use http or https, got ftp:/);
  });

  test('rejects other schemes', () => {
    for (const url of ['file:///etc/passwd', 'javascript:alert(1)', 'ws://example.com/', 'data:text/plain,hi']) {
      assert.equal(endpointUrl.safeParse(url).success, false, url);
    }
  });

  test('rejects username and password', () => {
    assert.match(rejection(endpointUrl.safeParse('https://user:pass@example.com/hooks')), /must not contain a username or password/);
  });

  test('rejects a username alone', () => {
    assert.match(rejection(endpointUrl.safeParse('https://user@example.com/hooks')), /must not contain a username or password/);
  });

  test('credential message omits the password', () => {
    assert.ok(!rejection(endpointUrl.safeParse('https://user:hunter2@example.com/hooks')).includes('hunter2'));
  });

  test('rejects a relative URL', () => {
    assert.match(rejection(endpointUrl.safeParse('/hooks')), /must be an absolute URL/);
  });

  test('rejects a bare host', () => {
    assert.match(rejection(endpointUrl.safeParse('example.com/hooks')), /must be an absolute URL/);
  });

  test('accepts exactly 2048 characters', () => {
    const prefix = 'https://example.com/';
    const url = prefix + 'a'.repeat(2048 - prefix.length);

    assert.equal(url.length, 2048);
    assert.equal(endpointUrl.safeParse(url).success, true);
  });

  test('rejects 2049 characters', () => {
    const prefix = 'https://example.com/';
    const url = prefix + 'a'.repeat(2049 - prefix.length);

    assert.match(rejection(endpointUrl.safeParse(url)), /must be at most 2048 characters/);
  });

  test('rejects a non-string', () => {
    assert.equal(endpointUrl.safeParse({ href: 'https://example.com/' }).success, false);
  });
});

describe('subscriptionTarget', () => {
  test('accepts kind/id', () => {
    assert.equal(subscriptionTarget.parse('products/p21'), 'products/p21');
  });

  test('accepts kind/*', () => {
    assert.equal(subscriptionTarget.parse('products/*'), 'products/*');
  });

  test('rejects bad forms', () => {
    const cases = ['', 'products', 'products/', '/p21', 'products/p21/extra', '*/p21', '*/*', 'products/p*', 'products/**', 'pro.ducts/p21', 'products/$p', 'products//p21', ' products/p21'];
    for (const target of cases) {
      assert.equal(subscriptionTarget.safeParse(target).success, false, JSON.stringify(target));
    }
  });

  test('message explains the form', () => {
    assert.match(rejection(subscriptionTarget.safeParse('products')), /must be "kind\/id", "kind\/\*" or "operational"/);
  });

  test('accepts the operational target', () => {
    assert.equal(subscriptionTarget.safeParse('operational').success, true);
  });
});

describe('callbackBody', () => {
  test('method defaults to POST', () => {
    assert.equal(callbackBody.parse({ url: 'https://example.com/hooks' }).method, 'POST');
  });

  test('accepts every documented field', () => {
    const parsed = callbackBody.parse({ url: 'https://example.com/hooks', method: 'PUT', secret: generateSigningSecret(), retryWindowDays: 7 });

    assert.equal(parsed.method, 'PUT');
    assert.equal(parsed.retryWindowDays, 7);
  });

  test('accepts a null retry window', () => {
    assert.equal(callbackBody.parse({ url: 'https://example.com/hooks', retryWindowDays: null }).retryWindowDays, null);
  });

  test('rejects an unknown field', () => {
    const result = callbackBody.safeParse({ url: 'https://example.com/hooks', headers: { authorization: 'x' } });

    assert.equal(result.success, false);
    assert.equal(result.error!.issues[0]!.code, 'unrecognized_keys');
  });

  test('rejects a missing url', () => {
    assert.equal(callbackBody.safeParse({ method: 'POST' }).success, false);
  });

  test('rejects GET', () => {
    assert.match(rejection(callbackBody.safeParse({ url: 'https://example.com/hooks', method: 'GET' })), /must be one of POST, PUT, PATCH/);
  });

  test('rejects an invalid secret without echoing it', () => {
    const secret = 'whsec_c2hvcnQ=';
    const message = rejection(callbackBody.safeParse({ url: 'https://example.com/hooks', secret }));

    assert.match(message, /must encode 24 to 64 bytes/);
    assert.ok(!message.includes(secret));
  });

  test('rejects retry windows out of range', () => {
    for (const retryWindowDays of [0, -1, 3651, '7']) {
      assert.equal(callbackBody.safeParse({ url: 'https://example.com/hooks', retryWindowDays }).success, false, JSON.stringify(retryWindowDays));
    }
  });
});

describe('listDeliveriesQuery', () => {
  test('limit defaults to 50', () => {
    assert.equal(listDeliveriesQuery.parse({}).limit, 50);
  });

  test('limit accepts 1 and 100', () => {
    assert.equal(listDeliveriesQuery.parse({ limit: '1' }).limit, 1);
    assert.equal(listDeliveriesQuery.parse({ limit: '100' }).limit, 100);
  });

  test('limit rejects values out of bounds', () => {
    for (const limit of ['0', '101', '-1', '2.5', 'ten', '']) {
      assert.match(rejection(listDeliveriesQuery.safeParse({ limit })), /must be an integer from 1 to 100/, JSON.stringify(limit));
    }
  });

  test('status accepts each delivery status', () => {
    for (const status of ['pending', 'retrying', 'succeeded', 'failed', 'cancelled']) {
      assert.equal(listDeliveriesQuery.parse({ status }).status, status);
    }
  });

  test('status rejects unknown values', () => {
    assert.match(rejection(listDeliveriesQuery.safeParse({ status: 'done' })), /must be one of pending, retrying, succeeded, failed, cancelled/);
  });

  test('object in place of a string is rejected', () => {
    assert.equal(listDeliveriesQuery.safeParse({ status: { $ne: 'failed' } }).success, false);
    assert.equal(listDeliveriesQuery.safeParse({ subscriptionId: { $gt: '' } }).success, false);
    assert.equal(listDeliveriesQuery.safeParse({ eventId: ['evt_1', 'evt_2'] }).success, false);
    assert.equal(listDeliveriesQuery.safeParse({ cursor: { $regex: '.*' } }).success, false);
  });

  test('object in place of a limit is rejected', () => {
    assert.equal(listDeliveriesQuery.safeParse({ limit: { $gt: '0' } }).success, false);
  });

  test('accepts subscription and event ids', () => {
    const parsed = listDeliveriesQuery.parse({ subscriptionId: 'sub_01J0000000000000000000000A', eventId: 'evt_01J0000000000000000000000B' });

    assert.equal(parsed.subscriptionId, 'sub_01J0000000000000000000000A');
    assert.equal(parsed.eventId, 'evt_01J0000000000000000000000B');
  });

  test('rejects ids with the wrong prefix', () => {
    assert.match(rejection(listDeliveriesQuery.safeParse({ subscriptionId: 'evt_01J' })), /must be a subscription id/);
    assert.match(rejection(listDeliveriesQuery.safeParse({ eventId: 'sub_01J' })), /must be an event id/);
  });

  test('rejects an unknown parameter', () => {
    assert.equal(listDeliveriesQuery.safeParse({ sort: 'desc' }).success, false);
  });
});

function fieldsOf(result: z.ZodSafeParseResult<unknown>): string[] {
  return result.success ? [] : result.error.issues.map((issue) => issue.path.join('.'));
}

const DAY_MS = 24 * 60 * 60 * 1000;

describe('recoverBody', () => {
  test('accepts a time within 14 days', () => {
    assert.equal(recoverBody.safeParse({ since: new Date(Date.now() - 13 * DAY_MS).toISOString() }).success, true);
  });

  test('rejects a time beyond 14 days', () => {
    const result = recoverBody.safeParse({ since: new Date(Date.now() - 15 * DAY_MS).toISOString() });
    assert.deepEqual(fieldsOf(result), ['since']);
    assert.match(rejection(result), /at most 14 days ago/);
  });

  test('rejects a future time', () => {
    assert.deepEqual(fieldsOf(recoverBody.safeParse({ since: new Date(Date.now() + DAY_MS).toISOString() })), ['since']);
  });

  test('rejects a date without a time', () => {
    assert.deepEqual(fieldsOf(recoverBody.safeParse({ since: '2026-12-01' })), ['since']);
  });
});

describe('replayBody', () => {
  const since = '2026-12-01T00:00:00Z';

  test('accepts a record or a kind with since', () => {
    assert.equal(replayBody.safeParse({ record: 'products/p21' }).success, true);
    assert.equal(replayBody.safeParse({ kind: 'products', since }).success, true);
  });

  test('rejects both or neither', () => {
    assert.deepEqual(fieldsOf(replayBody.safeParse({ record: 'products/p21', kind: 'products', since })), ['record', 'since']);
    assert.deepEqual(fieldsOf(replayBody.safeParse({})), ['record']);
  });

  test('kind needs since', () => {
    assert.deepEqual(fieldsOf(replayBody.safeParse({ kind: 'products' })), ['since']);
  });

  test('record must be kind/id', () => {
    assert.deepEqual(fieldsOf(replayBody.safeParse({ record: 'products/*' })), ['record']);
  });
});

describe('createSubscriptionBody event types', () => {
  const base = { url: 'https://example.com/hooks' };

  test('record target takes record event types', () => {
    assert.equal(createSubscriptionBody.safeParse({ ...base, target: 'products/*', eventTypes: ['record.deleted'] }).success, true);
    assert.deepEqual(fieldsOf(createSubscriptionBody.safeParse({ ...base, target: 'products/*', eventTypes: ['delivery.failing'] })), ['eventTypes']);
  });

  test('operational target takes operational event types', () => {
    assert.equal(createSubscriptionBody.safeParse({ ...base, target: 'operational', eventTypes: ['subscription.disabled'] }).success, true);
    assert.deepEqual(fieldsOf(createSubscriptionBody.safeParse({ ...base, target: 'operational', eventTypes: ['record.created'] })), ['eventTypes']);
  });

  test('rejects repeated and unknown types', () => {
    assert.deepEqual(fieldsOf(createSubscriptionBody.safeParse({ ...base, target: 'products/*', eventTypes: ['record.created', 'record.created'] })), ['eventTypes']);
    assert.deepEqual(fieldsOf(createSubscriptionBody.safeParse({ ...base, target: 'products/*', eventTypes: ['record.moved'] })), ['eventTypes.0']);
    assert.deepEqual(fieldsOf(createSubscriptionBody.safeParse({ ...base, target: 'products/*', eventTypes: [] })), ['eventTypes']);
  });

  test('operational subscription names no other', () => {
    assert.deepEqual(fieldsOf(createSubscriptionBody.safeParse({ ...base, target: 'operational', operationalSubscriptionId: 'sub_01ABC' })), ['operationalSubscriptionId']);
  });
});
