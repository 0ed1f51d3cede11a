import { Router, type RequestHandler } from 'express';
import type { Filter } from 'mongodb';
import { createSubscription, InvalidRotationError, rotateSigningKey, RotationConflictError, setSubscriptionStatus } from '../../domain/subscriptions.js';
import { OPERATIONAL_KIND, OPERATIONAL_TARGET, type SubscriptionDocument } from '../../store/documents.js';
import { ownedBy, type Caller } from '../auth.js';
import type { ApiContext } from '../context.js';
import { jsonBody } from '../json-body.js';
import { idempotency } from '../idempotency.js';
import { handleOperation } from '../operation-handler.js';
import { operations } from '../operations.js';
import { HttpProblem, requireJsonBody } from '../problem.js';
import { DEFAULT_GRACE_PERIOD_SECONDS } from '../schemas.js';
import { subscriptionView } from '../views.js';

export function subscriptionsRouter(ctx: ApiContext): Router {
  const router = Router();
  const parseJson = jsonBody({ limitBytes: ctx.config.api.maxRequestBodyBytes });
  const idempotent = idempotency({ keys: ctx.store.idempotencyKeys, secretBox: ctx.secretBox, logger: ctx.logger });
  // An empty request (no body, or Content-Length: 0, as fetch sends for a POST without one) skips the JSON checks.
  const optionalJsonBody: RequestHandler = (req, res, next) => {
    const isEmpty = req.headers['transfer-encoding'] === undefined && (req.headers['content-length'] ?? '0') === '0';
    return isEmpty ? next() : requireJsonBody(req, res, next);
  };

  handleOperation(router, operations.createSubscription, [requireJsonBody, parseJson, idempotent], async (_req, res, input) => {
    const { body, caller } = input;
    const isOperational = body.target === OPERATIONAL_TARGET;
    const [kind, recordId] = isOperational ? [OPERATIONAL_KIND, '*'] : (body.target.split('/') as [string, string]);
    if (body.operationalSubscriptionId !== undefined) {
      await checkOperationalSubscription(ctx, caller, body.operationalSubscriptionId);
    }

    const { subscription, secret } = await createSubscription(ctx, {
      accountId: caller.accountId,
      target: body.target,
      kind,
      recordId: recordId === '*' ? null : recordId,
      url: body.url,
      method: body.method,
      secret: body.secret,
      retryWindowDays: body.retryWindowDays === undefined ? ctx.config.delivery.defaultRetryWindowDays : body.retryWindowDays,
      eventTypes: body.eventTypes,
      operationalSubscriptionId: body.operationalSubscriptionId,
      ordering: body.ordering,
      mode: body.mode,
      signatureScheme: body.signature?.scheme ?? 'v1',
      headers: Object.entries(body.headers ?? {}),
    });

    ctx.logger.info(
      {
        subscriptionId: subscription._id,
        target: subscription.target,
        accountId: caller.accountId,
        ordering: subscription.ordering,
        mode: subscription.mode,
        signatureScheme: subscription.signatureScheme,
        headerNames: subscription.headerNames,
      },
      'Subscription created',
    );
    res.status(201).location(`/v1/subscriptions/${subscription._id}`).json({ ...subscriptionView(subscription), secret });
  });

  handleOperation(router, operations.listSubscriptions, [], async (_req, res, input) => {
    const { query, caller } = input;
    const filter: Filter<SubscriptionDocument> = { ...ownedBy(caller), status: query.status ?? { $ne: 'deleted' } };
    if (query.target !== undefined) {
      filter.target = query.target;
    }
    if (query.cursor !== undefined) {
      filter._id = { $gt: query.cursor };
    }

    const page = await ctx.store.subscriptions.find(filter).sort({ _id: 1 }).limit(query.limit).toArray();
    res.json({
      data: page.map(subscriptionView),
      nextCursor: page.length === query.limit ? page[page.length - 1]!._id : null,
    });
  });

  handleOperation(router, operations.getSubscription, [], async (_req, res, input) => {
    const { id } = input.path;
    // A subscription of another account gets the same 404 as a missing one, so ids cannot be probed.
    const subscription = await ctx.store.subscriptions.findOne({ ...ownedBy(input.caller), _id: id, status: { $ne: 'deleted' } });
    if (subscription === null) {
      throw HttpProblem.notFound('subscription', id);
    }
    res.json(subscriptionView(subscription));
  });

  for (const [operation, status] of [[operations.pauseSubscription, 'paused'], [operations.resumeSubscription, 'active']] as const) {
    handleOperation(router, operation, [], async (_req, res, input) => {
      const { id } = input.path;
      const updated = await setSubscriptionStatus(ctx, id, status, ownedBy(input.caller));
      if (updated === null) {
        throw HttpProblem.notFound('subscription', id);
      }
      ctx.logger.info({ subscriptionId: id, status }, 'Subscription status changed');
      res.json(subscriptionView(updated));
    });
  }

  handleOperation(router, operations.rotateSubscriptionSecret, [optionalJsonBody, parseJson, idempotent], async (_req, res, input) => {
    const { id } = input.path;
    const gracePeriodSeconds = input.body?.gracePeriodSeconds ?? DEFAULT_GRACE_PERIOD_SECONDS;
    if ((await ctx.store.subscriptions.findOne({ ...ownedBy(input.caller), _id: id, status: { $ne: 'deleted' } }, { projection: { _id: 1 } })) === null) {
      throw HttpProblem.notFound('subscription', id);
    }

    let rotated;
    try {
      rotated = await rotateSigningKey(ctx, id, { secret: input.body?.secret, gracePeriodSeconds });
    } catch (error) {
      if (error instanceof InvalidRotationError) {
        throw HttpProblem.invalid([{ field: `body.${error.field}`, message: error.message }], 422);
      }
      if (error instanceof RotationConflictError) {
        throw new HttpProblem(409, 'Conflict', error.message);
      }
      throw error;
    }
    if (rotated === null) {
      throw HttpProblem.notFound('subscription', id);
    }

    const { subscription, secret } = rotated;
    ctx.logger.info({ subscriptionId: id, signatureScheme: subscription.signatureScheme, gracePeriodSeconds }, 'Signing key rotated');
    res.json({ ...subscriptionView(subscription), secret });
  });

  handleOperation(router, operations.deleteSubscription, [], async (_req, res, input) => {
    const { id } = input.path;
    const deleted = await setSubscriptionStatus(ctx, id, 'deleted', ownedBy(input.caller));
    if (deleted === null) {
      throw HttpProblem.notFound('subscription', id);
    }
    ctx.logger.info({ subscriptionId: id }, 'Subscription deleted');
    res.status(204).end();
  });

  return router;
}

/** Rejects an `operationalSubscriptionId` that names no subscription of the caller's account with target `operational`. */
async function checkOperationalSubscription(ctx: ApiContext, caller: Caller, id: string): Promise<void> {
  const named = await ctx.store.subscriptions.findOne({ ...ownedBy(caller), _id: id, status: { $ne: 'deleted' } });
  if (named === null) {
    throw HttpProblem.invalid([{ field: 'body.operationalSubscriptionId', message: `subscription ${id} not found; create one with target "${OPERATIONAL_TARGET}" first` }], 422);
  }
  if (named.target !== OPERATIONAL_TARGET) {
    throw HttpProblem.invalid([{ field: 'body.operationalSubscriptionId', message: `subscription ${id} has target ${JSON.stringify(named.target)}; name one with target "${OPERATIONAL_TARGET}"` }], 422);
  }
}
