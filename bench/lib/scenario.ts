import type { ServerBinaries } from '../../scripts/lib/local-servers.js';
import type { BenchReceiver } from './receiver.js';
import type { BenchStack, TemporalPersistence } from './stack.js';
import type { Table } from './table.js';

/** Services and settings that the runner passes to every scenario. */
export interface BenchContext {
  /** Small sizes for a smoke run. */
  quick: boolean;
  /** Writes per second of the latency and baseline scenarios. */
  latencyPerSecond: number;
  binaries: ServerBinaries;
  temporalPersistence: TemporalPersistence;
  /** The webhook receiver on 127.0.0.1 in the bench process, shared by all scenarios. */
  receiver: BenchReceiver;
  /** Starts a fresh stack named after the scenario, with extra environment variables for Doorbell; the runner stops it if the scenario does not. */
  startStack(name: string, env?: Record<string, string>): Promise<BenchStack>;
  /** Results of the scenarios that ran before in this run, by name. */
  earlierResults: ReadonlyMap<string, ScenarioResult>;
}

export interface ScenarioResult {
  tables: Table[];
  /** The measured numbers, written to the JSON results file. */
  data: Record<string, unknown>;
}

export interface Scenario {
  name: string;
  /** One line printed before the scenario runs. */
  summary: string;
  run(context: BenchContext): Promise<ScenarioResult>;
}
