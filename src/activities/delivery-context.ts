import { trace, type Attributes } from '@opentelemetry/api';
import type { ActivityInterceptorsFactory } from '@temporalio/worker';
import { idsFromWorkflowId } from '../workflows/log-context.js';
import type { AttemptOutcome } from './types.js';

/**
 * Activity interceptors that add the delivery's ids to every log line of an activity, the SDK's
 * own lines included: the event id, the subscription id, the delivery id and the attempt number,
 * as far as the activity has them. The SDK's activity retry count becomes `activityAttempt`. While tracing is on they also become attributes of the
 * activity's span, with the receiver's HTTP status once an attempt ends. With tracing off there
 * is no active span and the attributes cost nothing.
 *
 * Put this factory after the tracing interceptors, so that its code runs inside the activity span.
 */
export const deliveryContextInterceptors: ActivityInterceptorsFactory = (ctx) => {
  const ids: Record<string, string | number> = { ...idsFromWorkflowId(ctx.info.workflowExecution?.workflowId ?? '') };

  return {
    inbound: {
      async execute(input, next) {
        const first: unknown = input.args[0];
        if (typeof first === 'object' && first !== null) {
          const { deliveryId, attempt } = first as { deliveryId?: unknown; attempt?: unknown };
          if (typeof deliveryId === 'string') {
            ids.deliveryId = deliveryId;
          }
          if (typeof attempt === 'number') {
            ids.attempt = attempt;
          }
        }

        const span = trace.getActiveSpan();
        span?.setAttributes(spanAttributes(ids));
        const result = await next(input);
        if (span !== undefined && ctx.info.activityType === 'attemptDelivery') {
          span.setAttributes(outcomeAttributes(result as AttemptOutcome));
        }
        return result;
      },
    },
    outbound: {
      getLogAttributes(input, next) {
        // The SDK's own `attempt` counts Temporal's retries of this activity call. It moves to
        // `activityAttempt`, so that `attempt` is always the delivery attempt.
        const { attempt: activityAttempt, ...sdkAttributes } = input;
        return next({ ...sdkAttributes, activityAttempt, ...ids });
      },
    },
  };
};

/** Span attribute names follow OpenTelemetry's conventions: a `doorbell.` namespace and snake_case. */
function spanAttributes(ids: Record<string, string | number>): Attributes {
  const attributes: Attributes = {};
  if (ids.eventId !== undefined) attributes['doorbell.event_id'] = ids.eventId;
  if (ids.subscriptionId !== undefined) attributes['doorbell.subscription_id'] = ids.subscriptionId;
  if (ids.deliveryId !== undefined) attributes['doorbell.delivery_id'] = ids.deliveryId;
  if (ids.attempt !== undefined) attributes['doorbell.attempt'] = ids.attempt;
  return attributes;
}

function outcomeAttributes(outcome: AttemptOutcome): Attributes {
  const attributes: Attributes = { 'doorbell.attempt.outcome': outcome.kind };
  if ('statusCode' in outcome && outcome.statusCode !== null) {
    attributes['http.response.status_code'] = outcome.statusCode;
  }
  // The error text may quote the endpoint URL, so only its class goes into the span.
  if (outcome.kind === 'failed') {
    attributes['error.type'] = outcome.statusCode === null ? 'network_error' : String(outcome.statusCode);
  }
  return attributes;
}
