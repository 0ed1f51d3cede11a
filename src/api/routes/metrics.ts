import { Router } from 'express';
import type { ApiMetrics } from '../metrics.js';
import { handleOperation } from '../operation-handler.js';
import { operations } from '../operations.js';

/** Serves this process's metrics in the Prometheus text format. */
export function metricsRouter(metrics: ApiMetrics): Router {
  const router = Router();

  handleOperation(router, operations.metrics, [], async (_req, res) => {
    const body = await metrics.registry.metrics();
    res.type(metrics.registry.contentType).send(body);
  });

  return router;
}
