import type { Store } from '../store/mongo.js';
import type { FinishDeliveryInput } from './types.js';

/**
 * Creates the activity that records how a delivery ended when its attempt could not: cancelled,
 * superseded, or an attempt whose own record write failed after the webhook went out.
 */
export function createFinishDelivery(deps: { store: Store }) {
  return async function finishDelivery(input: FinishDeliveryInput): Promise<void> {
    // A delivery that already succeeded keeps its status even if cancelled afterwards.
    await deps.store.deliveries.updateOne(
      { _id: input.deliveryId, status: { $in: ['pending', 'retrying'] } },
      {
        $set: {
          status: input.status,
          statusReason: input.reason,
          nextAttemptAt: null,
          updatedAt: new Date(),
          ...(input.supersededBy === undefined ? {} : { supersededBy: input.supersededBy }),
        },
      },
    );
  };
}
