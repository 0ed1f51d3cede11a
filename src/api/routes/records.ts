import { Router } from 'express';
import { recordPath } from '../../domain/ids.js';
import { RecordAbsentError, VersionContentionError, deleteRecord, findLatestEvent, writeRecord } from '../../domain/record-writes.js';
import type { EventDocument } from '../../store/documents.js';
import { findOrCreateLookupSubscription, SecretMismatchError } from '../../domain/subscriptions.js';
import type { ApiContext } from '../context.js';
import { jsonBody, type RequestWithRawBody } from '../json-body.js';
import type { ApiMetrics } from '../metrics.js';
import { idempotency } from '../idempotency.js';
import { handleOperation } from '../operation-handler.js';
import { operations } from '../operations.js';
import { HttpProblem, requireJsonBody } from '../problem.js';
import { describeInvalidRecord } from '../schemas.js';
import { recordView, subscriptionView } from '../views.js';

export function recordsRouter(ctx: ApiContext, metrics: ApiMetrics): Router {
  const router = Router();
  const parseJson = jsonBody({ limitBytes: ctx.config.api.maxRequestBodyBytes });
  const idempotent = idempotency({ keys: ctx.store.idempotencyKeys, secretBox: ctx.secretBox, logger: ctx.logger });
  // Keeps the bytes of a record body, so webhooks carry the provider's JSON exactly as sent
  // (large integers and all) rather than a re-serialized copy.
  const parseJsonKeepingRaw = jsonBody({ limitBytes: ctx.config.api.maxRequestBodyBytes, keepRaw: true });

  /** Create or update a record. Every write is an event with the next version of the record. */
  handleOperation(router, operations.writeRecord, [requireJsonBody, parseJsonKeepingRaw, idempotent], async (req, res, input) => {
    const { kind, id } = input.path;
    const invalid = describeInvalidRecord(req.body);
    if (invalid !== undefined) {
      throw HttpProblem.invalid([{ field: 'body', message: `record body ${invalid}` }], 422);
    }
    const dataJson = (req as RequestWithRawBody).rawBody.toString('utf8').trim();

    let written;
    try {
      written = await writeRecord(ctx, { kind, recordId: id, dataJson });
    } catch (error) {
      if (error instanceof VersionContentionError) {
        throw new HttpProblem(409, 'Conflict', error.message, { headers: { 'retry-after': '1' } });
      }
      throw error;
    }
    metrics.eventsWritten.inc({ type: written.type });

    ctx.logger.info({ eventId: written.eventId, record: recordPath(kind, id), version: written.version, type: written.type, dispatched: written.dispatched }, 'Record written');
    res
      .status(written.type === 'record.created' ? 201 : 200)
      .location(`/v1/records/${kind}/${id}`)
      .json({ kind, id, version: written.version, eventId: written.eventId });
  });

  handleOperation(router, operations.getRecord, [], async (_req, res, input) => {
    const { kind, id } = input.path;
    const record = await findLatestEvent(ctx.store, kind, id);
    if (record === null) {
      throw HttpProblem.notFound('record', recordPath(kind, id));
    }
    if (record.type === 'record.deleted') {
      throw recordGone(recordPath(kind, id), record.createdAt);
    }
    res.json(recordView(record));
  });

  /** Deletes a record by writing a tombstone event, which subscribers receive as `record.deleted`. */
  handleOperation(router, operations.deleteRecord, [idempotent], async (_req, res, input) => {
    const { kind, id } = input.path;
    const path = recordPath(kind, id);

    let deleted;
    try {
      deleted = await deleteRecord(ctx, { kind, recordId: id });
    } catch (error) {
      if (error instanceof RecordAbsentError) {
        throw error.deletedBy === null ? HttpProblem.notFound('record', path) : recordGone(path, error.deletedBy.createdAt);
      }
      if (error instanceof VersionContentionError) {
        throw new HttpProblem(409, 'Conflict', error.message, { headers: { 'retry-after': '1' } });
      }
      throw error;
    }
    metrics.eventsWritten.inc({ type: deleted.type });

    ctx.logger.info({ eventId: deleted.eventId, record: path, version: deleted.version, dispatched: deleted.dispatched }, 'Record deleted');
    res.json({ kind, id, version: deleted.version, eventId: deleted.eventId });
  });

  /**
   * Lookup-or-subscribe: returns the record when it exists. Otherwise it leaves a callback and
   * returns 202 "update later", so the client stops polling and waits for the webhook.
   */
  handleOperation(router, operations.lookupRecord, [requireJsonBody, parseJson, idempotent], async (_req, res, input) => {
    const { kind, id } = input.path;
    const { callback } = input.body;
    const { caller } = input;
    const path = recordPath(kind, id);

    const existing = await findLatestEvent(ctx.store, kind, id);
    if (isPresent(existing)) {
      res.json({ status: 'found', record: recordView(existing) });
      return;
    }

    let result;
    try {
      result = await findOrCreateLookupSubscription(ctx, {
        accountId: caller.accountId,
        target: path,
        kind,
        recordId: id,
        url: callback.url,
        method: callback.method,
        secret: callback.secret,
        retryWindowDays: callback.retryWindowDays === undefined ? ctx.config.delivery.defaultRetryWindowDays : callback.retryWindowDays,
      });
    } catch (error) {
      if (error instanceof SecretMismatchError) {
        throw new HttpProblem(409, 'Conflict', `${error.message}; send the original secret, or omit callback.secret`, {
          errors: [{ field: 'body.callback.secret', message: 'differs from the secret of the existing subscription' }],
        });
      }
      throw error;
    }

    // The record may have been written while the subscription was being created, after the
    // dispatch had already listed subscribers. Reading again closes that gap: either this read
    // finds the record, or the dispatch runs later and finds the subscription.
    const written = await findLatestEvent(ctx.store, kind, id);
    if (isPresent(written)) {
      res.json({ status: 'found', record: recordView(written), subscription: subscriptionView(result.subscription), ...(result.secret === null ? {} : { secret: result.secret }) });
      return;
    }

    ctx.logger.info({ subscriptionId: result.subscription._id, record: path, created: result.created }, 'Lookup left a callback');
    res.status(202).json({
      status: 'pending',
      message: `record ${path} does not exist yet; it will be sent to the callback URL when it is written`,
      subscription: subscriptionView(result.subscription),
      ...(result.secret === null ? {} : { secret: result.secret }),
    });
  });

  return router;
}

/** True when the latest event contains a record; a deleted record counts as absent, so a lookup leaves a callback for its next write. */
function isPresent(latest: EventDocument | null): latest is EventDocument {
  return latest !== null && latest.type !== 'record.deleted';
}

/** 410, not 404: the record existed, so a client that cached it learns that it must drop it. */
function recordGone(path: string, deletedAt: Date): HttpProblem {
  return new HttpProblem(410, 'Gone', `record ${path} was deleted at ${deletedAt.toISOString()}; a new write creates it again`);
}
