import { continueAsNew, log, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { createActivities } from '../activities/index.js';
import type { DispatchWorkflowInput, DispatchWorkflowResult } from './definitions.js';

type Activities = ReturnType<typeof createActivities>;

/** One page of subscribers per call; the heartbeat timeout notices a worker that died mid-page. */
const PAGE_OPTIONS = {
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '10 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
} as const;

/** Pages per run before continuing as new, so a fan-out to any number of subscribers keeps a short history. */
const PAGES_PER_RUN = 50;

const { startDeliveries } = proxyActivities<Activities>(PAGE_OPTIONS);

/**
 * Fans one event out to its subscribers. Deliveries are started from an activity, page by page,
 * rather than as child workflows, so this history grows by one activity per page, not per subscriber.
 * Delivery workflow ids are derived from the event and subscription, so a page that runs twice
 * (after a worker crash) starts nothing twice.
 */
export async function dispatchWorkflow(input: DispatchWorkflowInput): Promise<DispatchWorkflowResult> {
  let afterSubscriptionId = input.afterSubscriptionId ?? null;
  let deliveriesStarted = input.deliveriesStarted ?? 0;

  for (let page = 0; ; page++) {
    if (page >= PAGES_PER_RUN || workflowInfo().continueAsNewSuggested) {
      return await continueAsNew<typeof dispatchWorkflow>({ eventId: input.eventId, afterSubscriptionId, deliveriesStarted });
    }

    const result = await startDeliveries({ eventId: input.eventId, afterSubscriptionId });
    deliveriesStarted += result.started;

    if (result.nextAfterSubscriptionId === null) {
      log.info('Event dispatched', { eventId: input.eventId, deliveriesStarted });
      return { deliveriesStarted };
    }
    afterSubscriptionId = result.nextAfterSubscriptionId;
  }
}
