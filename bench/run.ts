/**
 * `npm run bench [-- reads|distribution|imports|reset-timing|imports-memory|xlsx]`: the project's benchmarks (not tests). Each compares Leadsy with a baseline measured
 * in the same run, since these machines are shared and noisy; quote the ratios.
 * Settings: BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/leadsy_bench), BENCH_LEADS (1000000),
 * BENCH_SECONDS (10 per measurement), BENCH_ROUNDS (5, reads).
 */
import { distributionBenchmark } from './distribution.ts';
import { importBenchmark } from './imports.ts';
import { importsMemoryBenchmark } from './imports-memory.ts';
import { readBenchmark } from './reads.ts';
import { resetTimingBenchmark } from './reset-timing.ts';
import { webhookBenchmark } from './webhooks.ts';
import { xlsxBenchmark } from './xlsx.ts';

const leads = Number(process.env.BENCH_LEADS ?? 1_000_000);
const seconds = Number(process.env.BENCH_SECONDS ?? 10);
const which = process.argv[2] ?? 'all';

if (which === '--help' || which === '-h' || which === 'help') {
  process.stdout.write(`Usage: npm run bench [-- <benchmark>]

Benchmarks (not tests): each compares Leadsy with a baseline measured in the same run, since machines are shared
and noisy; quote the ratios. Needs a PostgreSQL (the machine's, trust auth).

  all             every benchmark below except imports-memory (the default)
  reads           GET one lead and the first list page (10 connections, then one client) vs a bare node:http + pg handler (BENCH_LEADS leads)
  distribution    lead creation with round robin vs without
  imports         CSVs of 100k and 1M rows, upload to completed (PostgreSQL, embedded) vs a plain COPY
  webhooks        lead creation with one subscribed webhook vs none; 10,000 events' delivery rate and lag
  reset-timing    password-reset answer times for known and unknown addresses (must not tell them apart)
  imports-memory  hostile files of up to 50 MB, one and two at a time (minutes)
  xlsx            an XLSX of BENCH_XLSX_ROWS rows read to records vs the CSV reader on the same rows (no database)

Settings: BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/leadsy_bench), BENCH_LEADS (1000000),
BENCH_SECONDS (10 per measurement), BENCH_ROUNDS (5 alternating rounds of reads),
BENCH_BASE_DIR (another checkout whose Leadsy the reads measure in the same rounds: a refactor's before), BENCH_IMPORT_ROWS (100000,1000000), BENCH_EMBEDDED_MAX_ROWS (100000),
BENCH_RESET_REQUESTS (400), BENCH_WEBHOOK_EVENTS (10000), BENCH_MEMORY_FILES (name,name), BENCH_XLSX_ROWS (100000),
BENCH_XLSX_RUNS (3), BENCH_PROFILE (a directory for CPU profiles).
`);
  process.exit(0);
}

if (which === 'all' || which === 'reads') {
  const baseDir = process.env.BENCH_BASE_DIR;
  await readBenchmark({
    leads,
    seconds,
    rounds: Number(process.env.BENCH_ROUNDS ?? 5),
    ...(baseDir ? { baseDir } : {}),
  });
}
if (which === 'all' || which === 'distribution') await distributionBenchmark({ seconds });
if (which === 'all' || which === 'imports') await importBenchmark();
if (which === 'all' || which === 'webhooks')
  await webhookBenchmark({ seconds, events: Number(process.env.BENCH_WEBHOOK_EVENTS ?? 10_000) });
// Not part of `all`: it builds hostile files of up to 50 MB and runs them one and two at a time (minutes).
if (which === 'imports-memory') await importsMemoryBenchmark();
if (which === 'all' || which === 'xlsx')
  await xlsxBenchmark({
    rows: Number(process.env.BENCH_XLSX_ROWS ?? 100_000),
    runs: Number(process.env.BENCH_XLSX_RUNS ?? 3),
  });
if (which === 'all' || which === 'reset-timing') {
  await resetTimingBenchmark({ requests: Number(process.env.BENCH_RESET_REQUESTS ?? 400) });
}
process.exit(0);
