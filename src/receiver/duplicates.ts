/** Result of claiming a `webhook-id`. */
export type ClaimResult =
  /** This caller is the first: run the handler, then call complete(), or release() when it fails. */
  | 'claimed'
  /** The handler already succeeded for this id: respond 2xx without running it again. */
  | 'handled'
  /** Another request has the claim, and its handler is still running. */
  | 'in-progress';

/**
 * Remembers which `webhook-id`s were handled, so that a repeated delivery runs the handler once.
 * Two concurrent copies of one id both call claim(), and only one of them gets 'claimed'.
 * Implement it over a store that all receiving instances share when there are several.
 */
export interface DuplicateStore {
  claim(webhookId: string): Promise<ClaimResult>;
  /** Marks a claimed id as handled, for the store's retention time. */
  complete(webhookId: string): Promise<void>;
  /** Gives up a claim after the handler failed, so that the next delivery of the id runs it. */
  release(webhookId: string): Promise<void>;
}

export interface DuplicateStoreOptions {
  /** How long a handled id is remembered. Default 24 hours. */
  ttlMs?: number;
  /**
   * How long a claim blocks other copies of its id while the handler runs. A claim older than
   * this counts as abandoned, for example by a process that crashed, and the next copy takes it over.
   * Default 5 minutes.
   */
  claimTtlMs?: number;
}

export const DEFAULT_TTL_MS = 24 * 60 * 60 * 1000;
export const DEFAULT_CLAIM_TTL_MS = 5 * 60 * 1000;

interface MemoryEntry {
  state: 'claimed' | 'handled';
  expiresAt: number;
}

/**
 * Keeps ids in this process's memory, at most `maxEntries` of them, and drops the oldest first.
 * It suits one receiving process. Ids are forgotten on restart, so the handler should still be
 * idempotent.
 */
export class MemoryDuplicateStore implements DuplicateStore {
  private readonly entries = new Map<string, MemoryEntry>();
  private readonly ttlMs: number;
  private readonly claimTtlMs: number;
  private readonly maxEntries: number;

  constructor(options: DuplicateStoreOptions & { maxEntries?: number } = {}) {
    this.ttlMs = options.ttlMs ?? DEFAULT_TTL_MS;
    this.claimTtlMs = options.claimTtlMs ?? DEFAULT_CLAIM_TTL_MS;
    this.maxEntries = options.maxEntries ?? 100_000;
  }

  async claim(webhookId: string): Promise<ClaimResult> {
    const entry = this.entries.get(webhookId);
    if (entry !== undefined && entry.expiresAt > Date.now()) {
      return entry.state === 'handled' ? 'handled' : 'in-progress';
    }
    this.set(webhookId, { state: 'claimed', expiresAt: Date.now() + this.claimTtlMs });
    return 'claimed';
  }

  async complete(webhookId: string): Promise<void> {
    this.set(webhookId, { state: 'handled', expiresAt: Date.now() + this.ttlMs });
  }

  async release(webhookId: string): Promise<void> {
    if (this.entries.get(webhookId)?.state === 'claimed') {
      this.entries.delete(webhookId);
    }
  }

  private set(webhookId: string, entry: MemoryEntry): void {
    // Map keeps insertion order, so deleting first makes this id the newest and the first keys the oldest.
    this.entries.delete(webhookId);
    this.entries.set(webhookId, entry);
    for (const oldest of this.entries.keys()) {
      if (this.entries.size <= this.maxEntries) {
        break;
      }
      this.entries.delete(oldest);
    }
  }
}
