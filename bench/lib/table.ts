/** Plain-text and Markdown tables for the results of a scenario. */

export interface Table {
  title: string;
  columns: string[];
  rows: string[][];
  /** Lines printed under the table: what a column includes, how a value was obtained. */
  notes?: string[];
}

/** Renders a table as plain text with aligned columns: text left-aligned, numbers right-aligned. */
export function renderTable(table: Table): string {
  const widths = table.columns.map((column, index) => Math.max(column.length, ...table.rows.map((row) => (row[index] ?? '').length)));
  // A column whose cells all start with a number (or are n/a or empty) is right-aligned.
  const isNumeric = table.columns.map((_column, index) => table.rows.every((row) => /^[-+>~]?\d|^n\/a$|^$/.test(row[index] ?? '')));
  const formatRow = (cells: string[]): string =>
    cells
      .map((cell, index) => (isNumeric[index] ? cell.padStart(widths[index]!) : cell.padEnd(widths[index]!)))
      .join('  ')
      .trimEnd();

  const lines = [table.title, formatRow(table.columns), widths.map((width) => '-'.repeat(width)).join('  '), ...table.rows.map(formatRow)];
  for (const note of table.notes ?? []) {
    lines.push(`  ${note}`);
  }
  return `${lines.join('\n')}\n`;
}

/** Renders a table as GitHub Markdown, for pasting into docs/benchmarks.md. */
export function renderMarkdownTable(table: Table): string {
  const escape = (cell: string): string => cell.replaceAll('|', '\\|');
  const lines = [
    `| ${table.columns.map(escape).join(' | ')} |`,
    `| ${table.columns.map(() => '---').join(' | ')} |`,
    ...table.rows.map((row) => `| ${row.map(escape).join(' | ')} |`),
  ];
  return `${lines.join('\n')}\n`;
}
