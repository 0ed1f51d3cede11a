import {
  ParentClosePolicy,
  condition,
  continueAsNew,
  defineSignal,
  log,
  proxyActivities,
  setHandler,
  startChild,
  workflowInfo,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { createActivities } from '../activities/index.js';
import { deliveryWorkflow, supersedeSignal } from './delivery.js';
import {
  ENQUEUE_SIGNAL,
  SEARCH_ATTRIBUTES,
  deliveryWorkflowId,
  type DeliveryWorkflowInput,
  type DeliveryWorkflowResult,
  type RecordStreamInput,
  type StreamedDelivery,
  type SupersededBy,
} from './definitions.js';
import { enqueueDelivery, newestQueuedVersion, planNextDelivery } from './stream-queue.js';

type Activities = ReturnType<typeof createActivities>;

const BOOKKEEPING_OPTIONS = {
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
} as const;

/**
 * How long an idle stream waits for another event before it ends. While it waits it still
 * remembers the version it started last, so a version that arrives late is recognized as late.
 */
const STREAM_IDLE_MS = 60_000;

/** Deliveries per run before the stream continues as new, which keeps its history short. */
const DELIVERIES_PER_RUN = 200;

const { markSuperseded } = proxyActivities<Activities>(BOOKKEEPING_OPTIONS);

export const enqueueSignal = defineSignal<[StreamedDelivery]>(ENQUEUE_SIGNAL);

export interface RecordStreamResult {
  deliveriesStarted: number;
}

/**
 * Delivers the events of one record to one subscription one at a time, for subscriptions with
 * `ordering: "per-record"` or `mode: "latest"`. The dispatch signals each event here (signal-with-start).
 * The stream runs each delivery as a child workflow with the usual delivery workflow id, so the
 * delivery and its webhook-id look the same as an unordered one in the API and the Web UI.
 *
 * In `every-event` mode a newer version starts when the older delivery has ended: succeeded,
 * failed after its retry window, or cancelled. In `latest` mode a newer version also supersedes
 * the running delivery: the delivery ends at its next wait instead of retrying, and the newest
 * version is started in its place.
 */
export async function recordStreamWorkflow(input: RecordStreamInput): Promise<RecordStreamResult> {
  let queued = [...(input.queued ?? [])];
  let lastStarted: SupersededBy | null = input.lastStarted ?? null;
  // Deliveries this run has seen, so that a repeated signal (a retried dispatch page) queues nothing twice.
  const seen = new Set(queued.map((item) => item.deliveryId));
  setHandler(enqueueSignal, (delivery) => {
    if (!seen.has(delivery.deliveryId)) {
      seen.add(delivery.deliveryId);
      queued = enqueueDelivery(queued, delivery);
    }
  });

  for (let started = 0; ; ) {
    const hasWork = await condition(() => queued.length > 0, STREAM_IDLE_MS);
    if (!hasWork) {
      return { deliveriesStarted: started };
    }
    if (started >= DELIVERIES_PER_RUN || workflowInfo().continueAsNewSuggested) {
      return await continueAsNew<typeof recordStreamWorkflow>({ ...input, queued, lastStarted });
    }

    const step = planNextDelivery(queued, input.mode, lastStarted);
    queued = step.remaining;
    if (step.superseded.length > 0 && step.supersededBy !== null) {
      await markSuperseded({
        deliveryIds: step.superseded.map((item) => item.deliveryId),
        supersededBy: step.supersededBy,
        streamWorkflowId: workflowInfo().workflowId,
      });
    }
    if (step.next === null) {
      continue;
    }

    await runDelivery(input, step.next, () => queued);
    lastStarted = { version: step.next.version, deliveryId: step.next.deliveryId };
    started++;
  }
}

/**
 * Runs one delivery as a child workflow and waits until it ends. In `latest` mode it forwards
 * every newer queued version to the child as a supersede signal while the child runs.
 */
async function runDelivery(input: RecordStreamInput, delivery: StreamedDelivery, currentQueue: () => StreamedDelivery[]): Promise<void> {
  const childInput: DeliveryWorkflowInput = {
    deliveryId: delivery.deliveryId,
    eventId: delivery.eventId,
    subscriptionId: input.subscriptionId,
    retryWindowMs: delivery.retryWindowMs,
    retrySchedule: delivery.retrySchedule,
  };

  let child;
  try {
    child = await startChild(deliveryWorkflow, {
      workflowId: deliveryWorkflowId(delivery.eventId, input.subscriptionId),
      args: [childInput],
      // A delivery that already ran (a repeated signal after continue-as-new) is not run again.
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
      // A delivery outlives its stream, for example when an operator terminates the stream.
      parentClosePolicy: ParentClosePolicy.ABANDON,
      typedSearchAttributes: [
        { key: SEARCH_ATTRIBUTES.subscriptionId, value: input.subscriptionId },
        { key: SEARCH_ATTRIBUTES.record, value: `${input.kind}/${input.recordId}` },
        { key: SEARCH_ATTRIBUTES.eventId, value: delivery.eventId },
        { key: SEARCH_ATTRIBUTES.deliveryStatus, value: 'pending' },
      ],
    });
  } catch (error) {
    if (error instanceof WorkflowExecutionAlreadyStartedError) {
      log.info('Delivery already ran; not starting it again', { deliveryId: delivery.deliveryId });
      return;
    }
    throw error;
  }

  let isDone = false;
  const result = child.result().then(
    (value: DeliveryWorkflowResult) => value,
    (error: unknown) => {
      // The child's own failure is in its history; the stream moves on to the next version.
      log.warn('Delivery workflow failed', { deliveryId: delivery.deliveryId, error: String(error) });
      return null;
    },
  );
  void result.then(() => {
    isDone = true;
  });

  if (input.mode === 'latest') {
    let signaledVersion = delivery.version;
    while (!isDone) {
      await condition(() => isDone || newestQueuedVersion(currentQueue()) > signaledVersion);
      if (isDone) {
        break;
      }
      const newest = currentQueue()[currentQueue().length - 1]!;
      try {
        await child.signal(supersedeSignal, { version: newest.version, deliveryId: newest.deliveryId });
      } catch (error) {
        // The child ended between the check and the signal; its result follows.
        log.debug('Supersede signal not delivered', { deliveryId: delivery.deliveryId, error: String(error) });
      }
      signaledVersion = newest.version;
    }
  }

  const outcome = await result;
  log.info('Streamed delivery ended', { deliveryId: delivery.deliveryId, version: delivery.version, status: outcome?.status ?? 'failed' });
}
