import type { Request, RequestHandler } from 'express';
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Route label of requests that matched no route: unknown paths, or a known path with a method it has no route for. */
export const UNMATCHED_ROUTE = 'unmatched';

/**
 * The Prometheus metrics of one API process. Each instance has a registry of its own, not
 * prom-client's global one, so several apps can be built in one process (tests do).
 */
export class ApiMetrics {
  readonly registry = new Registry();

  readonly requests = new Counter({
    name: 'doorbell_api_requests_total',
    help: 'HTTP responses sent, by method, Express route pattern and status code.',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [this.registry],
  });

  readonly requestDuration = new Histogram({
    name: 'doorbell_api_request_duration_seconds',
    help: 'Time from receiving a request to sending the end of its response, by method and Express route pattern.',
    labelNames: ['method', 'route'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });

  readonly eventsWritten = new Counter({
    name: 'doorbell_api_events_written_total',
    help: 'Record writes stored as events by this process, by event type.',
    labelNames: ['type'] as const,
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  /** Counts and times every response. Mount it before the routes. */
  middleware(): RequestHandler {
    return (req, res, next) => {
      const stopTimer = this.requestDuration.startTimer();
      res.once('finish', () => {
        const labels = { method: req.method, route: routeLabel(req) };
        stopTimer(labels);
        this.requests.inc({ ...labels, status: String(res.statusCode) });
      });
      next();
    };
  }
}

/**
 * Returns the route pattern a request matched, such as `/v1/records/:kind/:id`, never the raw
 * URL, so the number of label values stays bounded. A response sent by a middleware mounted at a
 * path, such as a static file under `/docs/assets`, gets that path followed by `/*`.
 */
export function routeLabel(req: Request): string {
  const route = req.route as { path?: unknown } | undefined;
  if (typeof route?.path === 'string') {
    return `${req.baseUrl}${route.path}`;
  }
  return req.baseUrl === '' ? UNMATCHED_ROUTE : `${req.baseUrl}/*`;
}
