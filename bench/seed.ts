import { sql } from 'drizzle-orm';
import type { Db } from '../src/db/client.ts';
import {
  accesses,
  companies,
  memberships,
  sources,
  subscriptions,
  userAccesses,
  users,
} from '../src/db/schema/index.ts';
import { hashPassword } from '../src/lib/passwords.ts';

export const BENCH_PASSWORD = 'benchmark password';

export type BenchCompany = { companyId: number; adminEmail: string; agentAccessIds: number[]; sourceIds: number[] };

/**
 * A company with an admin, `agents` agents, 5 sources and an unlimited plan, found again by name on later runs so
 * the million leads are generated once per database.
 */
export async function ensureCompany(db: Db, name: string, agents = 8): Promise<BenchCompany> {
  const adminEmail = `admin@${name}.bench`;
  const existing = await db.execute<{ id: number }>(sql`select id from companies where name = ${name} limit 1`);
  if (existing.rows[0]) {
    const companyId = Number(existing.rows[0].id);
    const agentRows = await db.execute<{ id: number }>(
      sql`select ua.id from user_accesses ua join accesses a on a.id = ua.access_id
          where ua.company_id = ${companyId} and a.code = 'agent' order by ua.id`,
    );
    const sourceRows = await db.execute<{ id: number }>(
      sql`select id from sources where company_id = ${companyId} order by id`,
    );
    return {
      companyId,
      adminEmail,
      agentAccessIds: agentRows.rows.map((r) => Number(r.id)),
      sourceIds: sourceRows.rows.map((r) => Number(r.id)),
    };
  }
  const passwordHash = await hashPassword(BENCH_PASSWORD);
  const [company] = await db.insert(companies).values({ name, country: 'ES' }).returning();
  const companyId = company!.id;
  const [admin] = await db
    .insert(users)
    .values({ firstName: 'Bench', lastName: 'Admin', email: adminEmail, passwordHash })
    .returning();
  const accessRows = await db.select().from(accesses);
  const accessId = (code: string) => accessRows.find((row) => row.code === code)!.id;
  await db.insert(userAccesses).values({ userId: admin!.id, companyId, accessId: accessId('admin'), primary: true });
  const agentUsers = await db
    .insert(users)
    .values(
      Array.from({ length: agents }, (_, i) => ({
        firstName: 'Agent',
        lastName: String(i + 1),
        email: `agent${i + 1}@${name}.bench`,
        passwordHash,
      })),
    )
    .returning();
  const agentAccesses = await db
    .insert(userAccesses)
    .values(agentUsers.map((user) => ({ userId: user.id, companyId, accessId: accessId('agent') })))
    .returning();
  const sourceRows = await db
    .insert(sources)
    .values(
      ['Website', 'Facebook', 'Google Ads', 'Referral', 'Fair'].map((n, i) => ({
        companyId,
        name: n,
        priority: i + 1,
      })),
    )
    .returning();
  const [plan] = await db.select().from(memberships).where(sql`${memberships.code} = 'enterprise'`);
  await db.insert(subscriptions).values({
    companyId,
    membershipId: plan!.id,
    status: 'active',
    currentPeriodStart: new Date(),
    currentPeriodEnd: new Date(Date.now() + 365 * 86_400_000),
  });
  return {
    companyId,
    adminEmail,
    agentAccessIds: agentAccesses.map((row) => row.id),
    sourceIds: sourceRows.map((row) => row.id),
  };
}

/**
 * Fills the company up to `total` leads in set-based batches (INSERT … SELECT generate_series): spread over the
 * stages, sources and agents, one lead in ten unassigned, created over the past year.
 */
export async function fillLeads(db: Db, company: BenchCompany, total: number, log: (line: string) => void) {
  const have = await db.execute<{ n: number }>(
    sql`select count(*)::int as n from leads where company_id = ${company.companyId}`,
  );
  let start = Number(have.rows[0]?.n ?? 0);
  if (start >= total) return { inserted: 0, seconds: 0 };
  const began = performance.now();
  const stageIds = (await db.execute<{ id: number }>(sql`select id from stages order by position`)).rows.map((r) =>
    Number(r.id),
  );
  const batch = 100_000;
  const inserted = total - start;
  while (start < total) {
    const end = Math.min(start + batch, total);
    await db.execute(sql`
      insert into leads (company_id, first_name, last_name, email, phone, phone_raw, country, city, source_id,
                         stage_id, assigned_user_access_id, value, currency, attributes, created_at, updated_at)
      select ${sql.raw(String(company.companyId))}::bigint, 'Lead', 'Number ' || g, 'lead' || g || '@example.com',
             '+346' || lpad((g % 100000000)::text, 8, '0'), '6' || lpad((g % 100000000)::text, 8, '0'), 'ES',
             (array['Madrid','Barcelona','Valencia','Sevilla'])[1 + g % 4],
             (${sql.raw(`array[${company.sourceIds.join(',')}]::bigint[]`)})[1 + g % ${sql.raw(String(company.sourceIds.length))}],
             (${sql.raw(`array[${stageIds.join(',')}]::bigint[]`)})[1 + (g / 7) % ${sql.raw(String(stageIds.length))}],
             case when g % 10 = 0 then null
                  else (${sql.raw(`array[${company.agentAccessIds.join(',')}]::bigint[]`)})[1 + g % ${sql.raw(String(company.agentAccessIds.length))}] end,
             (g % 5000) * 10, 'EUR', '{}'::jsonb,
             now() - ((${sql.raw(String(total))} - g) * interval '30 seconds'), now() - ((${sql.raw(String(total))} - g) * interval '30 seconds')
      from generate_series(${sql.raw(String(start + 1))}, ${sql.raw(String(end))}) g`);
    start = end;
    log(`  ${start.toLocaleString('en')} leads`);
  }
  await db.execute(sql`analyze leads`);
  return { inserted, seconds: (performance.now() - began) / 1000 };
}
