import type { SecretBox } from '../domain/secrets.js';
import type { WorkerMetrics } from '../metrics/worker-metrics.js';
import type { Store } from '../store/mongo.js';
import type { TemporalTarget } from '../temporal/start-workflows.js';
import type { RetrySchedule } from '../workflows/retry-schedule.js';
import { createAttemptDelivery } from './attempt-delivery.js';
import type { EndpointConcurrencyLimiter } from './endpoint-limiter.js';
import { createFinishDelivery } from './finish-delivery.js';
import type { WebhookSender } from './send-webhook.js';
import { createStartDeliveries } from './start-deliveries.js';

export interface ActivityDependencies {
  store: Store;
  temporal: TemporalTarget;
  secretBox: SecretBox;
  sender: WebhookSender;
  limiter: EndpointConcurrencyLimiter;
  dispatchPageSize: number;
  metrics: WorkerMetrics;
  retrySchedule: RetrySchedule;
}

/** Builds every activity the worker registers, each bound to its dependencies. */
export function createActivities(deps: ActivityDependencies) {
  return {
    startDeliveries: createStartDeliveries({ store: deps.store, temporal: deps.temporal, pageSize: deps.dispatchPageSize, retrySchedule: deps.retrySchedule }),
    attemptDelivery: createAttemptDelivery({ store: deps.store, secretBox: deps.secretBox, sender: deps.sender, limiter: deps.limiter, metrics: deps.metrics }),
    finishDelivery: createFinishDelivery({ store: deps.store }),
  };
}
