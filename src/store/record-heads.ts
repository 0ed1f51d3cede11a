import type { EventDocument } from './documents.js';
import type { Store } from './mongo.js';

/** Returns the `_id` of a record's head, which is the record's path. */
function headId(kind: string, recordId: string): string {
  return `${kind}/${recordId}`;
}

function entryKey(version: number): string {
  return `eventIds.v${version}`;
}

/**
 * Moves the record's head to this event unless a higher version is already there. The update is
 * idempotent, so the API after a write and the reconciler after a crash can both run it.
 */
export async function advanceRecordHead(store: Store, event: Pick<EventDocument, '_id' | 'kind' | 'recordId' | 'version'>): Promise<void> {
  await store.recordHeads.updateOne(
    { _id: headId(event.kind, event.recordId) },
    {
      $max: { version: event.version },
      $set: { [entryKey(event.version)]: event._id },
      $unset: { [entryKey(event.version - 1)]: '' },
    },
    { upsert: true },
  );
}

/**
 * Returns the record's latest event according to its head, or null. An event whose API died
 * between its insert and the head's update appears here after the reconciler dispatches it.
 */
export async function findHeadEvent(store: Store, kind: string, recordId: string): Promise<EventDocument | null> {
  const head = await store.recordHeads.findOne({ _id: headId(kind, recordId) });
  const eventId = head?.eventIds[`v${head.version}`];
  if (eventId === undefined) {
    return null;
  }
  return store.events.findOne({ _id: eventId });
}

/** Returns the record's event with the highest version from the events collection. FerretDB reads every event to answer it, so only lost claims use it. */
export function scanLatestEvent(store: Store, kind: string, recordId: string): Promise<EventDocument | null> {
  return store.events.find({ kind, recordId }).sort({ version: -1 }).limit(1).next();
}

const HEADS_MIGRATION = 'record-heads';

/**
 * Builds the heads of records written before heads existed. It runs once per database: until the
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
