/**
 * Plain CSV for observable time series: one header line of column names, then one line per
 * sample, numbers in shortest round-trip decimal form (`String(x)`; NaN/Infinity as written by
 * JavaScript, which numpy.loadtxt/pandas read). Comma-separated, no quoting: column names must
 * not contain commas, quotes or newlines.
 */
import { closeSync, fsyncSync, openSync, writeSync } from 'node:fs';

function checkColumns(columns: string[]): void {
  if (!columns.length) throw new Error('csv: at least one column is required');
  for (const c of columns) if (!c || /[,"\r\n]/.test(c)) throw new Error(`csv: column name ${JSON.stringify(c)} must be non-empty without commas, quotes or newlines`);
}

function line(values: ArrayLike<number>, width: number): string {
  if (values.length !== width) throw new Error(`csv: row has ${values.length} values, header has ${width} columns`);
  return Array.from(values, String).join(',') + '\n';
}

/** Whole table as text. */
export function formatCsv(columns: string[], rows: ArrayLike<number>[]): string {
  checkColumns(columns);
  return columns.join(',') + '\n' + rows.map((r) => line(r, columns.length)).join('');
}

/** Parse text written by this module (header + numeric rows). */
export function parseCsv(text: string): { columns: string[]; rows: number[][] } {
  const lines = text.split('\n').filter((l) => l.length);
  const columns = lines[0]?.split(',') ?? [];
  return { columns, rows: lines.slice(1).map((l) => l.split(',').map(Number)) };
}

/**
 * Streaming writer: the header is written at creation, each `row` is written straight through
 * (use it inside an atomic output folder; `close` fsyncs).
 */
export class CsvWriter {
  private fd: number | undefined;
  readonly columns: string[];

  constructor(path: string, columns: string[]) {
    checkColumns(columns);
    this.columns = columns;
    this.fd = openSync(path, 'w');
    writeSync(this.fd, columns.join(',') + '\n');
  }

  row(values: ArrayLike<number>): void {
    if (this.fd === undefined) throw new Error('csv: writer is closed');
    writeSync(this.fd, line(values, this.columns.length));
  }

  close(): void {
    if (this.fd === undefined) return;
    fsyncSync(this.fd);
    closeSync(this.fd);
    this.fd = undefined;
  }
}
