/**
 * The receiver kit: what an application needs to accept Doorbell's webhooks safely. It verifies
 * the Standard Webhooks signature over the raw body, rejects stale timestamps (replays), and
 * runs the handler once per `webhook-id`, since delivery is at least once.
 *
 * Import it as `doorbell/receiver`. It depends on `express` and `standardwebhooks`, and the
 * MongoDB store on the `mongodb` driver's types only.
 */
export { DEFAULT_TOLERANCE_SECONDS, WebhookRejectedError, verifyWebhook, type RejectionReason, type WebhookEvent } from './verify.js';
export { MemoryDuplicateStore, type ClaimResult, type DuplicateStore, type DuplicateStoreOptions } from './duplicates.js';
export { MongoDuplicateStore, type WebhookIdDocument } from './mongo-duplicates.js';
export { createWebhookProcessor, nodeWebhookHandler, webhookHandler, type WebhookHandlerOptions, type WebhookResponse } from './handlers.js';
