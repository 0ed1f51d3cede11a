import { log } from '@temporalio/activity';
import type { Store } from '../store/mongo.js';
import type { MarkSupersededInput } from './types.js';

/**
 * Creates the activity that marks queued deliveries of a record stream as superseded. They never
 * had a workflow of their own, so their workflow link changes to the stream that replaced them.
 * Only pending ones change, so a retry or a late signal never rewrites a delivery that ran.
 */
export function createMarkSuperseded(deps: { store: Store }) {
  return async function markSuperseded(input: MarkSupersededInput): Promise<void> {
    const { version, deliveryId } = input.supersededBy;
    const result = await deps.store.deliveries.updateMany(
      { _id: { $in: input.deliveryIds }, status: 'pending' },
      {
        $set: {
          status: 'superseded',
          statusReason: `superseded by version ${version} (delivery ${deliveryId}) before its first attempt`,
          supersededBy: input.supersededBy,
          nextAttemptAt: null,
          workflowId: input.streamWorkflowId,
          updatedAt: new Date(),
        },
      },
    );
    log.info('Queued deliveries superseded', { supersededBy: deliveryId, version, superseded: result.modifiedCount });
  };
}
