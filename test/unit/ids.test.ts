import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { RECORD_KEY_PATTERN, deliveryIdFor, newEventId, newSubscriptionId, recordPath } from '../../src/domain/ids.js';

describe('deliveryIdFor', () => {
  test('same pair gives the same id', () => {
    assert.equal(deliveryIdFor('evt_01J0000000000000000000000A', 'sub_01J0000000000000000000000B'), deliveryIdFor('evt_01J0000000000000000000000A', 'sub_01J0000000000000000000000B'));
  });

  test('id is msg_, the event ULID and a digest', () => {
    assert.match(deliveryIdFor('evt_01J0000000000000000000000A', 'sub_1'), /^msg_01J0000000000000000000000A_[A-Za-z0-9_-]{16}$/);
  });

  test('ids sort by event', () => {
    const earlier = deliveryIdFor('evt_01J0000000000000000000000A', 'sub_9');
    const later = deliveryIdFor('evt_01J0000000000000000000000B', 'sub_1');

    assert.ok(earlier < later);
  });

  test('different event gives a different id', () => {
    assert.notEqual(deliveryIdFor('evt_1', 'sub_1'), deliveryIdFor('evt_2', 'sub_1'));
  });

  test('different subscription gives a different id', () => {
    assert.notEqual(deliveryIdFor('evt_1', 'sub_1'), deliveryIdFor('evt_1', 'sub_2'));
  });

  test('swapped arguments give a different id', () => {
    assert.notEqual(deliveryIdFor('a', 'b'), deliveryIdFor('b', 'a'));
  });

  test('ids are unique across many pairs', () => {
    const ids = new Set<string>();
    for (let event = 0; event < 50; event += 1) {
      for (let subscription = 0; subscription < 50; subscription += 1) {
        ids.add(deliveryIdFor(`evt_${event}`, `sub_${subscription}`));
      }
    }

    assert.equal(ids.size, 2500);
  });
});

describe('RECORD_KEY_PATTERN', () => {
  test('accepts letters, digits, underscore and hyphen', () => {
    for (const key of ['a', 'Z', '0', 'products', 'order_items', 'p-21', 'A1_b-C2', '9lives']) {
      assert.ok(RECORD_KEY_PATTERN.test(key), JSON.stringify(key));
    }
  });

  test('accepts 128 characters', () => {
    assert.ok(RECORD_KEY_PATTERN.test('a'.repeat(128)));
  });

  test('rejects 129 characters', () => {
    assert.ok(!RECORD_KEY_PATTERN.test('a'.repeat(129)));
  });

  test('rejects the empty string', () => {
    assert.ok(!RECORD_KEY_PATTERN.test(''));
  });

  test('rejects MongoDB operator characters', () => {
    for (const key of ['$where', 'a$b', '$', 'a.b', '.', 'a.', '.a']) {
      assert.ok(!RECORD_KEY_PATTERN.test(key), JSON.stringify(key));
    }
  });

  test('rejects control characters', () => {
    for (const key of ['a\nb', 'a\n', '\na', 'a\r', 'a\tb', 'a\u0000', '\u0000', 'a\u001f', 'a\u007f']) {
      assert.ok(!RECORD_KEY_PATTERN.test(key), JSON.stringify(key));
    }
  });

  test('rejects a leading underscore or hyphen', () => {
    for (const key of ['_a', '-a', '_', '-']) {
      assert.ok(!RECORD_KEY_PATTERN.test(key), JSON.stringify(key));
    }
  });

  test('rejects separators, spaces and non-ASCII letters', () => {
    for (const key of ['a/b', '*', 'a b', ' a', 'a ', 'caf\u00e9', 'a%2F', 'a?b', 'a#b']) {
      assert.ok(!RECORD_KEY_PATTERN.test(key), JSON.stringify(key));
    }
  });
});

describe('generated ids', () => {
  test('event id is evt_ and a ULID', () => {
    assert.match(newEventId(), /^evt_[0-9A-HJKMNP-TV-Z]{26}$/);
  });

  test('subscription id is sub_ and a ULID', () => {
    assert.match(newSubscriptionId(), /^sub_[0-9A-HJKMNP-TV-Z]{26}$/);
  });

  test('generated ids differ', () => {
    assert.notEqual(newEventId(), newEventId());
  });

  test('record path joins kind and id', () => {
    assert.equal(recordPath('products', 'p21'), 'products/p21');
  });
});
