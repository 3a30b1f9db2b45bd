import { sql } from 'drizzle-orm';
import { openDatabase } from '../src/db/setup.ts';
import { BENCH_JWT_SECRET, benchDatabaseUrl, ensureDatabase, type Load, load, report, startServer } from './harness.ts';
import { BENCH_PASSWORD, ensureCompany, fillLeads } from './seed.ts';

/**
 * Issue 4's read benchmark: a company with BENCH_LEADS leads (1M by default) on PostgreSQL; `GET` one lead and the
 * first page of a filtered (stage), sorted (-created_at) list, through Leadsy and through a bare node:http + pg
 * handler running the same SQL, in the same run. The ratio is what the framework, validation and authorization cost.
 * The first page is measured again with one client at a time: its p99 is a request's own latency.
 */
export async function readBenchmark(options: { leads: number; seconds: number; rounds: number; baseDir?: string }) {
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
  const scenarios: Scenario[] = [];
  const servers = [
    { name: 'bare', ...(await startServer('bare', env)) },
    { name: 'Leadsy', ...(await startServer('app', env)) },
    // BENCH_BASE_DIR: another checkout's Leadsy (a refactor's base) measured in the same rounds.
    ...(options.baseDir ? [{ name: 'Leadsy (base)', ...(await startServer('app', env, options.baseDir)) }] : []),
  ];
  try {
    const login = await fetch(`http://127.0.0.1:${servers[1]!.port}/api/v1/users/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: company.adminEmail, password: BENCH_PASSWORD }),
    });
    const { token } = (await login.json()) as { token: string };
    const headers = { authorization: `Bearer ${token}` };
    const base = `/api/v1/companies/${company.companyId}/leads`;
    const list = `${base}?stage_id=${env.BENCH_STAGE_ID}&sort=-created_at&limit=25`;
    const paths = {
      lead: (bare: boolean) => (bare ? `/lead/${leadId}` : `${base}/${leadId}`),
      list: (bare: boolean) => (bare ? '/list' : list),
    };
    for (const server of servers) {
      await load('warm-up', `http://127.0.0.1:${server.port}${paths.list(server.name === 'bare')}`, {
        headers,
        seconds: 2,
      });
    }
    // Throughput at 10 connections saturates both cores, so its p99 is mostly queueing; the one-client run measures
    // what a single request costs end to end (the list p99 target).
    for (const [name, path, connections] of [
      ['GET one lead', paths.lead, 10],
      ['first page of a filtered list', paths.list, 10],
      ['first page, one client (latency)', paths.list, 1],
    ] as const) {
      const contenders = servers.map(
        (server) => () =>
          load(server.name, `http://127.0.0.1:${server.port}${path(server.name === 'bare')}`, {
            ...options,
            connections,
            ...(server.name === 'bare' ? {} : { headers }),
          }),
      );
      scenarios.push(await rounds(name, options, contenders));
    }
  } finally {
    for (const server of servers) server.child.kill();
  }
  const rows = [['scenario', 'req/s', 'p50 ms', 'p99 ms', 'errors', '÷ bare (req/s): median (rounds)']];
  for (const scenario of scenarios) {
    for (const [i, side] of scenario.medians.entries()) {
      rows.push([
        `${scenario.name}: ${side.name}`,
        String(side.reqPerSec),
        String(side.p50),
        String(side.p99),
        String(side.errors),
        i === 0 ? '1.00' : `${side.ratio.toFixed(2)} (${side.ratios.map((r) => r.toFixed(2)).join(', ')})`,
      ]);
    }
  }
  report(
    `Reads on ${options.leads.toLocaleString('en')} leads (PostgreSQL, 10 connections unless named, ${options.rounds} rounds of ${options.seconds} s each; medians)`,
    rows,
    'reads',
    { leads: options.leads, fill, scenarios },
  );
}

type Side = {
  name: string;
  reqPerSec: number;
  p50: number;
  p99: number;
  errors: number;
  ratio: number;
  ratios: number[];
};
type Scenario = { name: string; rounds: Load[][]; medians: Side[] };

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

/**
 * `rounds` measurements of the baseline (first) and each contender, the order rotating every round so that a drift
 * of the machine falls on all alike; each ratio quoted is the median of the rounds' ratios to the baseline (one round
 * is easily off by a third on a shared machine).
 */
async function rounds(name: string, options: { rounds: number }, contenders: (() => Promise<Load>)[]) {
  const measured: Load[][] = [];
  for (let round = 0; round < options.rounds; round++) {
    const results: Load[] = [];
    for (let k = 0; k < contenders.length; k++) {
      const i = (k + round) % contenders.length;
      results[i] = await contenders[i]!();
    }
    measured.push(results);
  }
  const medians = contenders.map((_, i): Side => {
    const ratios = measured.map((results) => results[i]!.reqPerSec / results[0]!.reqPerSec);
    return {
      name: measured[0]![i]!.name,
      reqPerSec: Math.round(median(measured.map((results) => results[i]!.reqPerSec))),
      p50: median(measured.map((results) => results[i]!.p50)),
      p99: median(measured.map((results) => results[i]!.p99)),
      errors: measured.reduce((sum, results) => sum + results[i]!.errors + results[i]!.non2xx, 0),
      ratio: median(ratios),
      ratios,
    };
  });
  return { name, rounds: measured, medians } satisfies Scenario;
}
