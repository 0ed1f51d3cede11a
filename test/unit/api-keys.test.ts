import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import { digestsEqual, generateApiKeyToken, hashApiKeyToken, isWellFormedApiKeyToken, parseBearerToken } from '../../src/domain/api-keys.js';

describe('API key tokens', () => {
  test('generated token has the dbk_ format', () => {
    const token = generateApiKeyToken();

    assert.match(token, /^dbk_[A-Za-z0-9_-]{43}$/);
    assert.equal(isWellFormedApiKeyToken(token), true);
  });

  test('generated tokens differ', () => {
    const tokens = new Set(Array.from({ length: 100 }, generateApiKeyToken));

    assert.equal(tokens.size, 100);
  });

  test('hash is hex SHA-256 of the token', () => {
    const token = generateApiKeyToken();

    assert.equal(hashApiKeyToken(token), createHash('sha256').update(token).digest('hex'));
    assert.match(hashApiKeyToken(token), /^[0-9a-f]{64}$/);
  });

  test('hash differs per token', () => {
    assert.notEqual(hashApiKeyToken(generateApiKeyToken()), hashApiKeyToken(generateApiKeyToken()));
  });

  test('digestsEqual compares digests', () => {
    const digest = hashApiKeyToken('dbk_a');

    assert.equal(digestsEqual(digest, hashApiKeyToken('dbk_a')), true);
    assert.equal(digestsEqual(digest, hashApiKeyToken('dbk_b')), false);
    assert.equal(digestsEqual(digest, digest.slice(0, 62)), false);
    assert.equal(digestsEqual(digest, ''), false);
  });
});

describe('parseBearerToken', () => {
  const token = `dbk_${'A'.repeat(43)}`;

  test('reads a bearer token', () => {
    assert.deepEqual(parseBearerToken(`Bearer ${token}`), { token });
  });

  test('scheme is case-insensitive', () => {
    assert.deepEqual(parseBearerToken(`bearer ${token}`), { token });
    assert.deepEqual(parseBearerToken(`BEARER ${token}`), { token });
  });

  test('missing header', () => {
    assert.deepEqual(parseBearerToken(undefined), { error: 'missing' });
    assert.deepEqual(parseBearerToken(''), { error: 'missing' });
    assert.deepEqual(parseBearerToken('   '), { error: 'missing' });
  });

  test('other schemes', () => {
    assert.deepEqual(parseBearerToken('Basic YWxpY2U6c2VjcmV0'), { error: 'not-bearer' });
    assert.deepEqual(parseBearerToken(token), { error: 'not-bearer' });
    assert.deepEqual(parseBearerToken('Bearer'), { error: 'not-bearer' });
    assert.deepEqual(parseBearerToken(`Bearer ${token} ${token}`), { error: 'not-bearer' });
  });

  test('malformed tokens', () => {
    for (const value of ['dbk_', `dbk_${'A'.repeat(42)}`, `dbk_${'A'.repeat(44)}`, `dbk_${'!'.repeat(43)}`, `whsec_${'A'.repeat(43)}`, `DBK_${'A'.repeat(43)}`, '{"$ne":null}']) {
      assert.deepEqual(parseBearerToken(`Bearer ${value}`), { error: 'malformed' }, value);
    }
  });
});
