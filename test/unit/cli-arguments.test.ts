import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { InvalidArgumentError } from 'commander';
import { collectSubscriptionTarget, integerInRange, parseBodySource, parsePort, parseRecordPath, parseRetryWindowDays, parseSubscriptionTarget } from '../../src/cli/arguments.js';

describe('parseRecordPath', () => {
  test('splits kind and id', () => {
    assert.deepEqual(parseRecordPath('products/p21'), { kind: 'products', id: 'p21' });
  });

  test('accepts underscores and dashes after the first character', () => {
    assert.deepEqual(parseRecordPath('order_lines/ord-42_a'), { kind: 'order_lines', id: 'ord-42_a' });
  });

  const invalid: Array<[string, RegExp]> = [
    ['products', /expected kind\/id/],
    ['products/', /record id ""/],
    ['/p21', /kind ""/],
    ['products/p21/extra', /expected kind\/id/],
    ['products/*', /record id "\*"/],
    ['-products/p21', /kind "-products"/],
    ['products/p 21', /record id "p 21"/],
    [`products/${'x'.repeat(129)}`, /1-128 letters/],
  ];
  for (const [value, message] of invalid) {
    test(`rejects ${JSON.stringify(value.slice(0, 24))}`, () => {
      assert.throws(() => parseRecordPath(value), InvalidArgumentError);
      assert.throws(() => parseRecordPath(value), message);
    });
  }
});

describe('parseSubscriptionTarget', () => {
  test('accepts one record', () => {
    assert.equal(parseSubscriptionTarget('products/p21'), 'products/p21');
  });

  test('accepts a whole kind', () => {
    assert.equal(parseSubscriptionTarget('products/*'), 'products/*');
  });

  test('rejects a wildcard kind', () => {
    assert.throws(() => parseSubscriptionTarget('*/p21'), /kind "\*"/);
  });

  test('rejects a kind alone', () => {
    assert.throws(() => parseSubscriptionTarget('products'), /expected kind\/id or kind\/\*/);
  });

  test('rejects a partial wildcard', () => {
    assert.throws(() => parseSubscriptionTarget('products/p*'), /record id "p\*"/);
  });
});

describe('collectSubscriptionTarget', () => {
  test('collects repeated targets in order', () => {
    const first = collectSubscriptionTarget('products/p21', undefined);
    const second = collectSubscriptionTarget('orders/*', first);

    assert.deepEqual(second, ['products/p21', 'orders/*']);
  });

  test('drops a repeated target', () => {
    assert.deepEqual(collectSubscriptionTarget('products/p21', ['products/p21']), ['products/p21']);
  });

  test('rejects an invalid target', () => {
    assert.throws(() => collectSubscriptionTarget('products', []), InvalidArgumentError);
  });
});

describe('integerInRange', () => {
  const parseLimit = integerInRange(1, 100, 'an item count');

  test('accepts the bounds', () => {
    assert.equal(parseLimit('1'), 1);
    assert.equal(parseLimit('100'), 100);
  });

  test('trims spaces', () => {
    assert.equal(parseLimit(' 7 '), 7);
  });

  for (const value of ['0', '101', '1.5', '1e2', '', 'ten', '0x10']) {
    test(`rejects ${JSON.stringify(value)}`, () => {
      assert.throws(() => parseLimit(value), /expected an item count from 1 to 100/);
    });
  }
});

describe('parsePort', () => {
  test('accepts 0 for a free port', () => {
    assert.equal(parsePort('0'), 0);
  });

  test('accepts the highest port', () => {
    assert.equal(parsePort('65535'), 65_535);
  });

  test('rejects a port above 65535', () => {
    assert.throws(() => parsePort('65536'), /a port number from 0 to 65535/);
  });

  test('rejects a negative port', () => {
    assert.throws(() => parsePort('-1'), InvalidArgumentError);
  });
});

describe('parseRetryWindowDays', () => {
  test('accepts fractions of a day', () => {
    assert.equal(parseRetryWindowDays('0.5'), 0.5);
  });

  test('accepts the maximum', () => {
    assert.equal(parseRetryWindowDays('3650'), 3650);
  });

  for (const value of ['0', '-1', '3651', 'week', '', 'Infinity']) {
    test(`rejects ${JSON.stringify(value)}`, () => {
      assert.throws(() => parseRetryWindowDays(value), /more than 0 and at most 3650/);
    });
  }
});

describe('parseBodySource', () => {
  test('reads standard input for a dash', () => {
    assert.deepEqual(parseBodySource('-'), { from: 'stdin' });
  });

  test('reads a file after @', () => {
    assert.deepEqual(parseBodySource('@records/p21.json'), { from: 'file', path: 'records/p21.json' });
  });

  test('takes other values as inline JSON', () => {
    assert.deepEqual(parseBodySource('{"name":"Mug"}'), { from: 'argument', text: '{"name":"Mug"}' });
  });

  test('rejects @ without a file name', () => {
    assert.throws(() => parseBodySource('@'), /file name after "@"/);
  });
});
