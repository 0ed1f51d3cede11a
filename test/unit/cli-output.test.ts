import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { apiErrorFrom } from '../../src/cli/api-client.js';
import type { Delivery } from '../../src/cli/api-types.js';
import { validateRecordBody } from '../../src/cli/commands/records.js';
import { ExitCode } from '../../src/cli/errors.js';
import { diffDeliveries } from '../../src/cli/follow.js';
import { formatTable, indentJson } from '../../src/cli/output.js';

function delivery(id: string, status: string, attemptCount: number, updatedAt = '2026-01-01T00:00:00.000Z'): Delivery {
  return {
    id,
    webhookId: id,
    eventId: 'evt_1',
    eventType: 'record.created',
    subscriptionId: 'sub_1',
    record: { kind: 'products', id: 'p1', version: 1 },
    replayOperationId: null,
    status,
    statusReason: null,
    attemptCount,
    nextAttemptAt: null,
    workflowId: `delivery:evt_1:${id}`,
    workflowUrl: 'http://127.0.0.1:8233/',
    createdAt: '2026-01-01T00:00:00.000Z',
    updatedAt,
  };
}

describe('formatTable', () => {
  test('pads every column but the last', () => {
    const table = formatTable(['ID', 'STATUS', 'URL'], [['sub_1', 'active', 'http://127.0.0.1:4000/a'], ['sub_22', 'paused', 'http://127.0.0.1:4000/b']]);

    assert.equal(table, ['ID      STATUS  URL', 'sub_1   active  http://127.0.0.1:4000/a', 'sub_22  paused  http://127.0.0.1:4000/b'].join('\n'));
  });

  test('trims an empty last cell', () => {
    assert.equal(formatTable(['ID', 'REASON'], [['msg_1', '']]), 'ID     REASON\nmsg_1');
  });
});

describe('indentJson', () => {
  test('shifts every line', () => {
    assert.equal(indentJson({ a: 1 }, 2), '  {\n    "a": 1\n  }');
  });
});

describe('diffDeliveries', () => {
  test('first page is all new, oldest first', () => {
    const { changed } = diffDeliveries(new Map(), [delivery('msg_2', 'pending', 0), delivery('msg_1', 'succeeded', 1)]);

    assert.deepEqual(
      changed.map((item) => item.id),
      ['msg_1', 'msg_2'],
    );
  });

  test('unchanged deliveries are not repeated', () => {
    const first = diffDeliveries(new Map(), [delivery('msg_1', 'succeeded', 1)]);
    const second = diffDeliveries(first.seen, [delivery('msg_1', 'succeeded', 1)]);

    assert.deepEqual(second.changed, []);
  });

  test('status change is reported', () => {
    const first = diffDeliveries(new Map(), [delivery('msg_1', 'pending', 0)]);
    const second = diffDeliveries(first.seen, [delivery('msg_1', 'retrying', 1, '2026-01-01T00:00:05.000Z')]);

    assert.deepEqual(
      second.changed.map((item) => item.status),
      ['retrying'],
    );
  });

  test('new attempt with the same status is reported', () => {
    const first = diffDeliveries(new Map(), [delivery('msg_1', 'retrying', 1)]);
    const second = diffDeliveries(first.seen, [delivery('msg_1', 'retrying', 2, '2026-01-01T00:05:05.000Z')]);

    assert.equal(second.changed.length, 1);
  });

  test('remembers only the current page', () => {
    const first = diffDeliveries(new Map(), [delivery('msg_1', 'succeeded', 1)]);
    const second = diffDeliveries(first.seen, [delivery('msg_2', 'pending', 0)]);

    assert.deepEqual([...second.seen.keys()], ['msg_2']);
  });
});

describe('apiErrorFrom', () => {
  test('uses the problem detail', () => {
    const error = apiErrorFrom(404, JSON.stringify({ type: 'about:blank', title: 'Not Found', status: 404, detail: 'record "products/p1" not found' }));

    assert.equal(error.message, 'HTTP 404 Not Found: record "products/p1" not found');
    assert.equal(error.exitCode, ExitCode.failure);
    assert.equal(error.status, 404);
  });

  test('lists field errors one per line', () => {
    const problem = {
      title: 'Unprocessable Content',
      status: 422,
      detail: 'body.url: must be absolute; body.target: must be kind/id',
      errors: [
        { field: 'body.url', message: 'must be absolute' },
        { field: 'body.target', message: 'must be kind/id' },
      ],
    };

    assert.equal(apiErrorFrom(422, JSON.stringify(problem)).message, 'HTTP 422 Unprocessable Content:\n  body.url: must be absolute\n  body.target: must be kind/id');
  });

  test('shows the start of a body that is not JSON', () => {
    assert.equal(apiErrorFrom(502, '<html>Bad gateway</html>').message, 'HTTP 502 Bad Gateway: <html>Bad gateway</html>');
  });

  test('empty body gives the status alone', () => {
    assert.equal(apiErrorFrom(503, '').message, 'HTTP 503 Service Unavailable');
  });
});

describe('validateRecordBody', () => {
  test('returns the trimmed text unchanged', () => {
    assert.equal(validateRecordBody(' {"b":1,"a":12345678901234567890}\n', 'test'), '{"b":1,"a":12345678901234567890}');
  });

  test('rejects invalid JSON with its origin', () => {
    assert.throws(() => validateRecordBody('{"a":', 'p1.json'), /record body in p1\.json is not valid JSON/);
  });

  for (const body of ['[1]', 'null', '"text"', '12']) {
    test(`rejects ${body}`, () => {
      assert.throws(() => validateRecordBody(body, 'test'), /must be a JSON object/);
    });
  }
});
