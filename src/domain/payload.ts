import { isOperationalEventType, type EventDocument } from '../store/documents.js';

/**
 * Builds the JSON body of a webhook for an event, following the Standard Webhooks payload shape
 * (`type`, `timestamp`, `data`). The record is spliced in from its stored JSON text, which is
 * the provider's request body as sent (trimmed), so large numbers and key order survive. A delete
 * carries `"record":null`. The body depends only on the event, so every attempt of a delivery
 * sends the same bytes.
 */
export function buildWebhookBody(event: EventDocument): string {
  if (isOperationalEventType(event.type)) {
    // An operational event stores its whole `data` object as JSON text.
    return `{"type":${JSON.stringify(event.type)},"timestamp":${JSON.stringify(event.createdAt.toISOString())},"data":${event.dataJson}}`;
  }

  const envelope = {
    type: event.type,
    timestamp: event.createdAt.toISOString(),
    data: { kind: event.kind, id: event.recordId, version: event.version, eventId: event._id },
  };
  const head = JSON.stringify(envelope);

  // Insert `"record": <stored JSON>` as the last member of `data`: head ends with `}}`.
  return `${head.slice(0, -2)},"record":${event.dataJson}}}`;
}
