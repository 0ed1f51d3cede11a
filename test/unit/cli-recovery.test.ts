import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { InvalidArgumentError } from 'commander';
import { sinceParser } from '../../src/cli/arguments.js';
import { replayRequest } from '../../src/cli/commands/recovery.js';
import { UsageError } from '../../src/cli/errors.js';

const NOW_MS = Date.parse('2026-12-04T12:00:00.000Z');
const parseSince = sinceParser(() => NOW_MS);

describe('recover and replay arguments', () => {
  test('durations count back from now', () => {
    assert.equal(parseSince('2d'), '2026-12-02T12:00:00.000Z');
    assert.equal(parseSince('12h'), '2026-12-04T00:00:00.000Z');
    assert.equal(parseSince('30m'), '2026-12-04T11:30:00.000Z');
    assert.equal(parseSince('90s'), '2026-12-04T11:58:30.000Z');
  });

  test('date-times need a time zone', () => {
    assert.equal(parseSince('2026-12-01T00:00:00+01:00'), '2026-11-30T23:00:00.000Z');
    assert.throws(() => parseSince('2026-12-01T00:00:00'), InvalidArgumentError);
  });

  test('other values are rejected', () => {
    for (const value of ['', 'yesterday', '2w', '-2d', '2026-12-01']) {
      assert.throws(() => parseSince(value), InvalidArgumentError, value);
    }
  });

  test('replay of a record', () => {
    assert.deepEqual(replayRequest({ record: { kind: 'products', id: 'p21' } }), { record: 'products/p21' });
  });

  test('replay of a kind needs since', () => {
    assert.deepEqual(replayRequest({ kind: 'products', since: '2026-12-01T00:00:00.000Z' }), { kind: 'products', since: '2026-12-01T00:00:00.000Z' });
    assert.throws(() => replayRequest({ kind: 'products' }), UsageError);
  });

  test('replay of a record takes no since', () => {
    assert.throws(() => replayRequest({ record: { kind: 'products', id: 'p21' }, since: '2026-12-01T00:00:00.000Z' }), UsageError);
  });

  test('replay needs a selection', () => {
    assert.throws(() => replayRequest({}), UsageError);
  });
});
