import { Router, type Response } from 'express';
import { createBulkOperation, type BulkSelection } from '../../domain/bulk-operations.js';
import { OPERATIONAL_TARGET, type BulkOperationType, type SubscriptionDocument } from '../../store/documents.js';
import { ownedBy, type Caller } from '../auth.js';
import type { ApiContext } from '../context.js';
import { idempotency } from '../idempotency.js';
import { jsonBody } from '../json-body.js';
import { handleOperation } from '../operation-handler.js';
import { operations } from '../operations.js';
import { HttpProblem, requireJsonBody } from '../problem.js';
import { bulkOperationView } from '../views.js';

/** Recover and replay of one subscription, and the progress of those operations. */
export function bulkOperationsRouter(ctx: ApiContext): Router {
  const router = Router();
  const parseJson = jsonBody({ limitBytes: ctx.config.api.maxRequestBodyBytes });
  const idempotent = idempotency({ keys: ctx.store.idempotencyKeys, secretBox: ctx.secretBox, logger: ctx.logger });

  handleOperation(router, operations.recoverSubscription, [requireJsonBody, parseJson, idempotent], async (_req, res, input) => {
    const subscription = await activeSubscription(ctx, input.caller, input.path.id, 'recover');
    await start(res, 'recover', subscription, { since: input.body.since, kind: null, recordId: null });
  });

  handleOperation(router, operations.replaySubscription, [requireJsonBody, parseJson, idempotent], async (_req, res, input) => {
    const subscription = await activeSubscription(ctx, input.caller, input.path.id, 'replay');
    const { body } = input;
    const [kind, recordId] = body.record === undefined ? [body.kind!, null] : (body.record.split('/') as [string, string]);

    const field = body.record === undefined ? 'body.kind' : 'body.record';
    const covered = subscription.target === `${kind}/*` || (recordId !== null && subscription.target === `${kind}/${recordId}`);
    if (!covered) {
      const asked = recordId === null ? `kind ${kind}` : `record ${kind}/${recordId}`;
      throw HttpProblem.invalid([{ field, message: `subscription ${subscription._id} has target ${JSON.stringify(subscription.target)}, which does not receive the events of ${asked}` }], 422);
    }
    await start(res, 'replay', subscription, { since: body.since ?? null, kind, recordId });
  });

  handleOperation(router, operations.getBulkOperation, [], async (_req, res, input) => {
    const operation = await ctx.store.bulkOperations.findOne({ _id: input.path.id });
    // An operation on another account's subscription gets the same 404 as a missing one.
    const isOwned =
      operation !== null &&
      (await ctx.store.subscriptions.findOne({ ...ownedBy(input.caller), _id: operation.subscriptionId }, { projection: { _id: 1 } })) !== null;
    if (operation === null || !isOwned) {
      throw HttpProblem.notFound('operation', input.path.id);
    }
    res.json(bulkOperationView(operation, ctx.config.temporal));
  });

  async function start(res: Response, type: BulkOperationType, subscription: SubscriptionDocument, selection: BulkSelection): Promise<void> {
    const operation = await createBulkOperation(ctx, { type, subscription, selection });
    ctx.logger.info({ operationId: operation._id, type, subscriptionId: subscription._id, total: operation.total }, 'Bulk operation started');
    res.status(202).location(`/v1/operations/${operation._id}`).json(bulkOperationView(operation, ctx.config.temporal));
  }

  return router;
}

async function activeSubscription(ctx: ApiContext, caller: Caller, id: string, action: BulkOperationType): Promise<SubscriptionDocument> {
  const subscription = await ctx.store.subscriptions.findOne({ ...ownedBy(caller), _id: id, status: { $ne: 'deleted' } });
  if (subscription === null) {
    throw HttpProblem.notFound('subscription', id);
  }
  if (subscription.status !== 'active') {
    throw new HttpProblem(409, 'Conflict', `subscription ${id} is ${subscription.status}; resume it before the ${action}`);
  }
  if (action === 'replay' && subscription.target === OPERATIONAL_TARGET) {
    throw HttpProblem.invalid([{ field: 'path.id', message: `subscription ${id} receives operational events, which cannot be replayed; recover its failed deliveries instead` }], 422);
  }
  return subscription;
}
