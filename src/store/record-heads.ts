import { recordPath } from '../domain/ids.js';
import type { EventDocument } from './documents.js';
import type { Store } from './mongo.js';

/** Returns the key of a version in a head's `eventIds`. */
function versionKey(version: number): string {
  return `v${version}`;
}

/**
 * Moves the record's head to this event unless a higher version is already there. The update is
 * idempotent, so the API after a write and the reconciler after a crash can both run it.
 */
export async function advanceRecordHead(store: Store, event: Pick<EventDocument, '_id' | 'kind' | 'recordId' | 'version'>): Promise<void> {
  await store.recordHeads.updateOne(
    { _id: recordPath(event.kind, event.recordId) },
    {
      $max: { version: event.version },
      $set: { [`eventIds.${versionKey(event.version)}`]: event._id },
      $unset: { [`eventIds.${versionKey(event.version - 1)}`]: '' },
    },
    { upsert: true },
  );
}

/**
 * Returns the record's latest event according to its head, or null. An event whose API died
 * between its insert and the head's update appears here after the reconciler dispatches it.
 */
export async function findHeadEvent(store: Store, kind: string, recordId: string): Promise<EventDocument | null> {
  const head = await store.recordHeads.findOne({ _id: recordPath(kind, recordId) });
  const eventId = head?.eventIds[versionKey(head.version)];
  if (eventId === undefined) {
    return null;
  }
  return store.events.findOne({ _id: eventId });
}

/**
 * Returns the record's event with the highest version from the events collection. FerretDB reads
 * every event for this query, so only a lost claim or a write the head would reject uses it.
 */
export function scanLatestEvent(store: Store, kind: string, recordId: string): Promise<EventDocument | null> {
  return store.events.find({ kind, recordId }).sort({ version: -1 }).limit(1).next();
}

const HEADS_MIGRATION = 'record-heads';

/**
 * Builds the heads of records written before heads existed, once per database. Until the
 * migration marker is stored, every event advances its record's head.
 */
export async function backfillRecordHeads(store: Store): Promise<number> {
  const migrations = store.db.collection<{ _id: string; completedAt: Date }>('migrations');
  if ((await migrations.findOne({ _id: HEADS_MIGRATION })) !== null) {
    return 0;
  }

  let advanced = 0;
  const events = store.events.find({}, { projection: { _id: 1, kind: 1, recordId: 1, version: 1 } });
  for await (const event of events) {
    await advanceRecordHead(store, event);
    advanced++;
  }
  await migrations.updateOne({ _id: HEADS_MIGRATION }, { $set: { completedAt: new Date() } }, { upsert: true });
  return advanced;
}
