import { ROOT_CONTEXT, SpanKind, SpanStatusCode, context, propagation, trace, type Tracer } from '@opentelemetry/api';
import type { RequestHandler } from 'express';
import { UNMATCHED_ROUTE, routeLabel } from './metrics.js';

/**
 * Express middleware that wraps each request in a server span and makes it the active span, so
 * a workflow the request starts becomes its child. An incoming W3C `traceparent` header becomes
 * the parent. The span is named after the route pattern, such as `PUT /v1/records/:kind/:id`,
 * and carries no query string, header value or body. Mount it first.
 */
export function traceRequests(tracer: Tracer): RequestHandler {
  return (req, res, next) => {
    const parentContext = propagation.extract(ROOT_CONTEXT, req.headers);
    const span = tracer.startSpan(
      req.method,
      { kind: SpanKind.SERVER, attributes: { 'http.request.method': req.method, 'url.path': req.path, 'url.scheme': req.protocol } },
      parentContext,
    );

    res.once('close', () => {
      const route = routeLabel(req);
      if (route !== UNMATCHED_ROUTE) {
        span.updateName(`${req.method} ${route}`);
        span.setAttribute('http.route', route);
      }
      span.setAttribute('http.response.status_code', res.statusCode);
      if (res.statusCode >= 500) {
        span.setStatus({ code: SpanStatusCode.ERROR });
        span.setAttribute('error.type', String(res.statusCode));
      }
      if (!res.writableFinished) {
        // The client closed the connection before the whole response was sent.
        span.setAttribute('error.type', 'connection_closed');
      }
      span.end();
    });

    context.with(trace.setSpan(parentContext, span), next);
  };
}
