import { MongoClient, type Collection, type Db } from 'mongodb';
import { backfillRecordHeads } from './record-heads.js';
import type { ApiKeyDocument, BulkOperationDocument, DeliveryDocument, EventDocument, IdempotencyDocument, RecordHeadDocument, SubscriptionDocument } from './documents.js';

export interface Store {
  client: MongoClient;
  db: Db;
  events: Collection<EventDocument>;
  recordHeads: Collection<RecordHeadDocument>;
  subscriptions: Collection<SubscriptionDocument>;
  deliveries: Collection<DeliveryDocument>;
  idempotencyKeys: Collection<IdempotencyDocument>;
  bulkOperations: Collection<BulkOperationDocument>;
  apiKeys: Collection<ApiKeyDocument>;
}

/** Connects to MongoDB (or a compatible server) and creates the indexes Doorbell relies on. */
export async function openStore(options: { uri: string; database: string; appName: string }): Promise<Store> {
  const client = new MongoClient(options.uri, {
    appName: options.appName,
    serverSelectionTimeoutMS: 10_000,
    // A write that lost its connection is retried once by the driver; ours are idempotent by id.
    retryWrites: true,
  });
  await client.connect();

  const db = client.db(options.database);
  const store: Store = {
    client,
    db,
    events: db.collection('events'),
    recordHeads: db.collection('record_heads'),
    subscriptions: db.collection('subscriptions'),
    deliveries: db.collection('deliveries'),
    idempotencyKeys: db.collection('idempotency_keys'),
    bulkOperations: db.collection('bulk_operations'),
    apiKeys: db.collection('api_keys'),
  };
  await ensureIndexes(store);
  await backfillRecordHeads(store);
  return store;
}

async function ensureIndexes(store: Store): Promise<void> {
  // The unique version index is what keeps two concurrent writers from both claiming a version.
  await store.events.createIndex({ kind: 1, recordId: 1, version: 1 }, { unique: true, name: 'record_version_unique' });
  await store.events.createIndex({ dispatchedAt: 1, createdAt: 1 }, { name: 'undispatched' });

  await store.subscriptions.createIndex({ dedupeKey: 1 }, { unique: true, name: 'dedupe_key_unique' });
  await store.subscriptions.createIndex({ target: 1, status: 1, _id: 1 }, { name: 'target_status' });
  // The worker's metrics count subscriptions and deliveries by status at every scrape.
  await store.subscriptions.createIndex({ status: 1 }, { name: 'status' });

  // Subscribers list their own account's subscriptions.
  await store.subscriptions.createIndex({ accountId: 1, _id: 1 }, { name: 'account' });

  await store.deliveries.createIndex({ subscriptionId: 1, status: 1, _id: 1 }, { name: 'subscription_status' });
  await store.deliveries.createIndex({ eventId: 1 }, { name: 'event' });
  // Record streams look up the highest version a subscription already has a delivery of.
  await store.deliveries.createIndex({ subscriptionId: 1, kind: 1, recordId: 1, version: 1 }, { name: 'subscription_record_version' });
  await store.deliveries.createIndex({ status: 1 }, { name: 'status' });
  // Replays page through the events of a kind in id order.
  await store.events.createIndex({ kind: 1, createdAt: 1 }, { name: 'kind_created' });

  // Every authenticated request finds its key by the token's digest.
  await store.apiKeys.createIndex({ tokenHash: 1 }, { unique: true, name: 'token_hash_unique' });
  await store.apiKeys.createIndex({ accountId: 1 }, { name: 'account' });

  // MongoDB removes expired idempotency keys by this TTL index. FerretDB v1 has no TTL indexes, so there the
  // index is a plain one and the worker's reconciler deletes expired keys on each pass.
  try {
    await store.idempotencyKeys.createIndex({ expiresAt: 1 }, { expireAfterSeconds: 0, name: 'expires_at_ttl' });
  } catch (error) {
    if ((error as { code?: unknown }).code !== NOT_IMPLEMENTED) {
      throw error;
    }
    await store.idempotencyKeys.createIndex({ expiresAt: 1 }, { name: 'expires_at' });
  }
}

/** MongoDB's error code for a feature a compatible server does not implement. */
const NOT_IMPLEMENTED = 238;

/** True for MongoDB's duplicate key error (E11000). */
export function isDuplicateKeyError(error: unknown): boolean {
  return typeof error === 'object' && error !== null && 'code' in error && (error as { code: unknown }).code === 11000;
}
