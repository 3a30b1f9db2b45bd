/**
 * `npm run bench -- xlsx`: how fast the XLSX reader turns a workbook into records, against the CSV reader on the same
 * rows in the same run (the baseline: these machines are shared and noisy, quote the ratio). In process, no database:
 * the file is handed to openSheet in 64 KB chunks, as an upload arrives. Two layouts: Excel's (the sheet before the
 * shared strings and styles it needs, so it is spooled to disk first) and one whose sheet can stream straight away.
 * BENCH_XLSX_ROWS (100000), BENCH_XLSX_RUNS (3; the median is kept).
 */
import { Readable } from 'node:stream';
import { openSheet } from '../src/lib/spreadsheet/index.ts';
import { type CellSpec, xlsx } from '../test/helpers/xlsx.ts';
import { report } from './harness.ts';

const NAMES = ['Ana', 'Luis', 'María', 'José', 'Lucía', 'Jordi', 'Marta', 'Pablo', 'Núria', 'Iñaki'];
const CITIES = ['Madrid', 'Barcelona', 'Logroño', 'Sevilla', 'Bilbao', 'Valencia', 'A Coruña'];
const HEADER = ['first_name', 'last_name', 'email', 'phone', 'city', 'value', 'created_at'];

/** A CRM export: repeated names and cities (shared strings pay off), unique emails and phones, a number, a date. */
function row(i: number): CellSpec[] {
  return [
    NAMES[i % NAMES.length]!,
    `${NAMES[(i * 7) % NAMES.length]!} ${i % 13}`,
    `lead${i}@example.com`,
    `+34 6${String(i).padStart(8, '0')}`,
    CITIES[i % CITIES.length]!,
    (i % 1000) * 1.5,
    new Date(Date.UTC(2024, i % 12, 1 + (i % 28))),
  ];
}

const csvCell = (cell: CellSpec) =>
  cell instanceof Date ? cell.toISOString().slice(0, 10) : `"${String(cell).replace(/"/g, '""')}"`;

function chunksOf(bytes: Buffer, size = 64 * 1024): Readable {
  const chunks: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += size) chunks.push(bytes.subarray(at, at + size));
  return Readable.from(chunks);
}

async function readAll(bytes: Buffer): Promise<{ rows: number; seconds: number }> {
  const started = process.hrtime.bigint();
  const sheet = await openSheet(chunksOf(bytes));
  let rows = 0;
  for await (const _ of sheet.rows) rows++;
  return { rows, seconds: Number(process.hrtime.bigint() - started) / 1e9 };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

export async function xlsxBenchmark(options: { rows: number; runs: number }) {
  const data = Array.from({ length: options.rows }, (_, i) => row(i + 1));
  const files = {
    csv: Buffer.from([HEADER, ...data].map((cells) => `${cells.map(csvCell).join(',')}\n`).join('')),
    'xlsx (Excel layout, spooled)': xlsx([{ name: 'Leads', rows: [HEADER, ...data] }]),
    'xlsx (streamable layout)': xlsx([{ name: 'Leads', rows: [HEADER, ...data] }], { order: 'streamable' }),
  };
  const seconds: Record<string, number[]> = Object.fromEntries(Object.keys(files).map((name) => [name, []]));
  await readAll(files['xlsx (Excel layout, spooled)']); // warm-up: loads the reader's modules
  // Interleaved, so a noisy neighbour slows every reader alike.
  for (let run = 0; run < options.runs; run++)
    for (const [name, bytes] of Object.entries(files)) {
      const result = await readAll(bytes);
      if (result.rows !== options.rows) throw new Error(`${name}: ${result.rows} rows, expected ${options.rows}`);
      seconds[name]!.push(result.seconds);
    }
  const baseline = options.rows / median(seconds.csv!);
  const results = Object.entries(files).map(([name, bytes]) => {
    const rowsPerSecond = options.rows / median(seconds[name]!);
    return { name, bytes: bytes.length, rowsPerSecond: Math.round(rowsPerSecond), vsCsv: rowsPerSecond / baseline };
  });
  report(
    `Reading ${options.rows} rows to records (median of ${options.runs} runs)`,
    [
      ['file', 'size', 'rows/s', 'vs CSV'],
      ...results.map((result) => [
        result.name,
        `${(result.bytes / 2 ** 20).toFixed(1)} MB`,
        String(result.rowsPerSecond),
        `${result.vsCsv.toFixed(2)}×`,
      ]),
    ],
    'xlsx',
    results,
  );
}
