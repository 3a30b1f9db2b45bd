import { sql } from 'drizzle-orm';
import { cycleMembers, cycles } from '../src/db/schema/index.ts';
import { openDatabase } from '../src/db/setup.ts';
import { BENCH_JWT_SECRET, benchDatabaseUrl, ensureDatabase, type Load, load, report, startServer } from './harness.ts';
import { BENCH_PASSWORD, type BenchCompany, ensureCompany } from './seed.ts';

/**
 * Issue 5's benchmark: lead creations per second through the API on PostgreSQL, in a company whose default cycle
 * rotates 8 agents, next to the same creations in a company with cycles off, in the same run.
 */
export async function distributionBenchmark(options: { seconds: number }) {
  await ensureDatabase(benchDatabaseUrl);
  const database = await openDatabase({ databaseUrl: benchDatabaseUrl, dataDir: './data' });
  const plain = await ensureCompany(database.db, 'bench-plain');
  const rotating = await ensureCompany(database.db, 'bench-cycles');
  await ensureDefaultCycle(database.db, rotating);
  await database.close();

  const app = await startServer('app', {
    DATABASE_URL: benchDatabaseUrl,
    JWT_SECRET: BENCH_JWT_SECRET,
    BENCH_COMPANY_ID: '0',
    BENCH_STAGE_ID: '0',
  });
  const results: Load[] = [];
  try {
    for (const [label, company] of [
      ['plain creations (cycles off)', plain],
      ['assigned creations (cycle of 8)', rotating],
    ] as const) {
      const login = await fetch(`http://127.0.0.1:${app.port}/api/v1/users/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: company.adminEmail, password: BENCH_PASSWORD }),
      });
      const { token } = (await login.json()) as { token: string };
      const url = `http://127.0.0.1:${app.port}/api/v1/companies/${company.companyId}/leads`;
      results.push(
        await load(label, url, {
          seconds: options.seconds,
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify({ first_name: 'Bench', email: 'bench.lead@example.com', phone: '612345678' }),
        }),
      );
    }
  } finally {
    app.child.kill();
  }
  const [plainRun, assignedRun] = results as [Load, Load];
  report(
    `Lead creations on PostgreSQL (10 connections, ${options.seconds} s each)`,
    [
      ['scenario', 'creations/s', 'p50 ms', 'p99 ms', 'errors', 'ratio'],
      ...results.map((r) => [
        r.name,
        String(r.reqPerSec),
        String(r.p50),
        String(r.p99),
        String(r.errors + r.non2xx),
        (r.reqPerSec / plainRun.reqPerSec).toFixed(2),
      ]),
    ],
    'distribution',
    { results, ratio: assignedRun.reqPerSec / plainRun.reqPerSec },
  );
}

async function ensureDefaultCycle(db: Parameters<typeof ensureCompany>[0], company: BenchCompany) {
  await db.execute(sql`update companies set cycles_enabled = true where id = ${company.companyId}`);
  const existing = await db.execute(sql`select id from cycles where company_id = ${company.companyId} and is_default`);
  if (existing.rows.length > 0) return;
  const [cycle] = await db
    .insert(cycles)
    .values({ companyId: company.companyId, name: 'Everyone', isDefault: true })
    .returning();
  await db.insert(cycleMembers).values(
    company.agentAccessIds.map((userAccessId, position) => ({
      cycleId: cycle!.id,
      companyId: company.companyId,
      userAccessId,
      position,
    })),
  );
}
