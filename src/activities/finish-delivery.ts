import type { Store } from '../store/mongo.js';
import type { FinishDeliveryInput } from './types.js';

/** Creates the activity that records why a delivery ended without an attempt of its own (cancelled or superseded). */
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
