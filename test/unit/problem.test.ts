import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MongoServerError } from 'mongodb';
import { isDatabaseBusy } from '../../src/api/problem.js';

describe('isDatabaseBusy', () => {
  test('locked SQLite database under FerretDB is busy', () => {
    const error = new MongoServerError({ message: '[msg_insert.go:168] [collection.go:135] database is locked (5) (SQLITE_BUSY)', code: 1 });

    assert.equal(isDatabaseBusy(error), true);
  });

  test('other server errors are not busy', () => {
    assert.equal(isDatabaseBusy(new MongoServerError({ message: 'E11000 duplicate key error', code: 11000 })), false);
  });

  test('plain errors are not busy', () => {
    assert.equal(isDatabaseBusy(new Error('database is locked')), false);
  });
});
