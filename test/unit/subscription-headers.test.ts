import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { findHeaderIssues, MAX_HEADER_VALUE_LENGTH, MAX_HEADERS } from '../../src/domain/subscription-headers.js';
import { createSubscriptionBody } from '../../src/api/schemas.js';

const REJECTED_NAMES = [
  'Host', 'host', 'Connection', 'Keep-Alive', 'TE', 'Trailer', 'Transfer-Encoding', 'Upgrade', 'Proxy-Authorization', 'proxy-connection',
  'Content-Length', 'Content-Type', 'content-type', 'Content-Encoding', 'User-Agent', 'Expect', 'webhook-id', 'Webhook-Signature', 'webhook-timestamp', 'webhook-anything',
];

const INVALID_NAMES = ['', 'X Token', 'X-Token:', 'X-Tökén', 'X-(A)', 'a'.repeat(101), 'X-Token\r\n'];

const INVALID_VALUES = ['a\r\nX-Injected: 1', 'a\nb', 'a\rb', 'a\u0000b', 'a\u007fb', 'caf\u00e9', ' leading', 'trailing ', 'x'.repeat(MAX_HEADER_VALUE_LENGTH + 1)];

describe('findHeaderIssues', () => {
  for (const name of REJECTED_NAMES) {
    test(`reserved name ${name} is rejected`, () => {
      const issues = findHeaderIssues({ [name]: 'value' });
      assert.equal(issues.length, 1);
      assert.equal(issues[0]!.name, name);
      assert.match(issues[0]!.message, /cannot be set/);
    });
  }

  for (const name of INVALID_NAMES) {
    test(`invalid name ${JSON.stringify(name).slice(0, 30)} is rejected`, () => {
      const issues = findHeaderIssues({ [name]: 'value' });
      assert.equal(issues.length, 1);
      assert.match(issues[0]!.message, /header name must/);
    });
  }

  for (const value of INVALID_VALUES) {
    test(`invalid value ${JSON.stringify(value).slice(0, 30)} is rejected`, () => {
      const issues = findHeaderIssues({ 'X-Token': value });
      assert.equal(issues.length, 1);
      assert.equal(issues[0]!.name, 'X-Token');
      assert.match(issues[0]!.message, /header value must/);
    });
  }

  test('messages never repeat the value', () => {
    const secretValue = 'tok_\r\nsecret-value-123';
    const issues = findHeaderIssues({ 'X-Token': secretValue, 'x-token': 'tok_other-secret-456' });
    assert.ok(issues.length >= 1);
    for (const issue of issues) {
      assert.ok(!issue.message.includes('secret-value-123'), issue.message);
      assert.ok(!issue.message.includes('other-secret-456'), issue.message);
    }
  });

  test('case-insensitive duplicate is rejected', () => {
    const issues = findHeaderIssues({ 'X-Token': 'a', 'x-token': 'b' });
    assert.deepEqual(issues.map((issue) => issue.name), ['x-token']);
  });

  test(`more than ${MAX_HEADERS} headers are rejected`, () => {
    const headers = Object.fromEntries(Array.from({ length: MAX_HEADERS + 1 }, (_, index) => [`X-H${index}`, 'v']));
    const issues = findHeaderIssues(headers);
    assert.equal(issues.length, 1);
    assert.equal(issues[0]!.name, undefined);
    assert.match(issues[0]!.message, /at most 20 headers, got 21/);
  });

  test('total size above the limit is rejected', () => {
    const headers = Object.fromEntries(Array.from({ length: 9 }, (_, index) => [`X-H${index}`, 'v'.repeat(1000)]));
    const issues = findHeaderIssues(headers);
    assert.equal(issues.length, 1);
    assert.match(issues[0]!.message, /at most 8192 bytes/);
  });

  test('usual headers are accepted', () => {
    assert.deepEqual(findHeaderIssues({ Authorization: 'Bearer abc.def', 'X-Tenant': 'acme', 'X-Empty': '', "X-!#$%&'*+.^_`|~": 'a\tb' }), []);
  });
});

describe('createSubscriptionBody headers', () => {
  const base = { target: 'orders/*', url: 'https://example.com/hooks' };

  test('issue path names the header', () => {
    const result = createSubscriptionBody.safeParse({ ...base, headers: { Host: 'evil.example' } });
    assert.equal(result.success, false);
    assert.deepEqual(result.error!.issues.map((issue) => issue.path.join('.')), ['headers.Host']);
  });

  test('__proto__ header is rejected', () => {
    const result = createSubscriptionBody.safeParse({ ...base, headers: JSON.parse('{"__proto__": "x"}') });
    assert.equal(result.success, false);
    assert.deepEqual(result.error!.issues.map((issue) => issue.path.join('.')), ['headers.__proto__']);
  });

  test('non-string value is rejected', () => {
    const result = createSubscriptionBody.safeParse({ ...base, headers: { 'X-Count': 3 } });
    assert.equal(result.success, false);
    assert.deepEqual(result.error!.issues.map((issue) => issue.path.join('.')), ['headers.X-Count']);
  });

  test('secret with v1a is rejected', () => {
    const result = createSubscriptionBody.safeParse({ ...base, secret: 'whsec_' + Buffer.alloc(32, 1).toString('base64'), signature: { scheme: 'v1a' } });
    assert.equal(result.success, false);
    assert.deepEqual(result.error!.issues.map((issue) => issue.path.join('.')), ['secret']);
  });
});
