/** Writing results: JSON for scripts with --json, text for people otherwise. */

export interface Output {
  /** True when --json was given: results go to stdout as JSON, one value per line. */
  readonly json: boolean;
  /** Writes one line (or a block of lines) of a result to stdout. */
  line(text: string): void;
  /** Writes a value to stdout as one line of JSON. */
  jsonLine(value: unknown): void;
  /** Writes a status message or warning to stderr, so stdout keeps only results. */
  note(text: string): void;
}

export function createOutput(json: boolean, streams: { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream } = process): Output {
  return {
    json,
    line: (text) => {
      streams.stdout.write(`${text}\n`);
    },
    jsonLine: (value) => {
      streams.stdout.write(`${JSON.stringify(value)}\n`);
    },
    note: (text) => {
      streams.stderr.write(`${text}\n`);
    },
  };
}

/** Formats rows as columns separated by two spaces, with a header row; the last column is not padded. */
export function formatTable(headers: string[], rows: string[][]): string {
  const widths = headers.map((header, column) => Math.max(header.length, ...rows.map((row) => (row[column] ?? '').length)));
  const format = (cells: string[]): string =>
    cells
      .map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column] ?? 0)))
      .join('  ')
      .trimEnd();
  return [format(headers), ...rows.map(format)].join('\n');
}

/** Pretty-prints JSON with two-space indentation, every line shifted by `indent` spaces. */
export function indentJson(value: unknown, indent: number): string {
  const padding = ' '.repeat(indent);
  return JSON.stringify(value, null, 2)
    .split('\n')
    .map((line) => `${padding}${line}`)
    .join('\n');
}

/** Tells how to get the next page when a list has one. */
export function notePagination(output: Output, nextCursor: string | null): void {
  if (nextCursor !== null) {
    output.note(`More results exist: run again with --cursor ${nextCursor}, or add --all.`);
  }
}
