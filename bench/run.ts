/**
 * `npm run bench [-- reads|distribution|imports|reset-timing|imports-memory]`: the project's benchmarks (not tests). Each compares Leadsy with a baseline measured
 * in the same run, since these machines are shared and noisy; quote the ratios.
 * Settings: BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/leadsy_bench), BENCH_LEADS (1000000),
 * BENCH_SECONDS (10 per measurement).
 */
import { distributionBenchmark } from './distribution.ts';
import { importBenchmark } from './imports.ts';
import { importsMemoryBenchmark } from './imports-memory.ts';
import { readBenchmark } from './reads.ts';
import { resetTimingBenchmark } from './reset-timing.ts';

const leads = Number(process.env.BENCH_LEADS ?? 1_000_000);
const seconds = Number(process.env.BENCH_SECONDS ?? 10);
const which = process.argv[2] ?? 'all';

if (which === 'all' || which === 'reads') await readBenchmark({ leads, seconds });
if (which === 'all' || which === 'distribution') await distributionBenchmark({ seconds });
if (which === 'all' || which === 'imports') await importBenchmark();
// Not part of `all`: it builds hostile files of up to 50 MB and runs them one and two at a time (minutes).
if (which === 'imports-memory') await importsMemoryBenchmark();
if (which === 'all' || which === 'reset-timing') {
  await resetTimingBenchmark({ requests: Number(process.env.BENCH_RESET_REQUESTS ?? 400) });
}
process.exit(0);
