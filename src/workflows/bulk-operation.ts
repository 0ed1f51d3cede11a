import { continueAsNew, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { createActivities } from '../activities/index.js';
import type { BulkOperationWorkflowInput, BulkOperationWorkflowResult } from './definitions.js';

type Activities = ReturnType<typeof createActivities>;

/** One page per call; the heartbeat timeout notices a worker that died mid-page. */
const PAGE_OPTIONS = {
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
} as const;

/** Pages per run before continuing as new, so an operation over any number of items keeps a short history. */
const PAGES_PER_RUN = 50;

const { runBulkOperationPage } = proxyActivities<Activities>(PAGE_OPTIONS);

/** Runs a recover or replay of one subscription, page by page, until no items are left. */
export async function bulkOperationWorkflow(input: BulkOperationWorkflowInput): Promise<BulkOperationWorkflowResult> {
  let afterId = input.afterId ?? null;
  let processed = input.processed ?? 0;
  let started = input.started ?? 0;

  for (let page = 0; ; page++) {
    if (page >= PAGES_PER_RUN || workflowInfo().continueAsNewSuggested) {
      return await continueAsNew<typeof bulkOperationWorkflow>({ operationId: input.operationId, afterId, processed, started });
    }

    const result = await runBulkOperationPage({ operationId: input.operationId, afterId, processedBefore: processed, startedBefore: started });
    processed += result.processed;
    started += result.started;
    if (result.nextAfterId === null) {
      return { processed, started };
    }
    afterId = result.nextAfterId;
  }
}
