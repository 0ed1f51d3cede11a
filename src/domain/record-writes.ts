import type { Logger } from 'pino';
import type { EventDocument, RecordEventType } from '../store/documents.js';
import { isDuplicateKeyError, type Store } from '../store/mongo.js';
import { advanceRecordHead, findHeadEvent, scanLatestEvent } from '../store/record-heads.js';
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
  type: RecordEventType;
  dispatched: boolean;
}

/** Error raised when a delete names a record that was never written, or whose latest event is already a delete. */
export class RecordAbsentError extends Error {
  constructor(
    readonly path: string,
    /** The delete event, when the record existed and was deleted; null when it was never written. */
    readonly deletedBy: EventDocument | null,
  ) {
    super(deletedBy === null ? `record ${path} not found` : `record ${path} was deleted at ${deletedBy.createdAt.toISOString()}`);
    this.name = 'RecordAbsentError';
  }
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
  const event = await insertNextEvent(deps.store, write, (latest) => (latest === null || latest.type === 'record.deleted' ? 'record.created' : 'record.updated'));
  maybeCrashAfterEventInsert();
  const dispatched = await dispatchEvent(deps, event);
  return { eventId: event._id, version: event.version, type: event.type as RecordEventType, dispatched };
}

/**
 * Deletes a record by writing a `record.deleted` event, a tombstone with the next version and no
 * data, which is dispatched like any write. Reads then find the record absent. A later write
 * creates it again with the version after the tombstone's, so versions never repeat.
 *
 * @throws RecordAbsentError when the record was never written or is deleted already.
 */
export async function deleteRecord(deps: { store: Store; temporal: TemporalTarget; logger: Logger }, record: { kind: string; recordId: string }): Promise<WrittenRecord> {
  const event = await insertNextEvent(deps.store, { ...record, dataJson: 'null' }, (latest) => {
    if (latest === null || latest.type === 'record.deleted') {
      throw new RecordAbsentError(recordPath(record.kind, record.recordId), latest);
    }
    return 'record.deleted';
  });
  const dispatched = await dispatchEvent(deps, event);
  return { eventId: event._id, version: event.version, type: 'record.deleted', dispatched };
}

/** Returns the current state of a record: its event with the highest version, or null. A `record.deleted` event means the record is deleted. */
export function findLatestEvent(store: Store, kind: string, recordId: string): Promise<EventDocument | null> {
  return findHeadEvent(store, kind, recordId);
}

/**
 * Inserts the record's next event. `typeAfter` picks the event type from the latest event, read
 * again on every claim, and may throw to reject the write.
 */
async function insertNextEvent(
  store: Store,
  write: { kind: string; recordId: string; dataJson: string },
  typeAfter: (latest: EventDocument | null) => RecordEventType,
): Promise<EventDocument> {
  for (let claim = 0; claim < MAX_VERSION_CLAIMS; claim++) {
    // The head is cheap to read but may trail a writer still in flight or one that crashed. After a
    // lost claim, or before rejecting the write, the events themselves are read, which is the truth.
    let latest = claim === 0 ? await findHeadEvent(store, write.kind, write.recordId) : await scanLatestEvent(store, write.kind, write.recordId);
    let type: RecordEventType;
    try {
      type = typeAfter(latest);
    } catch (error) {
      if (claim !== 0) {
        throw error;
      }
      latest = await scanLatestEvent(store, write.kind, write.recordId);
      type = typeAfter(latest);
    }
    const now = new Date();
    const event: EventDocument = {
      _id: newEventId(),
      type,
      kind: write.kind,
      recordId: write.recordId,
      version: (latest?.version ?? 0) + 1,
      dataJson: write.dataJson,
      createdAt: now,
      recordCreatedAt: type === 'record.created' || latest === null ? now : latest.recordCreatedAt,
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
 * Advances the record's head to the event, starts its dispatch and marks it dispatched. A failure
 * is logged, not raised, because the event is already durable and the reconciler retries all
 * three. The head moves first, so a lookup that misses the record is always followed by a
 * dispatch that finds the lookup's subscription.
 */
export async function dispatchEvent(deps: { store: Store; temporal: TemporalTarget; logger: Logger }, event: EventDocument): Promise<boolean> {
  const ids = { eventId: event._id, record: recordPath(event.kind, event.recordId), version: event.version };
  try {
    await advanceRecordHead(deps.store, event);
    await startDispatch(deps.temporal, { eventId: event._id, kind: event.kind, recordId: event.recordId });
    // Filtered by `_id` alone, which FerretDB finds by index. A second dispatch only moves the time.
    await deps.store.events.updateOne({ _id: event._id }, { $set: { dispatchedAt: new Date() } });
    return true;
  } catch (error) {
    deps.logger.warn({ ...ids, err: error }, 'Dispatch not started; the reconciler will retry it');
    return false;
  }
}
