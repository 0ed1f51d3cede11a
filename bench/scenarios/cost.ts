/**
 * cost: what one delivered webhook costs the servers, at 1, 10 and 100 subscribers per record.
 * It counts the Temporal history events of sampled delivery workflows and of their dispatch
 * workflows, the latter amortized over the deliveries each dispatch started. It also counts the
 * MongoDB commands the stack sent while the webhooks were delivered.
 */
import { tsToMs } from '@temporalio/common/lib/time.js';
import protos from '@temporalio/proto';
import { ApiClient, sampleRecord } from '../lib/api-client.js';
import { sleep, waitUntil } from '../lib/pacing.js';
import { startProgress } from '../lib/progress.js';
import type { Scenario } from '../lib/scenario.js';
import type { BenchStack } from '../lib/stack.js';
import { formatCount, formatNumber, summarize, type Summary } from '../lib/stats.js';
import { warmUp } from '../lib/warm-up.js';

// @temporalio/proto is CommonJS; its namespaces are reached through the default export.
const { EventType } = protos.temporal.api.enums.v1;

const PHASES = {
  full: [
    { subscribers: 1, writes: 40 },
    { subscribers: 10, writes: 8 },
    { subscribers: 100, writes: 2 },
  ],
  quick: [
    { subscribers: 1, writes: 10 },
    { subscribers: 10, writes: 3 },
    { subscribers: 100, writes: 1 },
  ],
};

/** Delivery workflows whose history is fetched per phase. */
const HISTORY_SAMPLE = 20;
const COMPLETION_TIMEOUT_MS = 120_000;
/** Subscribers per dispatch page: DISPATCH_PAGE_SIZE, which the bench leaves at its default. */
const DISPATCH_PAGE_SIZE = 200;

const WRITE_COMMANDS = ['insert', 'update', 'delete', 'findAndModify'];
const READ_COMMANDS = ['find', 'getMore', 'aggregate', 'count', 'distinct'];
/** opcounters (mongod) name reads `query` and `getmore`. */
const WRITE_OPCOUNTERS = ['insert', 'update', 'delete'];
const READ_OPCOUNTERS = ['query', 'getmore'];

interface CommandCounts {
  source: 'opcounters' | 'metrics.commands';
  counts: Record<string, number>;
}

interface PhaseResult {
  subscribers: number;
  writes: number;
  deliveries: number;
  sampledDeliveryWorkflows: number;
  deliveryHistoryEventsMean: number;
  dispatchHistoryEventsTotal: number;
  deliveryEventTypes: Record<string, number>;
  mongo: { source: string; writeCommands: number; readCommands: number; byCommand: Record<string, number> } | null;
  fromCode: { writeCommands: number; readCommands: number };
  documentsInserted: number;
  /** Per step of TIMELINE_STEPS, for one subscriber per record; null in the other phases. */
  timeline: Summary[] | null;
}

export const costScenario: Scenario = {
  name: 'cost',
  summary: 'Temporal history events and MongoDB commands per delivered webhook, at 1, 10 and 100 subscribers per record',
  async run(context) {
    const phases = context.quick ? PHASES.quick : PHASES.full;
    const stack = await context.startStack('cost');
    const api = new ApiClient(stack.apiUrl, stack.apiToken);
    const receiver = context.receiver;
    await warmUp(stack, api, receiver);

    const results: PhaseResult[] = [];
    for (const phase of phases) {
      const kind = `cost-${phase.subscribers}`;
      const subscriptionIds: string[] = [];
      for (let index = 0; index < phase.subscribers; index++) {
        subscriptionIds.push(await api.createSubscription(`${kind}/*`, receiver.url(`/cost/${phase.subscribers}/subscriber-${index}`), receiver.secret));
      }
      // Lets the subscription inserts and the driver's own traffic finish before the first count.
      await sleep(1_000);

      let arrived = 0;
      const stopListening = receiver.onArrival((arrival) => {
        if (arrival.kind === kind) {
          arrived++;
        }
      });
      const deliveries = phase.writes * phase.subscribers;
      const progress = startProgress(`${phase.subscribers} subscribers per record`, deliveries, 'webhooks');

      const before = await readCommandCounts(stack);
      const eventIds: string[] = [];
      for (let index = 0; index < phase.writes; index++) {
        eventIds.push((await api.putRecord(kind, `r-${index}`, sampleRecord(index))).body.eventId);
        if (phase.subscribers === 1) {
          // One webhook at a time, so the step timeline shows a webhook that queues behind no other.
          await waitUntil(() => arrived > index, { timeoutMs: COMPLETION_TIMEOUT_MS, onPoll: () => stack.assertRunning() });
        }
      }
      const deliveredAll = await waitUntil(() => arrived >= deliveries, {
        timeoutMs: COMPLETION_TIMEOUT_MS,
        onPoll: () => {
          stack.assertRunning();
          progress.update(arrived);
        },
      });
      progress.update(arrived);
      progress.stop();
      stopListening();
      if (!deliveredAll) {
        throw new Error(`${arrived} of ${deliveries} webhooks arrived within ${COMPLETION_TIMEOUT_MS / 1000} s`);
      }

      // A webhook arrives before its attempt is recorded, so wait for every workflow to close before counting.
      const deliveryWorkflowIds = eventIds.flatMap((eventId) => subscriptionIds.map((subscriptionId) => `delivery:${eventId}:${subscriptionId}`));
      const dispatchWorkflowIds = eventIds.map((eventId) => `dispatch:${eventId}`);
      await waitForClosedWorkflows(stack, [...dispatchWorkflowIds, ...deliveryWorkflowIds]);
      const after = await readCommandCounts(stack);

      const step = Math.max(1, Math.floor(deliveryWorkflowIds.length / HISTORY_SAMPLE));
      const sample = deliveryWorkflowIds.filter((_id, index) => index % step === 0).slice(0, HISTORY_SAMPLE);
      const deliveryEventTypes: Record<string, number> = {};
      let deliveryEvents = 0;
      for (const workflowId of sample) {
        const events = await historyEvents(stack, workflowId);
        deliveryEvents += events.length;
        if (workflowId === sample[0]) {
          for (const { type } of events) {
            deliveryEventTypes[type] = (deliveryEventTypes[type] ?? 0) + 1;
          }
        }
      }
      let dispatchEvents = 0;
      const timelines: number[][] = [];
      for (const [index, workflowId] of dispatchWorkflowIds.entries()) {
        const dispatch = await historyEvents(stack, workflowId);
        dispatchEvents += dispatch.length;
        if (phase.subscribers === 1) {
          const timeline = timelineOf(dispatch, await historyEvents(stack, deliveryWorkflowIds[index]!));
          if (timeline !== null) {
            timelines.push(timeline);
          }
        }
      }

      const database = stack.mongo.db(stack.database);
      const documentsInserted = (await database.collection('events').countDocuments({ kind })) + (await database.collection('deliveries').countDocuments({ kind }));

      results.push({
        subscribers: phase.subscribers,
        writes: phase.writes,
        deliveries,
        sampledDeliveryWorkflows: sample.length,
        deliveryHistoryEventsMean: deliveryEvents / sample.length,
        dispatchHistoryEventsTotal: dispatchEvents,
        deliveryEventTypes,
        mongo: before === null || after === null ? null : commandDelta(before, after),
        fromCode: commandsFromCode(phase.subscribers),
        documentsInserted,
        timeline: timelines.length === 0 ? null : TIMELINE_STEPS.map((_step, column) => summarize(timelines.map((row) => row[column]!))),
      });
    }

    const roundTrips = await measureRoundTrips(stack);

    await api.close();
    await stack.stop();

    const mongoSource = results[0]?.mongo?.source ?? null;
    const perDelivery = (result: PhaseResult, value: number): string => formatNumber(value / result.deliveries, 2);
    return {
      tables: [
        {
          title: 'Temporal history events per delivered webhook',
          columns: ['subscribers per record', 'writes', 'deliveries', 'delivery workflow', 'dispatch workflow, amortized', 'total'],
          rows: results.map((result) => [
            formatCount(result.subscribers),
            formatCount(result.writes),
            formatCount(result.deliveries),
            formatNumber(result.deliveryHistoryEventsMean, 1),
            perDelivery(result, result.dispatchHistoryEventsTotal),
            formatNumber(result.deliveryHistoryEventsMean + result.dispatchHistoryEventsTotal / result.deliveries, 1),
          ]),
          notes: [
            `Measured: the histories of up to ${HISTORY_SAMPLE} delivery workflows per row (mean), and of every dispatch workflow divided by the deliveries it started. The receiver responded 204 to every first attempt.`,
            `One delivery workflow's events: ${Object.entries(results[0]?.deliveryEventTypes ?? {})
              .map(([type, count]) => `${type} ${count}`)
              .join(', ')}.`,
          ],
        },
        {
          title: `Where a one-subscriber webhook's time goes, from the Temporal histories of ${formatCount(results[0]?.writes ?? 0)} writes (ms)`,
          columns: ['step', 'p50', 'p90', 'max'],
          rows: TIMELINE_STEPS.map((step, column) => {
            const summary = results[0]?.timeline?.[column];
            return summary === undefined ? [step, 'n/a', 'n/a', 'n/a'] : [step, formatNumber(summary.p50, 1), formatNumber(summary.p90, 1), formatNumber(summary.max, 1)];
          }),
          notes: [
            'Each step is the difference of two event times in the server\'s histories. A workflow task step includes the worker\'s work and the server storing the task\'s result.',
            'Each write of this row was sent after the previous webhook had arrived, so no webhook waited behind another.',
          ],
        },
        {
          title: 'MongoDB commands per delivered webhook',
          columns: ['subscribers per record', 'write commands, measured', 'write commands, from code', 'read commands, measured', 'read commands, from code', 'documents inserted'],
          rows: results.map((result) => [
            formatCount(result.subscribers),
            result.mongo === null ? 'n/a' : perDelivery(result, result.mongo.writeCommands),
            formatNumber(result.fromCode.writeCommands, 2),
            result.mongo === null ? 'n/a' : perDelivery(result, result.mongo.readCommands),
            formatNumber(result.fromCode.readCommands, 2),
            perDelivery(result, result.documentsInserted),
          ]),
          notes: [
            mongoSource === 'metrics.commands'
              ? 'Measured: the server\'s command counters (serverStatus metrics.commands). FerretDB has no serverStatus opcounters; these count commands, and an insert command of a page of deliveries counts once.'
              : mongoSource === 'opcounters'
                ? 'Measured: serverStatus opcounters of mongod, which count documents for inserts and operations for updates and reads.'
                : 'Measured: not available; the server returned neither opcounters nor metrics.commands in serverStatus.',
            'From code: counted by reading the code path (src/api/auth.ts, src/domain/record-writes.ts, src/activities/start-deliveries.ts, attempt-delivery.ts), not measured.',
            'Writes per event: insert the event, advance the record head, set dispatchedAt, one insertMany of deliveries per page; per delivery: one update recording the attempt.',
            'Reads per event: the API key of the write, the record head before the insert, the event and a page of subscriptions per page; per delivery: the event and the subscription.',
            'Documents inserted: events and deliveries of the row, counted in the collections afterwards. The measured counts also include the worker\'s reconciler query every 10 s.',
          ],
        },
        {
          title: `Sequential round trips from the bench process to this stack's servers (ms, ${ROUND_TRIPS} each)`,
          columns: ['request', 'p50', 'p90', 'max'],
          rows: roundTrips.map((trip) => [trip.request, formatNumber(trip.milliseconds.p50, 1), formatNumber(trip.milliseconds.p90, 1), formatNumber(trip.milliseconds.max, 1)]),
          notes: [
            'The Temporal start is a StartWorkflowExecution on a task queue no worker polls, as the API makes one per write. The MongoDB requests are those of a write.',
            'They show what one PUT waits for at least: the record head, the event insert, the head update, the dispatch start and the dispatchedAt update, one after the other.',
          ],
        },
      ],
      data: { phases, historySample: HISTORY_SAMPLE, results, roundTrips },
    };
  },
};

/** Requests per kind of round trip that measureRoundTrips times. */
const ROUND_TRIPS = 50;

/** Times, one at a time, the server requests that an API write makes. */
async function measureRoundTrips(stack: BenchStack): Promise<Array<{ request: string; milliseconds: Summary }>> {
  const probes = stack.mongo.db(stack.database).collection<{ _id: string; value: number }>('bench_probe');
  const heads = stack.mongo.db(stack.database).collection<{ _id: string }>('record_heads');
  const requests: Array<[string, (index: number) => Promise<unknown>]> = [
    ['MongoDB: record head by _id', (index) => heads.findOne({ _id: `cost-1/r-${index % 10}` })],
    ['MongoDB: insertOne', (index) => probes.insertOne({ _id: `probe-${index}`, value: index })],
    ['MongoDB: updateOne by _id', (index) => probes.updateOne({ _id: `probe-${index}` }, { $set: { value: -index } })],
    ['Temporal: start a workflow', (index) => stack.temporal.workflow.start('benchProbe', { taskQueue: 'bench-probe-no-worker', workflowId: `bench-probe-${index}` })],
  ];

  const results: Array<{ request: string; milliseconds: Summary }> = [];
  for (const [request, call] of requests) {
    const samples: number[] = [];
    for (let index = 0; index < ROUND_TRIPS; index++) {
      const startedAt = performance.now();
      await call(index);
      samples.push(performance.now() - startedAt);
    }
    results.push({ request, milliseconds: summarize(samples) });
  }
  return results;
}

/** Reads the server's operation counters, or null when serverStatus has none. */
async function readCommandCounts(stack: BenchStack): Promise<CommandCounts | null> {
  const status = await stack.mongo.db('admin').command({ serverStatus: 1 });
  if (typeof status.opcounters === 'object' && status.opcounters !== null) {
    return { source: 'opcounters', counts: Object.fromEntries(Object.entries(status.opcounters as Record<string, unknown>).map(([name, value]) => [name, Number(value)])) };
  }
  const commands = (status.metrics as { commands?: Record<string, { total?: unknown }> } | undefined)?.commands;
  if (commands !== undefined) {
    return { source: 'metrics.commands', counts: Object.fromEntries(Object.entries(commands).map(([name, value]) => [name, Number(value.total ?? 0)])) };
  }
  return null;
}

function commandDelta(before: CommandCounts, after: CommandCounts): NonNullable<PhaseResult['mongo']> {
  const byCommand: Record<string, number> = {};
  for (const [name, total] of Object.entries(after.counts)) {
    const delta = total - (before.counts[name] ?? 0);
    if (delta !== 0) {
      byCommand[name] = delta;
    }
  }
  const [writes, reads] = after.source === 'opcounters' ? [WRITE_OPCOUNTERS, READ_OPCOUNTERS] : [WRITE_COMMANDS, READ_COMMANDS];
  const sum = (names: string[]): number => names.reduce((total, name) => total + (byCommand[name] ?? 0), 0);
  return { source: after.source, writeCommands: sum(writes), readCommands: sum(reads), byCommand };
}

/**
 * MongoDB commands per delivery by the code path, for S subscribers per record, one attempt per
 * delivery, and a new record per write (so the head read finds no head and reads no event). A
 * page with exactly DISPATCH_PAGE_SIZE subscribers makes the dispatch read one more, empty, page.
 */
function commandsFromCode(subscribers: number): { writeCommands: number; readCommands: number } {
  const pagesWithSubscribers = Math.ceil(subscribers / DISPATCH_PAGE_SIZE);
  const pagesRead = pagesWithSubscribers + (subscribers % DISPATCH_PAGE_SIZE === 0 ? 1 : 0);
  const writesPerEvent = 3 + pagesWithSubscribers + subscribers;
  const readsPerEvent = 2 + 2 * pagesRead + 2 * subscribers;
  return { writeCommands: writesPerEvent / subscribers, readCommands: readsPerEvent / subscribers };
}

async function waitForClosedWorkflows(stack: BenchStack, workflowIds: string[]): Promise<void> {
  const deadline = performance.now() + COMPLETION_TIMEOUT_MS;
  for (const workflowId of workflowIds) {
    while ((await stack.temporal.workflow.getHandle(workflowId).describe()).status.name === 'RUNNING') {
      if (performance.now() > deadline) {
        throw new Error(`workflow ${workflowId} was still running after ${COMPLETION_TIMEOUT_MS / 1000} s`);
      }
      await sleep(100);
    }
  }
}

interface HistoryEvent {
  /** The event type without the EVENT_TYPE_ prefix. */
  type: string;
  /** The server's time of the event, in epoch milliseconds. */
  timeMs: number;
}

/** Returns the events of a workflow's history (its latest run) with their types and times. */
async function historyEvents(stack: BenchStack, workflowId: string): Promise<HistoryEvent[]> {
  const history = await stack.temporal.workflow.getHandle(workflowId).fetchHistory();
  return (history.events ?? []).map((event) => ({
    type: (EventType[event.eventType ?? 0] ?? String(event.eventType)).replace(/^EVENT_TYPE_/, ''),
    timeMs: tsToMs(event.eventTime),
  }));
}

/** The steps of a one-subscriber webhook, each from one history event to a later one. */
const TIMELINE_STEPS = [
  'dispatch workflow: started to its first workflow task started',
  'dispatch workflow: first workflow task started to completed',
  'startDeliveries activity: scheduled to started',
  'startDeliveries activity: started to the delivery workflow started',
  'delivery workflow: started to its first workflow task started',
  'delivery workflow: first workflow task started to completed',
  'attemptDelivery activity: scheduled to started',
  'attemptDelivery activity: started to completed (the POST is inside)',
  'all: dispatch workflow started to attemptDelivery completed',
] as const;

/** Returns the time of each step of one webhook, from its dispatch and delivery histories, or null if a step is missing. */
function timelineOf(dispatch: HistoryEvent[], delivery: HistoryEvent[]): number[] | null {
  const at = (events: HistoryEvent[], type: string): number | undefined => events.find((event) => event.type === type)?.timeMs;
  const dispatchStarted = at(dispatch, 'WORKFLOW_EXECUTION_STARTED');
  const dispatchTaskStarted = at(dispatch, 'WORKFLOW_TASK_STARTED');
  const dispatchTaskDone = at(dispatch, 'WORKFLOW_TASK_COMPLETED');
  const pageScheduled = at(dispatch, 'ACTIVITY_TASK_SCHEDULED');
  const pageStarted = at(dispatch, 'ACTIVITY_TASK_STARTED');
  const deliveryStarted = at(delivery, 'WORKFLOW_EXECUTION_STARTED');
  const deliveryTaskStarted = at(delivery, 'WORKFLOW_TASK_STARTED');
  const deliveryTaskDone = at(delivery, 'WORKFLOW_TASK_COMPLETED');
  const attemptScheduled = at(delivery, 'ACTIVITY_TASK_SCHEDULED');
  const attemptStarted = at(delivery, 'ACTIVITY_TASK_STARTED');
  const attemptDone = at(delivery, 'ACTIVITY_TASK_COMPLETED');

  const times = [
    dispatchStarted,
    dispatchTaskStarted,
    dispatchTaskDone,
    pageScheduled,
    pageStarted,
    deliveryStarted,
    deliveryTaskStarted,
    deliveryTaskDone,
    attemptScheduled,
    attemptStarted,
    attemptDone,
  ];
  if (times.some((time) => time === undefined)) {
    return null;
  }

  const [a, b, c, d, e, f, g, h, i, j, k] = times as number[];
  return [b! - a!, c! - b!, e! - d!, f! - e!, g! - f!, h! - g!, j! - i!, k! - j!, k! - a!];
}
