import type { Logger } from 'pino';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { AttemptOutcome } from '../activities/types.js';
import type { Store } from '../store/mongo.js';

/** Outcome of one delivery attempt, as the attemptDelivery activity reports it. */
export type AttemptOutcomeKind = AttemptOutcome['kind'];

const ATTEMPT_OUTCOMES: readonly AttemptOutcomeKind[] = ['delivered', 'failed', 'gone', 'aborted', 'skipped', 'deferred'];

/** Deliveries that have not ended. Ended ones (succeeded, failed, cancelled) grow without bound and are not counted. */
const OPEN_DELIVERY_STATUSES = ['pending', 'retrying'] as const;

/**
 * Upper bounds of the attempt latency buckets, in seconds. Receivers are expected to respond
 * within a second or so, and the slowest attempts reach DELIVERY_ATTEMPT_TIMEOUT_MS, at most 60 s.
 */
const ATTEMPT_DURATION_BUCKETS = [0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15, 30, 60];

/** Time a scrape waits for one MongoDB query before it leaves that gauge out. */
const QUERY_TIMEOUT_MS = 2_000;

/**
 * The Prometheus metrics of one worker. Counters are incremented by the activities and the
 * reconciler, never by workflow code, which must stay deterministic. Gauges are computed from
 * MongoDB when the registry is scraped, with one count or index-backed query each.
 */
export class WorkerMetrics {
  readonly registry = new Registry();

  readonly attempts = new Counter({
    name: 'doorbell_delivery_attempts_total',
    help: 'Delivery attempts by outcome: delivered (2xx), failed (any other response, network error or timeout), gone (410), aborted (the receiver sent `webhook-delivery: abort`), skipped (subscription no longer active, nothing sent), deferred (endpoint at its concurrency cap, nothing sent, tried again shortly).',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  readonly attemptDuration = new Histogram({
    name: 'doorbell_delivery_attempt_duration_seconds',
    help: 'Time from sending a webhook request to reading the end of the response, or to the error, by outcome.',
    labelNames: ['outcome'] as const,
    buckets: ATTEMPT_DURATION_BUCKETS,
    registers: [this.registry],
  });

  readonly reconcilerDispatches = new Counter({
    name: 'doorbell_reconciler_events_dispatched_total',
    help: 'Events the reconciler dispatched because the API had not recorded their dispatch, for example after it crashed.',
    registers: [this.registry],
  });

  private readonly failingQueries = new Set<string>();

  constructor(private readonly deps: { store: Store; logger: Logger }) {
    collectDefaultMetrics({ register: this.registry });
    for (const outcome of ATTEMPT_OUTCOMES) {
      // Every outcome is exported from the start, so rate() works before its first attempt.
      this.attempts.inc({ outcome }, 0);
    }

    // Inside collect(), `this` is the gauge.
    const query = <T>(name: string, run: () => Promise<T>): Promise<T | undefined> => this.query(name, run);
    new Gauge({
      name: 'doorbell_deliveries_open',
      help: 'Deliveries that have not ended, by status (pending or retrying). Counted in MongoDB at scrape time.',
      labelNames: ['status'] as const,
      registers: [this.registry],
      async collect() {
        const counts = await query('deliveries_open', () =>
          Promise.all(OPEN_DELIVERY_STATUSES.map((status) => deps.store.deliveries.countDocuments({ status }, { maxTimeMS: QUERY_TIMEOUT_MS }))),
        );
        this.reset();
        if (counts !== undefined) {
          OPEN_DELIVERY_STATUSES.forEach((status, index) => this.set({ status }, counts[index]!));
        }
      },
    });

    new Gauge({
      name: 'doorbell_subscriptions_disabled',
      help: 'Subscriptions disabled because their receiver responded 410 Gone. Counted in MongoDB at scrape time.',
      registers: [this.registry],
      async collect() {
        const count = await query('subscriptions_disabled', () => deps.store.subscriptions.countDocuments({ status: 'disabled' }, { maxTimeMS: QUERY_TIMEOUT_MS }));
        this.reset();
        if (count !== undefined) {
          this.set(count);
        }
      },
    });

    new Gauge({
      name: 'doorbell_reconciler_lag_seconds',
      help: 'Age of the oldest event whose dispatch has not started, or 0 when there is none. Read from MongoDB at scrape time.',
      registers: [this.registry],
      async collect() {
        const oldest = await query('reconciler_lag', () =>
          deps.store.events.find({ dispatchedAt: null }, { projection: { createdAt: 1 }, maxTimeMS: QUERY_TIMEOUT_MS }).sort({ createdAt: 1 }).limit(1).next(),
        );
        this.reset();
        if (oldest !== undefined) {
          this.set(oldest === null ? 0 : Math.max(0, (Date.now() - oldest.createdAt.getTime()) / 1000));
        }
      },
    });
  }

  /** Counts one attempt and, when a request was sent, its duration. */
  recordAttempt(outcome: AttemptOutcomeKind, durationMs: number | null): void {
    this.attempts.inc({ outcome });
    if (durationMs !== null) {
      this.attemptDuration.observe({ outcome }, durationMs / 1000);
    }
  }

  /**
   * Runs one scrape-time query. On failure or timeout it logs once until the query succeeds
   * again and returns undefined, so the scrape still returns every other metric.
   */
  private async query<T>(name: string, run: () => Promise<T>): Promise<T | undefined> {
    let timer: NodeJS.Timeout | undefined;
    try {
      const timeout = new Promise<never>((_resolve, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${QUERY_TIMEOUT_MS} ms`)), QUERY_TIMEOUT_MS);
      });
      const result = await Promise.race([run(), timeout]);
      if (this.failingQueries.delete(name)) {
        this.deps.logger.info({ metric: name }, 'Metric query succeeds again');
      }
      return result;
    } catch (error) {
      if (!this.failingQueries.has(name)) {
        this.failingQueries.add(name);
        this.deps.logger.warn({ err: error, metric: name }, 'Metric query failed; the gauge is left out of scrapes until it succeeds');
      }
      return undefined;
    } finally {
      clearTimeout(timer);
    }
  }
}
