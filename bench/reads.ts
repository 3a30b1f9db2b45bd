import { sql } from 'drizzle-orm';
import { openDatabase } from '../src/db/setup.ts';
import { BENCH_JWT_SECRET, benchDatabaseUrl, ensureDatabase, type Load, load, report, startServer } from './harness.ts';
import { BENCH_PASSWORD, ensureCompany, fillLeads } from './seed.ts';

/**
 * Issue 4's read benchmark: a company with BENCH_LEADS leads (1M by default) on PostgreSQL; `GET` one lead and the
 * first page of a filtered (stage), sorted (-created_at) list, through Leadsy and through a bare node:http + pg
 * handler running the same SQL, in the same run. The ratio is what the framework, validation and authorization cost.
 */
export async function readBenchmark(options: { leads: number; seconds: number }) {
  await ensureDatabase(benchDatabaseUrl);
  const database = await openDatabase({ databaseUrl: benchDatabaseUrl, dataDir: './data' });
  const company = await ensureCompany(database.db, 'bench-reads');
  console.log(`Filling company ${company.companyId} to ${options.leads.toLocaleString('en')} leads…`);
  const fill = await fillLeads(database.db, company, options.leads, (line) => console.log(line));
  if (fill.inserted > 0) {
    console.log(`Generated ${fill.inserted.toLocaleString('en')} leads in ${fill.seconds.toFixed(1)} s`);
  }
  const stage = await database.db.execute<{ id: number }>(sql`select id from stages where code = 'qualified'`);
  const lead = await database.db.execute<{ id: number }>(
    sql`select id from leads where company_id = ${company.companyId} order by id offset ${Math.floor(options.leads / 2)} limit 1`,
  );
  await database.close();

  const env = {
    DATABASE_URL: benchDatabaseUrl,
    JWT_SECRET: BENCH_JWT_SECRET,
    BENCH_COMPANY_ID: String(company.companyId),
    BENCH_STAGE_ID: String(stage.rows[0]!.id),
  };
  const leadId = Number(lead.rows[0]!.id);
  const results: Load[] = [];
  const bare = await startServer('bare', env);
  const app = await startServer('app', env);
  try {
    const login = await fetch(`http://127.0.0.1:${app.port}/api/v1/users/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: company.adminEmail, password: BENCH_PASSWORD }),
    });
    const { token } = (await login.json()) as { token: string };
    const headers = { authorization: `Bearer ${token}` };
    const base = `/api/v1/companies/${company.companyId}/leads`;
    const list = `${base}?stage_id=${env.BENCH_STAGE_ID}&sort=-created_at&limit=25`;
    // Warm both up, then measure each pair back to back so they see the same machine.
    await load('warm-up', `http://127.0.0.1:${bare.port}/list`, { seconds: 2 });
    await load('warm-up', `http://127.0.0.1:${app.port}${list}`, { headers, seconds: 2 });
    results.push(await load('GET one lead: bare', `http://127.0.0.1:${bare.port}/lead/${leadId}`, options));
    results.push(
      await load('GET one lead: Leadsy', `http://127.0.0.1:${app.port}${base}/${leadId}`, { ...options, headers }),
    );
    results.push(await load('first page of a filtered list: bare', `http://127.0.0.1:${bare.port}/list`, options));
    results.push(
      await load('first page of a filtered list: Leadsy', `http://127.0.0.1:${app.port}${list}`, {
        ...options,
        headers,
      }),
    );
  } finally {
    bare.child.kill();
    app.child.kill();
  }
  const rows = [['scenario', 'req/s', 'p50 ms', 'p99 ms', 'errors', 'Leadsy ÷ bare (req/s)']];
  for (let i = 0; i < results.length; i += 2) {
    const [b, a] = [results[i]!, results[i + 1]!];
    for (const r of [b, a]) {
      rows.push([
        r.name,
        String(r.reqPerSec),
        String(r.p50),
        String(r.p99),
        String(r.errors + r.non2xx),
        r === a ? (a.reqPerSec / b.reqPerSec).toFixed(2) : '1.00',
      ]);
    }
  }
  report(
    `Reads on ${options.leads.toLocaleString('en')} leads (PostgreSQL, 10 connections, ${options.seconds} s each)`,
    rows,
    'reads',
    { leads: options.leads, fill, results },
  );
}
