import type { SecretBox } from '../domain/secrets.js';
import type { WorkerMetrics } from '../metrics/worker-metrics.js';
import type { Store } from '../store/mongo.js';
import type { TemporalTarget } from '../temporal/start-workflows.js';
import type { RetrySchedule } from '../workflows/retry-schedule.js';
import { createAttemptDelivery } from './attempt-delivery.js';
import { createEmitOperationalEvents } from './emit-operational-events.js';
import { createFinishDelivery } from './finish-delivery.js';
import { createRunBulkOperationPage } from './run-bulk-operation-page.js';
import type { WebhookSender } from './send-webhook.js';
import { createStartDeliveries } from './start-deliveries.js';

export interface ActivityDependencies {
  store: Store;
  temporal: TemporalTarget;
  secretBox: SecretBox;
  sender: WebhookSender;
  dispatchPageSize: number;
  metrics: WorkerMetrics;
  retrySchedule: RetrySchedule;
  endpointDisableAfterMs: number;
}

/** Builds every activity the worker registers, each bound to its dependencies. */
export function createActivities(deps: ActivityDependencies) {
  return {
    startDeliveries: createStartDeliveries({ store: deps.store, temporal: deps.temporal, pageSize: deps.dispatchPageSize, retrySchedule: deps.retrySchedule }),
    attemptDelivery: createAttemptDelivery({ store: deps.store, secretBox: deps.secretBox, sender: deps.sender, metrics: deps.metrics, endpointDisableAfterMs: deps.endpointDisableAfterMs }),
    finishDelivery: createFinishDelivery({ store: deps.store }),
    emitOperationalEvents: createEmitOperationalEvents({ store: deps.store, temporal: deps.temporal, retrySchedule: deps.retrySchedule }),
    runBulkOperationPage: createRunBulkOperationPage({ store: deps.store, temporal: deps.temporal, pageSize: deps.dispatchPageSize, retrySchedule: deps.retrySchedule }),
  };
}
