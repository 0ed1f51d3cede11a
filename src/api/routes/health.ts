import { Router } from 'express';
import type { ApiContext } from '../context.js';
import { drainOf } from '../draining.js';
import { handleOperation } from '../operation-handler.js';
import { operations } from '../operations.js';

const CHECK_TIMEOUT_MS = 2_000;

export function healthRouter(ctx: ApiContext): Router {
  const router = Router();

  /** Liveness: the process serves HTTP. */
  handleOperation(router, operations.liveness, [], (_req, res) => {
    res.json({ status: 'ok' });
  });

  /** Readiness: MongoDB and Temporal both respond, so writes can be accepted and dispatched. */
  handleOperation(router, operations.readiness, [], async (req, res) => {
    if (drainOf(req.app).isDraining) {
      const skipped = 'not checked: the API is stopping';
      res.status(503).json({ status: 'not ready', checks: { mongodb: skipped, temporal: skipped } });
      return;
    }
    const [mongo, temporal] = await Promise.all([
      check(() => ctx.store.db.command({ ping: 1 })),
      // Describing the namespace proves both the connection and that the namespace exists.
      check(() => ctx.temporal.client.workflowService.describeNamespace({ namespace: ctx.config.temporal.namespace })),
    ]);
    const ready = mongo === 'ok' && temporal === 'ok';
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not ready', checks: { mongodb: mongo, temporal } });
  });

  return router;
}

async function check(probe: () => Promise<unknown>): Promise<string> {
  try {
    await Promise.race([
      probe(),
      new Promise((_resolve, reject) => setTimeout(() => reject(new Error(`no response within ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS).unref()),
    ]);
    return 'ok';
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}
