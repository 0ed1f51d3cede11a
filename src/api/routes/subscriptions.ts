import { Router } from 'express';
import type { Filter } from 'mongodb';
import { createSubscription, setSubscriptionStatus } from '../../domain/subscriptions.js';
import type { SubscriptionDocument } from '../../store/documents.js';
import { ownedBy } from '../auth.js';
import type { ApiContext } from '../context.js';
import { jsonBody } from '../json-body.js';
import { idempotency } from '../idempotency.js';
import { handleOperation } from '../operation-handler.js';
import { operations } from '../operations.js';
import { HttpProblem, requireJsonBody } from '../problem.js';
import { subscriptionView } from '../views.js';

export function subscriptionsRouter(ctx: ApiContext): Router {
  const router = Router();
  const parseJson = jsonBody({ limitBytes: ctx.config.api.maxRequestBodyBytes });

  handleOperation(router, operations.createSubscription, [requireJsonBody, parseJson, idempotency({ keys: ctx.store.idempotencyKeys, secretBox: ctx.secretBox, logger: ctx.logger })], async (_req, res, input) => {
    const { body, caller } = input;
    const [kind, recordId] = body.target.split('/') as [string, string];

    const { subscription, secret } = await createSubscription(ctx, {
      accountId: caller.accountId,
      target: body.target,
      kind,
      recordId: recordId === '*' ? null : recordId,
      url: body.url,
      method: body.method,
      secret: body.secret,
      retryWindowDays: body.retryWindowDays === undefined ? ctx.config.delivery.defaultRetryWindowDays : body.retryWindowDays,
    });

    ctx.logger.info({ subscriptionId: subscription._id, target: subscription.target, accountId: caller.accountId }, 'Subscription created');
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
