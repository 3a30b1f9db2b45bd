/**
 * `npm run bench -- imports-memory`: what importing the worst files we can build under the 50 MB upload limit costs
 * the process that imports them. Leadsy is built and started as `npm start` starts it (compiled, worker in the API
 * process, WORKER_CONCURRENCY 2) on PostgreSQL; each file is uploaded alone, then twice at once, and the process's
 * peak RSS while it is imported (VmHWM, reset through /proc/<pid>/clear_refs) is compared with its RSS at rest.
 * Rest is measured after a warm-up import of a small CSV and a small XLSX (sharp, the XLSX reader's modules … load on first use).
 * BENCH_MEMORY_FILES=name,name picks files. Run: `npx tsx bench/imports-memory.ts` (needs the machine's PostgreSQL).
 */
import { once } from 'node:events';
import { createWriteStream, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { openDatabase } from '../src/db/setup.ts';
import { BENCH_JWT_SECRET, buildProduct, report, startProduct } from './harness.ts';
import { hugeInlineCell, manySharedStrings, rowsBomb, wideSharedRows } from './hostile-files.ts';
import { BENCH_PASSWORD, ensureCompany } from './seed.ts';

const databaseUrl = (process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/leadsy_bench').replace(
  /\/[^/]+$/,
  '/leadsy_bench_memory',
);
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

const UPLOAD_LIMIT = 50 * 1024 * 1024;

async function writeLines(file: string, header: string, rows: number, line: (i: number) => string) {
  const out = createWriteStream(file);
  out.write(`${header}\n`);
  for (let i = 1; i <= rows; i++) if (!out.write(`${line(i)}\n`)) await once(out, 'drain');
  out.end();
  await once(out, 'finish');
}

type File = { name: string; what: string; build: (path: string) => Promise<void> };

const xlsx = (make: () => Promise<Buffer>) => async (path: string) => writeFileSync(path, await make());

const FILES: File[] = [
  {
    name: 'csv-1m',
    what: '1,000,000 good rows (36 MB)',
    build: (path) =>
      writeLines(
        path,
        'first_name,email,phone,postal_code',
        1_000_000,
        (i) => `Ana,lead${i}@ex.com,6${String(i).padStart(8, '0')},280${String(i % 100).padStart(2, '0')}`,
      ),
  },
  {
    name: 'csv-1m-bad',
    what: '1,000,000 rejected rows (all counted, 10,000 kept)',
    build: (path) => writeLines(path, 'email,first_name,city', 1_000_000, (i) => `bad-${i},Name ${i},Madrid ${i}`),
  },
  {
    name: 'csv-wide-bad',
    what: '250 rejected rows of 20 cells × 9,900 characters (48 MB)',
    build: (path) =>
      writeLines(path, Array.from({ length: 20 }, (_, c) => (c === 0 ? 'email' : `c${c}`)).join(','), 250, (i) =>
        Array.from({ length: 20 }, (_, c) => `${i}${c}`.padEnd(9_900, 'x')).join(','),
      ),
  },
  {
    name: 'csv-huge-field',
    what: 'one 45 MB field (refused)',
    build: (path) => writeLines(path, 'email,notes', 1, () => `a@ex.com,"${'x'.repeat(45 * 1024 * 1024)}"`),
  },
  {
    name: 'xlsx-huge-cell',
    what: 'one 1,000,000,000-character cell (refused)',
    build: xlsx(() => hugeInlineCell(1e9)),
  },
  {
    name: 'xlsx-shared-strings',
    what: '64 MB of tiny shared strings, 1,000,000 rows naming them',
    build: xlsx(() => manySharedStrings(64 * 1024 * 1024 - 4096, 1_000_000)),
  },
  {
    name: 'xlsx-wide-shared',
    what: 'rows of 16,384 cells naming one 9,000-character string (refused)',
    build: xlsx(() => wideSharedRows(3, 9_000)),
  },
  { name: 'xlsx-bomb', what: '1.2 GiB sheet of one-cell rows (refused)', build: xlsx(() => rowsBomb(1_200_000_000)) },
];

const statusOf = (pid: number) => readFileSync(`/proc/${pid}/status`, 'utf8');
const kb = (status: string, key: string) => Number(new RegExp(`${key}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0);
const mb = (kilobytes: number) => Math.round(kilobytes / 1024);

type Session = { base: string; companyId: number; headers: Record<string, string> };

async function importFile(session: Session, path: string, name: string) {
  const form = new FormData();
  form.append('file', new Blob([readFileSync(path)]), name);
  const upload = await fetch(`${session.base}/companies/${session.companyId}/imports`, {
    method: 'POST',
    headers: session.headers,
    body: form,
  });
  if (upload.status !== 202) throw new Error(`upload answered ${upload.status}: ${await upload.text()}`);
  const { import_file } = (await upload.json()) as { import_file: { id: number } };
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    const response = await fetch(`${session.base}/companies/${session.companyId}/imports/${import_file.id}`, {
      headers: session.headers,
    });
    const body = (await response.json()) as { import_file: Record<string, unknown> };
    const row = body.import_file;
    if (row.status !== 'pending' && row.status !== 'processing') return row;
  }
}

type Run = {
  file: string;
  what: string;
  size_mb: number;
  at_once: number;
  outcome: string;
  seconds: number;
  rest_mb: number;
  peak_mb: number;
};

async function measure(pid: number, work: () => Promise<string>) {
  const rest = kb(statusOf(pid), 'VmRSS');
  writeFileSync(`/proc/${pid}/clear_refs`, '5'); // resets VmHWM to the current RSS
  const started = performance.now();
  const outcome = await work();
  return { rest, peak: kb(statusOf(pid), 'VmHWM'), outcome, seconds: (performance.now() - started) / 1000 };
}

export async function importsMemoryBenchmark() {
  const pick = process.env.BENCH_MEMORY_FILES?.split(',');
  const files = FILES.filter((file) => !pick || pick.includes(file.name));
  const dir = mkdtempSync(join(tmpdir(), 'leadsy-memory-'));
  const dataDir = mkdtempSync(join(tmpdir(), 'leadsy-bench-'));
  buildProduct();
  await recreate(databaseUrl);
  // A company of its own for every import (two at once included), so that no file is a duplicate of an earlier one.
  const database = await openDatabase({ databaseUrl, dataDir });
  const companies: Awaited<ReturnType<typeof ensureCompany>>[] = [];
  for (let n = 0; n < 1 + files.length * 3; n++)
    companies.push(await ensureCompany(database.db, `bench-memory-${n}`, 1));
  await database.close();
  const server = await startProduct({ JWT_SECRET: BENCH_JWT_SECRET, DATA_DIR: dataDir, DATABASE_URL: databaseUrl });
  const runs: Run[] = [];
  try {
    const base = `http://127.0.0.1:${server.port}/api/v1`;
    const sessions: Session[] = [];
    for (const company of companies) {
      const login = await fetch(`${base}/users/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: company.adminEmail, password: BENCH_PASSWORD }),
      });
      const { token } = (await login.json()) as { token: string };
      sessions.push({ base, companyId: company.companyId, headers: { authorization: `Bearer ${token}` } });
    }
    const session = sessions.shift()!;
    const warm = join(dir, 'warm.csv');
    await writeLines(warm, 'email', 10, (i) => `warm${i}@ex.com`);
    await importFile(session, warm, 'warm.csv');
    const warmXlsx = join(dir, 'warm.xlsx');
    writeFileSync(warmXlsx, await hugeInlineCell(10));
    await importFile(session, warmXlsx, 'warm.xlsx');
    for (const file of files) {
      const path = join(dir, file.name);
      await file.build(path);
      const size = statSync(path).size;
      if (size > UPLOAD_LIMIT) throw new Error(`${file.name} is over the upload limit`);
      for (const atOnce of [1, 2]) {
        const pid = server.child.pid!;
        const { rest, peak, outcome, seconds } = await measure(pid, async () => {
          const rows = await Promise.all(sessions.splice(0, atOnce).map((own) => importFile(own, path, file.name)));
          return rows
            .map((row) =>
              row.status === 'failed'
                ? `failed: ${String(row.error_message).slice(0, 70)}`
                : `${row.status}: ${row.imported_rows} imported, ${row.failed_rows} rejected`,
            )
            .join(' | ');
        });
        const run = {
          file: file.name,
          what: file.what,
          size_mb: Math.round((size / 1024 / 1024) * 10) / 10,
          at_once: atOnce,
          outcome,
          seconds: Math.round(seconds * 10) / 10,
          rest_mb: mb(rest),
          peak_mb: mb(peak),
        };
        console.log(JSON.stringify(run));
        runs.push(run);
      }
      rmSync(path, { force: true });
    }
  } finally {
    server.child.kill();
    rmSync(dir, { recursive: true, force: true });
    rmSync(dataDir, { recursive: true, force: true });
  }
  report(
    'Imports: peak RSS over rest (PostgreSQL, compiled, worker in the API process)',
    [
      ['file', 'upload MB', 'at once', 'outcome', 'seconds', 'rest MB', 'peak MB', 'over rest MB'],
      ...runs.map((run) => [
        `${run.file}: ${run.what}`,
        String(run.size_mb),
        String(run.at_once),
        run.outcome,
        String(run.seconds),
        String(run.rest_mb),
        String(run.peak_mb),
        String(run.peak_mb - run.rest_mb),
      ]),
    ],
    'imports-memory',
    runs,
  );
}

if (process.argv[1]?.endsWith('imports-memory.ts')) {
  await importsMemoryBenchmark();
  process.exit(0);
}
