import cliProgress from 'cli-progress';

/** Progress of one phase of a scenario. */
export interface Progress {
  update(value: number, detail?: string): void;
  stop(): void;
}

/**
 * Shows a progress bar on stderr, so stdout carries only the result tables. When stderr is not a
 * terminal (a log file, CI), cli-progress prints the bar as a line every 5 s instead.
 */
export function startProgress(label: string, total: number, unit: string): Progress {
  const bar = new cliProgress.SingleBar(
    {
      format: `  ${label.padEnd(34)} [{bar}] {value}/{total} ${unit} | {duration_formatted} {detail}`,
      barsize: 24,
      hideCursor: true,
      noTTYOutput: true,
      notTTYSchedule: 5_000,
      fps: 5,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(Math.max(1, total), 0, { detail: '' });
  return {
    update(value, detail = '') {
      bar.update(value, { detail });
    },
    stop() {
      bar.stop();
    },
  };
}
