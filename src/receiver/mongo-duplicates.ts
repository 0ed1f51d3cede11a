import type { Collection, Db } from 'mongodb';
import { DEFAULT_CLAIM_TTL_MS, DEFAULT_TTL_MS, type ClaimResult, type DuplicateStore, type DuplicateStoreOptions } from './duplicates.js';

/** One `webhook-id`. `_id` is the id itself, so MongoDB's unique `_id` index decides which copy claims it. */
export interface WebhookIdDocument {
  _id: string;
  state: 'claimed' | 'handled';
  expiresAt: Date;
}

const DUPLICATE_KEY = 11000;
/** The server does not implement an option, as FerretDB 1.24 does not implement `expireAfterSeconds`. */
const NOT_IMPLEMENTED = 238;

/**
 * Keeps `webhook-id`s in a MongoDB collection, shared by every receiving instance. A claim is an
 * insert, so of two concurrent copies of an id exactly one claims it, on MongoDB and on FerretDB.
 *
 * Expired entries are replaced when their id arrives again, whatever the server. Call
 * ensureIndexes() once at start-up: on MongoDB it adds a TTL index that deletes expired entries
 * in the background. FerretDB 1.24 does not delete by TTL, so there entries stay until
 * deleteExpired() removes them; call it from a periodic job.
 */
export class MongoDuplicateStore implements DuplicateStore {
  private readonly ttlMs: number;
  private readonly claimTtlMs: number;

  constructor(
    readonly collection: Collection<WebhookIdDocument>,
    options: DuplicateStoreOptions = {},
  ) {
    this.ttlMs = options.ttlMs ?? DEFAULT_TTL_MS;
    this.claimTtlMs = options.claimTtlMs ?? DEFAULT_CLAIM_TTL_MS;
  }

  /** Returns a store over `collectionName` (default `webhook_ids`) in `db`. */
  static in(db: Db, options: DuplicateStoreOptions & { collectionName?: string } = {}): MongoDuplicateStore {
    return new MongoDuplicateStore(db.collection<WebhookIdDocument>(options.collectionName ?? 'webhook_ids'), options);
  }

  /**
   * Creates the TTL index on `expiresAt`. Returns false when the server does not implement TTL
   * indexes, as FerretDB 1.24 does not. The store still works then, because it checks expiry itself.
   *
   * @throws MongoServerError for any other failure, such as missing privileges.
   */
  async ensureIndexes(): Promise<boolean> {
    try {
      await this.collection.createIndex({ expiresAt: 1 }, { expireAfterSeconds: 0, name: 'expiresAt_ttl' });
      return true;
    } catch (error) {
      if ((error as { code?: unknown }).code === NOT_IMPLEMENTED) {
        return false;
      }
      throw error;
    }
  }

  async claim(webhookId: string): Promise<ClaimResult> {
    if (await this.insertClaim(webhookId)) {
      return 'claimed';
    }

    // An expired entry, handled long ago or abandoned by a crashed handler, gives way to this
    // copy. The delete matches only an expired entry, so it never removes a live claim, and the
    // insert after it is again decided by the unique _id.
    const expired = await this.collection.deleteOne({ _id: webhookId, expiresAt: { $lte: new Date() } });
    if (expired.deletedCount === 1 && (await this.insertClaim(webhookId))) {
      return 'claimed';
    }

    const existing = await this.collection.findOne({ _id: webhookId });
    if (existing === null) {
      // The claim was released a moment ago, so the handler failed: let the sender retry.
      return 'in-progress';
    }
    return existing.state === 'handled' ? 'handled' : 'in-progress';
  }

  async complete(webhookId: string): Promise<void> {
    await this.collection.updateOne({ _id: webhookId }, { $set: { state: 'handled', expiresAt: new Date(Date.now() + this.ttlMs) } }, { upsert: true });
  }

  async release(webhookId: string): Promise<void> {
    await this.collection.deleteOne({ _id: webhookId, state: 'claimed' });
  }

  /** Deletes every expired entry and returns how many there were. Needed only where TTL indexes do not work. */
  async deleteExpired(): Promise<number> {
    const result = await this.collection.deleteMany({ expiresAt: { $lte: new Date() } });
    return result.deletedCount;
  }

  private async insertClaim(webhookId: string): Promise<boolean> {
    try {
      await this.collection.insertOne({ _id: webhookId, state: 'claimed', expiresAt: new Date(Date.now() + this.claimTtlMs) });
      return true;
    } catch (error) {
      if ((error as { code?: unknown }).code === DUPLICATE_KEY) {
        return false;
      }
      throw error;
    }
  }
}
