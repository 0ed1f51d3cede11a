import type { Logger } from 'pino';
import type { EventDocument } from '../store/documents.js';
import { isDuplicateKeyError, type Store } from '../store/mongo.js';
import { startDispatch, type TemporalTarget } from '../temporal/start-workflows.js';
import { maybeCrashAfterEventInsert } from './fault-points.js';
import { newEventId, recordPath } from './ids.js';

/** Tries to claim the next version before giving up under heavy contention on one record. */
const MAX_VERSION_CLAIMS = 20;

/** Error raised when concurrent writers to one record kept taking the next version first. */
export class VersionContentionError extends Error {
  constructor(readonly path: string) {
    super(`too many concurrent writes to ${path}; retry the request`);
    this.name = 'VersionContentionError';
  }
}

export interface WrittenRecord {
  eventId: string;
  version: number;
  created: boolean;
  dispatched: boolean;
}

/**
 * Writes a record as its next event, then starts the event's dispatch. The event insert is the
 * commit point: once it succeeds the write is never lost, because the reconciler dispatches any
 * event a crash left behind. The unique (kind, recordId, version) index hands each version to
 * exactly one writer, without multi-document transactions, which FerretDB does not have.
 */
export async function writeRecord(
  deps: { store: Store; temporal: TemporalTarget; logger: Logger },
  write: { kind: string; recordId: string; dataJson: string },
): Promise<WrittenRecord> {
  const event = await insertNextEvent(deps.store, write);
  maybeCrashAfterEventInsert();
  const dispatched = await dispatchEvent(deps, event);
  return { eventId: event._id, version: event.version, created: event.version === 1, dispatched };
}

/** Returns the current state of a record: its event with the highest version, or null. */
export function findLatestEvent(store: Store, kind: string, recordId: string): Promise<EventDocument | null> {
  return store.events.find({ kind, recordId }).sort({ version: -1 }).limit(1).next();
}

async function insertNextEvent(store: Store, write: { kind: string; recordId: string; dataJson: string }): Promise<EventDocument> {
  for (let claim = 0; claim < MAX_VERSION_CLAIMS; claim++) {
    const latest = await findLatestEvent(store, write.kind, write.recordId);
    const now = new Date();
    const version = (latest?.version ?? 0) + 1;
    const event: EventDocument = {
      _id: newEventId(),
      type: version === 1 ? 'record.created' : 'record.updated',
      kind: write.kind,
      recordId: write.recordId,
      version,
      dataJson: write.dataJson,
      createdAt: now,
      recordCreatedAt: latest?.recordCreatedAt ?? now,
      dispatchedAt: null,
    };

    try {
      await store.events.insertOne(event);
      return event;
    } catch (error) {
      if (!isDuplicateKeyError(error)) {
        throw error;
      }
      // Another writer took this version; read the new latest and try the next one.
    }
  }
  throw new VersionContentionError(recordPath(write.kind, write.recordId));
}

/**
 * Starts the dispatch of an event and marks it dispatched. A failure is logged, not raised: the
 * event is already durable and the reconciler retries its dispatch.
 */
export async function dispatchEvent(deps: { store: Store; temporal: TemporalTarget; logger: Logger }, event: EventDocument): Promise<boolean> {
  const ids = { eventId: event._id, record: recordPath(event.kind, event.recordId), version: event.version };
  try {
    await startDispatch(deps.temporal, { eventId: event._id, kind: event.kind, recordId: event.recordId });
    await deps.store.events.updateOne({ _id: event._id, dispatchedAt: null }, { $set: { dispatchedAt: new Date() } });
    return true;
  } catch (error) {
    deps.logger.warn({ ...ids, err: error }, 'Dispatch not started; the reconciler will retry it');
    return false;
  }
}
