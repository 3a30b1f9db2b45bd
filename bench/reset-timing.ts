/**
 * `npm run bench -- reset-timing`: does a password-reset request tell a registered address from an unknown one by
 * its answer time? Requests for a known and an unknown address alternate against one app on the embedded database
 * (in process, through Fastify's inject, so the network adds no noise); the figure is the ratio of the medians and
 * Welch's t over the two samples (|t| < 2: no measurable difference). BENCH_RESET_REQUESTS (default 400 per side).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { users } from '../src/db/schema/index.ts';
import { openDatabase } from '../src/db/setup.ts';
import { hashPassword } from '../src/lib/passwords.ts';

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
};
const mean = (values: number[]) => values.reduce((sum, value) => sum + value, 0) / values.length;
const variance = (values: number[]) => {
  const m = mean(values);
  return values.reduce((sum, value) => sum + (value - m) ** 2, 0) / (values.length - 1);
};

export async function resetTimingBenchmark(options: { requests: number }) {
  const dataDir = mkdtempSync(join(tmpdir(), 'leadsy-bench-reset-'));
  const config = {
    ...loadConfig({ DATA_DIR: dataDir, LOG_LEVEL: 'silent', AUTH_RATE_LIMIT: '1000000', WORKER: 'off' }),
    jwtSecret: 'bench-secret-that-is-long-enough-for-hs256-0123456789',
  };
  const database = await openDatabase(config);
  const app = await buildApp({ config, database, logger: false });
  try {
    const known = 'known.person@example.com';
    await database.db.insert(users).values({
      firstName: 'Known',
      lastName: 'Person',
      email: known,
      passwordHash: await hashPassword('a long enough password'),
    });
    const time = async (email: string) => {
      const start = process.hrtime.bigint();
      const response = await app.inject({ method: 'POST', url: '/api/v1/users/reset_password', payload: { email } });
      if (response.statusCode !== 202) throw new Error(`reset answered ${response.statusCode}`);
      return Number(process.hrtime.bigint() - start) / 1e6;
    };
    for (let i = 0; i < 50; i++) await time(i % 2 ? known : `warm.${i}@example.com`); // warm-up
    const knownMs: number[] = [];
    const unknownMs: number[] = [];
    for (let i = 0; i < options.requests; i++) {
      knownMs.push(await time(known));
      unknownMs.push(await time(`nobody.${i}@example.com`));
    }
    const t =
      (mean(knownMs) - mean(unknownMs)) /
      Math.sqrt(variance(knownMs) / knownMs.length + variance(unknownMs) / unknownMs.length);
    console.log(`\nPassword-reset request timing, ${options.requests} each, alternating (embedded database):`);
    console.log(`  known address   median ${median(knownMs).toFixed(2)} ms`);
    console.log(`  unknown address median ${median(unknownMs).toFixed(2)} ms`);
    console.log(`  known ÷ unknown ${(median(knownMs) / median(unknownMs)).toFixed(3)}, Welch t = ${t.toFixed(2)}`);
  } finally {
    await app.close();
    await database.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
