import { Router } from 'express';
import type { Filter } from 'mongodb';
import { startDelivery } from '../../temporal/start-workflows.js';
import type { DeliveryDocument } from '../../store/documents.js';
import { ownedBy, type Caller } from '../auth.js';
import type { ApiContext } from '../context.js';
import { idempotency } from '../idempotency.js';
import { handleOperation } from '../operation-handler.js';
import { operations } from '../operations.js';
import { HttpProblem } from '../problem.js';
import { deliveryView } from '../views.js';

export function deliveriesRouter(ctx: ApiContext): Router {
  const router = Router();

  handleOperation(router, operations.listDeliveries, [], async (_req, res, input) => {
    const { query, caller } = input;
    const filter: Filter<DeliveryDocument> = {};
    const ownedIds = caller.role === 'admin' ? null : await ownedSubscriptionIds(ctx, caller);
    if (query.subscriptionId !== undefined) {
      const isVisible = ownedIds === null || ownedIds.includes(query.subscriptionId);
      filter.subscriptionId = isVisible ? query.subscriptionId : { $in: [] };
    } else if (ownedIds !== null) {
      filter.subscriptionId = { $in: ownedIds };
    }
    if (query.eventId !== undefined) {
      filter.eventId = query.eventId;
    }
    if (query.status !== undefined) {
      filter.status = query.status as DeliveryDocument['status'];
    }
    if (query.cursor !== undefined) {
      filter._id = { $lt: query.cursor };
    }

    // Newest first: delivery ids start with the event's time-ordered id.
    const page = await ctx.store.deliveries.find(filter).sort({ _id: -1 }).limit(query.limit).project<DeliveryDocument>({ attempts: 0 }).toArray();
    res.json({
      data: page.map((delivery) => deliveryView(delivery, ctx.config.temporal, { withAttempts: false })),
      nextCursor: page.length === query.limit ? page[page.length - 1]!._id : null,
    });
  });

  handleOperation(router, operations.getDelivery, [], async (_req, res, input) => {
    const { id } = input.path;
    const delivery = await findOwnedDelivery(ctx, input.caller, id);
    if (delivery === null) {
      throw HttpProblem.notFound('delivery', id);
    }
    res.json(deliveryView(delivery, ctx.config.temporal, { withAttempts: true }));
  });

  /** Starts a new run of a delivery that has ended, with the same webhook-id, and a fresh retry window. */
  handleOperation(router, operations.redeliver, [idempotency({ keys: ctx.store.idempotencyKeys, secretBox: ctx.secretBox, logger: ctx.logger })], async (_req, res, input) => {
    const { id } = input.path;
    const delivery = await findOwnedDelivery(ctx, input.caller, id);
    if (delivery === null) {
      throw HttpProblem.notFound('delivery', id);
    }
    if (delivery.status === 'pending' || delivery.status === 'retrying') {
      throw new HttpProblem(409, 'Conflict', `delivery ${id} is still ${delivery.status}; wait for it to end, or pause the subscription first`);
    }

    const subscription = await ctx.store.subscriptions.findOne({ _id: delivery.subscriptionId });
    if (subscription === null || subscription.status !== 'active') {
      throw new HttpProblem(409, 'Conflict', `subscription ${delivery.subscriptionId} is ${subscription?.status ?? 'deleted'}; resume it before redelivering`);
    }

    await ctx.store.deliveries.updateOne({ _id: id }, { $set: { status: 'pending', statusReason: 'redelivery requested', nextAttemptAt: new Date(), updatedAt: new Date() } });
    const started = await startDelivery(
      ctx.temporal,
      {
        deliveryId: id,
        eventId: delivery.eventId,
        subscriptionId: delivery.subscriptionId,
        kind: delivery.kind,
        recordId: delivery.recordId,
        retryWindowDays: subscription.retryWindowDays,
        previousAttempts: delivery.attemptCount,
        retrySchedule: ctx.config.delivery.retrySchedule,
        workflowId: delivery.workflowId,
      },
      { rerun: true },
    );
    if (!started) {
      // Its previous run has not closed yet. Put the status back, or it would read pending with
      // nothing running and refuse every later redelivery.
      await ctx.store.deliveries.updateOne(
        { _id: id, status: 'pending', statusReason: 'redelivery requested' },
        { $set: { status: delivery.status, statusReason: delivery.statusReason, nextAttemptAt: delivery.nextAttemptAt, updatedAt: new Date() } },
      );
      throw new HttpProblem(409, 'Conflict', `delivery ${id} is still running; send the request again in a moment`);
    }

    ctx.logger.info({ deliveryId: id, subscriptionId: delivery.subscriptionId, eventId: delivery.eventId }, 'Redelivery started');
    const updated = await ctx.store.deliveries.findOne({ _id: id });
    res.status(202).json(deliveryView(updated ?? delivery, ctx.config.temporal, { withAttempts: false }));
  });

  return router;
}

/**
 * Finds a delivery whose subscription the caller's account owns, or any delivery for an admin
 * key. A delivery of another account returns null like a missing one, so its id cannot be probed.
 */
async function findOwnedDelivery(ctx: ApiContext, caller: Caller, id: string): Promise<DeliveryDocument | null> {
  const delivery = await ctx.store.deliveries.findOne({ _id: id });
  if (delivery === null || caller.role === 'admin') {
    return delivery;
  }
  const subscription = await ctx.store.subscriptions.findOne({ ...ownedBy(caller), _id: delivery.subscriptionId }, { projection: { _id: 1 } });
  return subscription === null ? null : delivery;
}

/**
 * Returns the ids of every subscription of the caller's account, deleted ones included, because a
 * delivery belongs to the account that owns its subscription.
 *
 * NOTE: the ids go into one $in list per request, which grows with the account's subscriptions.
 */
async function ownedSubscriptionIds(ctx: ApiContext, caller: Caller): Promise<string[]> {
  const owned = await ctx.store.subscriptions.find(ownedBy(caller)).project<{ _id: string }>({ _id: 1 }).toArray();
  return owned.map((subscription) => subscription._id);
}
