/**
 * The two servers the read benchmark compares, each started as its own process (`tsx bench/servers.ts app|bare`):
 * - app: Leadsy itself (Fastify, validation, authentication, authorization, serialization), with its worker;
 * - bare: node:http + pg running the same lead SQL, with none of that around it.
 * Each prints `PORT <n>` once listening.
 */
import { createServer } from 'node:http';
import { and, eq, sql } from 'drizzle-orm';
import { buildApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { connectPostgres } from '../src/db/client.ts';
import { leadNotes, leads } from '../src/db/schema/index.ts';
import { openDatabase } from '../src/db/setup.ts';
import { leadConditions, selectLeadViews } from '../src/modules/leads/leads.repository.ts';

const url = process.env.DATABASE_URL!;
const companyId = Number(process.env.BENCH_COMPANY_ID);
const listFilter = { stageId: Number(process.env.BENCH_STAGE_ID) };

async function startApp() {
  const config = {
    ...loadConfig({ ...process.env, LOG_LEVEL: 'silent', AUTH_RATE_LIMIT: '1000000', API_RATE_LIMIT: '1000000' }),
    jwtSecret: process.env.JWT_SECRET!,
  };
  // PostgreSQL when DATABASE_URL is set, else the embedded database in DATA_DIR (the import benchmark uses both).
  const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  const app = await buildApp({ config, database, logger: false });
  await app.listen({ port: 0, host: '127.0.0.1' });
  return (app.server.address() as { port: number }).port;
}

/** The app's SQL, taken from the same query builders, run with plain pg and serialized with JSON.stringify. */
async function startBare() {
  const database = connectPostgres(url, { max: 10 });
  const db = database.db;
  type Query = { text: string; values: unknown[]; rowMode?: 'array' };
  const client = (db as unknown as { $client: { query: (query: Query) => Promise<{ rows: unknown[][] }> } }).$client;
  // Drizzle reads rows as arrays too (its selected columns share names across the joined tables).
  const query = (text: string, values: unknown[]) => client.query({ text, values, rowMode: 'array' });
  const ANSWERS =
    'select lead_id, question_id, value from lead_answers where lead_id = any($1) order by lead_id, question_id';
  const oneLead = selectLeadViews(db)
    .where(and(leadConditions({ companyId }), eq(leads.id, 0)))
    .toSQL();
  const notesSql = db
    .select()
    .from(leadNotes)
    .where(and(eq(leadNotes.companyId, companyId), eq(leadNotes.leadId, 0)))
    .orderBy(sql`${leadNotes.id} desc`)
    .limit(21)
    .toSQL();
  const listSql = selectLeadViews(db)
    .where(leadConditions({ companyId }, listFilter))
    .orderBy(sql`${leads.createdAt} desc, ${leads.id} desc`)
    .limit(26)
    .toSQL();
  const withId = (params: unknown[], id: number) => params.map((p) => (p === 0 ? id : p));
  const server = createServer(async (request, response) => {
    try {
      const match = /^\/lead\/(\d+)$/.exec(request.url ?? '');
      let body: unknown;
      if (match) {
        const id = Number(match[1]);
        const lead = await query(oneLead.sql, withId(oneLead.params, id));
        const answers = await query(ANSWERS, [[id]]);
        const notes = await query(notesSql.sql, withId(notesSql.params, id));
        body = { lead: lead.rows[0], answers: answers.rows, notes: notes.rows };
      } else {
        const page = await query(listSql.sql, listSql.params);
        const answers = await query(ANSWERS, [page.rows.map((row) => row[0])]);
        body = { leads: page.rows, answers: answers.rows };
      }
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    } catch (error) {
      response.writeHead(500).end(String(error));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as { port: number }).port;
}

const port = process.argv[2] === 'bare' ? await startBare() : await startApp();
console.log(`PORT ${port}`);
// A normal exit on either signal, so that a CPU profile (BENCH_PROFILE) is written.
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(0));
