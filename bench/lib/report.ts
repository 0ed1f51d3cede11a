import type { CpuWindow } from './cpu.js';
import { formatNumber, type Summary } from './stats.js';
import type { Table } from './table.js';

/** Names of the stack's server processes, as CPU columns print them. */
export const PROCESS_LABELS: Record<string, string> = {
  api: 'API',
  worker: 'worker',
  temporal: 'Temporal',
  mongo: 'MongoDB',
};

/**
 * Builds a table of the CPU time of each process in measured windows, as CPU seconds and as
 * average cores in use. "other" is the machine's busy time less every process listed, so it
 * shows other users' work on the machine and the kernel's. A window with `webhooks` set gets a
 * second row with the CPU milliseconds per webhook delivered in it.
 */
export function cpuTable(title: string, windows: Array<{ label: string; window: CpuWindow; webhooks?: number }>): Table {
  const rows: string[][] = [];
  for (const { label, window, webhooks } of windows) {
    const own = Object.values(window.processes).reduce((total, seconds) => total + seconds, 0) + window.bench;
    const columns = [...Object.values(window.processes), window.bench, Math.max(0, window.machine - own)];
    rows.push([label, formatNumber(window.seconds, 1), ...columns.map((seconds) => `${formatNumber(seconds, 1)} (${formatNumber(seconds / window.seconds, 2)})`)]);
    if (webhooks !== undefined && webhooks > 0) {
      rows.push([`  ms per webhook (${webhooks})`, '', ...columns.map((seconds) => formatNumber((seconds * 1000) / webhooks, 1))]);
    }
  }
  return {
    title,
    columns: ['window', 'seconds', ...Object.keys(windows[0]?.window.processes ?? {}).map((name) => PROCESS_LABELS[name] ?? name), 'bench process', 'other'],
    rows,
    notes: [
      'Each cell: CPU seconds (average cores in use). The bench process is the load generator and the receivers. "other" is every other process on the machine.',
      ...(windows.some((window) => window.webhooks !== undefined) ? ['"ms per webhook": CPU milliseconds of each process per webhook delivered in that window.'] : []),
    ],
  };
}

/** Returns a latency summary as table cells in milliseconds: p50, p90, p99, max. */
export function latencyCells(summary: Summary): string[] {
  return [summary.p50, summary.p90, summary.p99, summary.max].map((value) => formatNumber(value, 1));
}
