import express, { type Express } from 'express';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { LevelWithSilent } from 'pino';
import { pinoHttp } from 'pino-http';
import { authenticate, rateLimitPerKey } from './auth.js';
import type { ApiContext } from './context.js';
import { ConnectionDrain } from './draining.js';
import { loadShedding } from './load-shedding.js';
import { ApiMetrics } from './metrics.js';
import { notFoundHandler, problemHandler } from './problem.js';
import { apiKeysRouter } from './routes/api-keys.js';
import { bulkOperationsRouter } from './routes/bulk-operations.js';
import { deliveriesRouter } from './routes/deliveries.js';
import { docsRouter } from './routes/docs.js';
import { healthRouter } from './routes/health.js';
import { methodNotAllowed } from './routes/method-not-allowed.js';
import { metricsRouter } from './routes/metrics.js';
import { recordsRouter } from './routes/records.js';
import { subscriptionsRouter } from './routes/subscriptions.js';
import { traceRequests } from './tracing.js';
import type { Tracing } from '../tracing.js';

/**
 * Builds the Express application. Express 5 passes rejected async handlers to the error handler.
 * With `tracing`, every request becomes a server span.
 */
export function createApp(ctx: ApiContext, options: { tracing?: Pick<Tracing, 'tracer'> } = {}): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  if (options.tracing !== undefined) {
    app.use(traceRequests(options.tracing.tracer));
  }

  // Every route is mounted with handleOperation from its entry in operations.ts, which is also
  // what the OpenAPI document at /openapi.json is built from.
  const metrics = new ApiMetrics();
  app.use(metrics.middleware());
  app.use(
    pinoHttp<IncomingMessage, ServerResponse, never>({
      logger: ctx.logger,
      // Request and response bodies are never logged: they may carry signing secrets.
      serializers: {
        req: (req: { method: string; url: string; id: unknown }) => ({ id: req.id, method: req.method, url: req.url }),
        res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
      },
      customLogLevel: (_req, res, error): LevelWithSilent => (error !== undefined || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'info' : 'debug'),
    }),
  );

  const drain = new ConnectionDrain();
  app.locals.drain = drain;
  app.use(drain.middleware);
  app.use(loadShedding({ maxInFlight: ctx.config.api.maxInFlightRequests, retryAfterSeconds: 1 }));
  // Each route then checks the role of the key it found; see handleOperation.
  app.use(authenticate(ctx.store));
  app.use(rateLimitPerKey(ctx.config.api.rateLimit));
  app.use(healthRouter(ctx));
  app.use(recordsRouter(ctx, metrics));
  app.use(subscriptionsRouter(ctx));
  app.use(bulkOperationsRouter(ctx));
  app.use(deliveriesRouter(ctx));
  app.use(metricsRouter(metrics));
  app.use(docsRouter());
  app.use(apiKeysRouter(ctx));

  app.use(methodNotAllowed());
  app.use(notFoundHandler);
  app.use(problemHandler(ctx.logger));
  return app;
}
