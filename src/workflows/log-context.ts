/**
 * Workflow interceptors that add a delivery's ids to every log line its workflows write, the
 * SDK's own lines included. The worker bundles this module into the workflow sandbox, so it must
 * stay free of Node.js APIs.
 */
import { workflowInfo, type WorkflowInterceptorsFactory } from '@temporalio/workflow';

/** The ids in a dispatch or delivery workflow id; see dispatchWorkflowId and deliveryWorkflowId. */
export interface WorkflowIds {
  eventId?: string;
  subscriptionId?: string;
}

/** Reads the event and subscription ids out of a workflow id, or returns no ids for another workflow. */
export function idsFromWorkflowId(workflowId: string): WorkflowIds {
  const [prefix, eventId, subscriptionId, ...rest] = workflowId.split(':');
  if (rest.length > 0 || eventId === undefined || eventId === '') {
    return {};
  }
  if (prefix === 'dispatch' && subscriptionId === undefined) {
    return { eventId };
  }
  if (prefix === 'delivery' && subscriptionId !== undefined && subscriptionId !== '') {
    return { eventId, subscriptionId };
  }
  return {};
}

/**
 * The SDK calls this factory once per workflow execution. The ids come from the workflow id,
 * which is known before the first line is logged; the delivery id comes from the input.
 */
export const interceptors: WorkflowInterceptorsFactory = () => {
  let deliveryId: string | undefined;

  return {
    inbound: [
      {
        execute(input, next) {
          const first: unknown = input.args[0];
          if (typeof first === 'object' && first !== null && typeof (first as { deliveryId?: unknown }).deliveryId === 'string') {
            deliveryId = (first as { deliveryId: string }).deliveryId;
          }
          return next(input);
        },
      },
    ],
    outbound: [
      {
        getLogAttributes(input, next) {
          return next({ ...idsFromWorkflowId(workflowInfo().workflowId), ...(deliveryId === undefined ? {} : { deliveryId }), ...input });
        },
      },
    ],
  };
};
