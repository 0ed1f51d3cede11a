// The worker bundles this file into the workflow sandbox: export workflows only.
export { dispatchWorkflow } from './dispatch.js';
export { deliveryWorkflow } from './delivery.js';
export { bulkOperationWorkflow } from './bulk-operation.js';
export { recordStreamWorkflow } from './record-stream.js';
export { catchUpWorkflow } from './catch-up.js';
