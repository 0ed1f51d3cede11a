import type { SecretBox } from '../domain/secrets.js';
import type { WorkerMetrics } from '../metrics/worker-metrics.js';
import type { Store } from '../store/mongo.js';
import type { TemporalTarget } from '../temporal/start-workflows.js';
import type { RetrySchedule } from '../workflows/retry-schedule.js';
import { createAttemptDelivery } from './attempt-delivery.js';
import { createWakeWaitingDeliveries } from './catch-up.js';
import { createEmitOperationalEvents } from './emit-operational-events.js';
import type { EndpointConcurrencyLimiter } from './endpoint-limiter.js';
import { createFinishDelivery } from './finish-delivery.js';
import { createMarkSuperseded } from './mark-superseded.js';
import { createRunBulkOperationPage } from './run-bulk-operation-page.js';
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
  endpointDisableAfterMs: number;
  /** Early attempts per second, at most, that a catch-up starts for one subscription. */
  catchUpRatePerSecond: number;
}

/** Builds every activity the worker registers, each bound to its dependencies. */
export function createActivities(deps: ActivityDependencies) {
  return {
    startDeliveries: createStartDeliveries({ store: deps.store, temporal: deps.temporal, pageSize: deps.dispatchPageSize, retrySchedule: deps.retrySchedule }),
    attemptDelivery: createAttemptDelivery({
      store: deps.store,
      secretBox: deps.secretBox,
      sender: deps.sender,
      limiter: deps.limiter,
      metrics: deps.metrics,
      endpointDisableAfterMs: deps.endpointDisableAfterMs,
      catchUp: { store: deps.store, temporal: deps.temporal, catchUpRatePerSecond: deps.catchUpRatePerSecond },
    }),
    finishDelivery: createFinishDelivery({ store: deps.store }),
    emitOperationalEvents: createEmitOperationalEvents({ store: deps.store, temporal: deps.temporal, retrySchedule: deps.retrySchedule }),
    runBulkOperationPage: createRunBulkOperationPage({ store: deps.store, temporal: deps.temporal, pageSize: deps.dispatchPageSize, retrySchedule: deps.retrySchedule }),
    markSuperseded: createMarkSuperseded({ store: deps.store }),
    wakeWaitingDeliveries: createWakeWaitingDeliveries({ store: deps.store, temporal: deps.temporal }),
  };
}
