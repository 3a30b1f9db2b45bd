import { execFileSync } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { finished } from 'node:stream/promises';
import pg from 'pg';
import { openDatabase } from '../src/db/setup.ts';
import { BENCH_JWT_SECRET, buildProduct, report, startProduct } from './harness.ts';
import { BENCH_PASSWORD, ensureCompany } from './seed.ts';

/** A fresh database for each import run, next to the read benchmark's. */
const importsDatabaseUrl = (
  process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/leadsy_bench'
).replace(/\/[^/]+$/, '/leadsy_bench_imports');

async function recreate(url: string) {
  const admin = new URL(url);
  const name = admin.pathname.slice(1);
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.toString() });
  await client.connect();
  await client.query(`drop database if exists "${name}" with (force)`);
  await client.query(`create database "${name}"`);
  await client.end();
}

/**
 * A CSV as a CRM would export it — first name, email, a national phone, postal code — narrow enough that a
 * million rows stay under the 50 MB upload cap. Written as a stream.
 */
async function writeCsv(file: string, rows: number) {
  const out = createWriteStream(file);
  out.write('first_name,email,phone,postal_code\n');
  for (let i = 1; i <= rows; i++) {
    const line = `Ana,lead${i}@ex.com,6${String(i).padStart(8, '0')},280${String(i % 100).padStart(2, '0')}\n`;
    if (!out.write(line)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
  }
  out.end();
  await finished(out);
}

/** Peak resident memory of a process (VmHWM), in MB. */
function peakRssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Math.round(Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024);
}

type Run = { name: string; rows: number; seconds: number; rowsPerSecond: number; peakRssMb: number | null };

/**
 * Upload to `completed` through the API started as `npm start` starts it, with the worker in the API process (the
 * embedded shape's default).
 */
async function importThrough(kind: 'postgres' | 'embedded', file: string, rows: number): Promise<Run> {
  const dataDir = mkdtempSync(join(tmpdir(), 'leadsy-bench-'));
  const env: Record<string, string> = {
    JWT_SECRET: BENCH_JWT_SECRET,
    DATA_DIR: dataDir,
    WORKER: 'on',
  };
  if (kind === 'postgres') await recreate(importsDatabaseUrl);
  const database = await openDatabase(
    kind === 'postgres' ? { databaseUrl: importsDatabaseUrl, dataDir } : { databaseUrl: undefined, dataDir },
  );
  const company = await ensureCompany(database.db, `bench-import-${rows}`);
  await database.close();
  const server = await startProduct(
    kind === 'postgres' ? { ...env, DATABASE_URL: importsDatabaseUrl } : { ...env, DATABASE_URL: '' },
  );
  try {
    const base = `http://127.0.0.1:${server.port}/api/v1`;
    const login = await fetch(`${base}/users/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: company.adminEmail, password: BENCH_PASSWORD }),
    });
    const { token } = (await login.json()) as { token: string };
    const headers = { authorization: `Bearer ${token}` };
    const form = new FormData();
    form.append('file', new Blob([readFileSync(file)], { type: 'text/csv' }), 'leads.csv');
    const started = performance.now();
    const upload = await fetch(`${base}/companies/${company.companyId}/imports`, {
      method: 'POST',
      headers,
      body: form,
    });
    if (upload.status !== 202) throw new Error(`upload answered ${upload.status}: ${await upload.text()}`);
    const { import_file } = (await upload.json()) as { import_file: { id: number } };
    let status = 'pending';
    let imported = 0;
    while (status === 'pending' || status === 'processing') {
      await new Promise((resolve) => setTimeout(resolve, 250));
      const response = await fetch(`${base}/companies/${company.companyId}/imports/${import_file.id}`, { headers });
      const body = (await response.json()) as { import_file: { status: string; imported_rows: number } };
      ({ status, imported_rows: imported } = body.import_file);
    }
    const seconds = (performance.now() - started) / 1000;
    if (status !== 'completed' || imported !== rows) throw new Error(`import ended ${status} with ${imported} rows`);
    return {
      name: `Leadsy import, ${kind}`,
      rows,
      seconds,
      rowsPerSecond: Math.round(rows / seconds),
      peakRssMb: peakRssMb(server.child.pid!),
    };
  } finally {
    server.child.kill();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** The floor: the same file COPYed by psql into a bare table (no indexes, no validation, no distribution). */
async function copyBaseline(file: string, rows: number): Promise<Run> {
  await recreate(importsDatabaseUrl);
  const psql = (command: string) =>
    execFileSync('psql', [importsDatabaseUrl, '-qAt', '-c', command], { stdio: 'pipe' });
  psql('create table copied (first_name text, email text, phone text, postal_code text)');
  const started = performance.now();
  psql(`\\copy copied from '${file}' with (format csv, header true)`);
  const seconds = (performance.now() - started) / 1000;
  return {
    name: 'psql COPY into a bare table',
    rows,
    seconds,
    rowsPerSecond: Math.round(rows / seconds),
    peakRssMb: null,
  };
}

/**
 * Issue 6's benchmark: CSVs of 100k and 1M rows (BENCH_IMPORT_ROWS, comma-separated) imported from upload to
 * `completed` on PostgreSQL and on the embedded database, next to a plain COPY of the same file.
 */
export async function importBenchmark() {
  const sizes = (process.env.BENCH_IMPORT_ROWS ?? '100000,1000000').split(',').map(Number);
  const embeddedMax = Number(process.env.BENCH_EMBEDDED_MAX_ROWS ?? 100_000);
  const dir = mkdtempSync(join(tmpdir(), 'leadsy-csv-'));
  const runs: Run[] = [];
  buildProduct();
  try {
    for (const rows of sizes) {
      const file = join(dir, `leads-${rows}.csv`);
      await writeCsv(file, rows);
      console.log(`${rows.toLocaleString('en')} rows: ${(statSync(file).size / 1024 / 1024).toFixed(1)} MB`);
      runs.push(await copyBaseline(file, rows));
      runs.push(await importThrough('postgres', file, rows));
      if (rows <= embeddedMax) runs.push(await importThrough('embedded', file, rows));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  report(
    'Imports, upload to completed',
    [
      ['run', 'rows', 'seconds', 'rows/s', 'peak RSS MB', 'vs COPY (time)'],
      ...runs.map((run) => {
        const copy = runs.find((r) => r.rows === run.rows && r.peakRssMb === null)!;
        return [
          run.name,
          run.rows.toLocaleString('en'),
          run.seconds.toFixed(1),
          String(run.rowsPerSecond),
          String(run.peakRssMb ?? '—'),
          `${(run.seconds / copy.seconds).toFixed(1)}×`,
        ];
      }),
    ],
    'imports',
    runs,
  );
}
