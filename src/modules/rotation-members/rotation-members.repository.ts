import { and, eq, inArray, type SQL, sql } from 'drizzle-orm';
import type { Executor } from '../../db/client.ts';
import { userAccesses } from '../../db/schema/index.ts';
import type { MemberView } from './rotation-members.schemas.ts';

export type MemberKind = 'cycle' | 'territory';
export type MemberRow = { ownerId: number; userAccessId: number; position: number; weight: number };

const TABLES: Record<MemberKind, { table: SQL; owner: SQL }> = {
  cycle: { table: sql`cycle_members`, owner: sql`cycle_id` },
  territory: { table: sql`territory_members`, owner: sql`territory_id` },
};

// 5 parameters a row: well under PostgreSQL's 65535 bind parameters per statement.
const INSERT_BATCH = 2000;

/** Which of `ids` are direct user accesses of this company (inherited accesses do not receive its leads). */
export async function companyUserAccessIds(db: Executor, companyId: number, ids: readonly number[]) {
  if (ids.length === 0) return new Set<number>();
  const rows = await db
    .select({ id: userAccesses.id })
    .from(userAccesses)
    .where(and(eq(userAccesses.companyId, companyId), inArray(userAccesses.id, [...new Set(ids)])));
  return new Set(rows.map((row) => row.id));
}

/** The members of many cycles or territories with their users, in one query (no N+1), in rotation order. */
export async function selectMembers(
  db: Executor,
  kind: MemberKind,
  companyId: number,
  ownerIds: readonly number[],
): Promise<MemberView[]> {
  if (ownerIds.length === 0) return [];
  const { table, owner } = TABLES[kind];
  const result = await db.execute<Record<string, unknown>>(sql`
    select m.${owner} as owner_id, m.user_access_id, ua.user_id, u.first_name, u.last_name, u.status,
           m.position, m.weight, m.assigned_count
    from ${table} m
    join user_accesses ua on ua.id = m.user_access_id
    join users u on u.id = ua.user_id
    where m.company_id = ${companyId} and m.${owner} in ${[...ownerIds]}
    order by m.${owner}, m.position, m.user_access_id`);
  return result.rows.map((row) => ({
    ownerId: Number(row.owner_id),
    userAccessId: Number(row.user_access_id),
    userId: Number(row.user_id),
    firstName: String(row.first_name),
    lastName: String(row.last_name),
    status: String(row.status),
    position: Number(row.position),
    weight: Number(row.weight),
    assignedCount: Number(row.assigned_count),
  }));
}

/**
 * Writes members; a member already in the rotation keeps its running weight and its count and takes its new
 * position and weight.
 */
export async function upsertMembers(db: Executor, kind: MemberKind, companyId: number, rows: readonly MemberRow[]) {
  const { table, owner } = TABLES[kind];
  for (let start = 0; start < rows.length; start += INSERT_BATCH) {
    const values = sql.join(
      rows
        .slice(start, start + INSERT_BATCH)
        .map((row) => sql`(${row.ownerId}, ${companyId}, ${row.userAccessId}, ${row.position}, ${row.weight})`),
      sql`, `,
    );
    await db.execute(sql`
      insert into ${table} (${owner}, company_id, user_access_id, position, weight) values ${values}
      on conflict (${owner}, user_access_id) do update set position = excluded.position, weight = excluded.weight`);
  }
}

/**
 * Replaces one rotation's member list. Its rows are locked first, in position order like the distribution engine
 * locks them, so a concurrent assignment either finishes before or sees the new list, and neither deadlocks.
 */
export async function replaceMembers(
  db: Executor,
  kind: MemberKind,
  companyId: number,
  ownerId: number,
  rows: readonly MemberRow[],
) {
  const { table, owner } = TABLES[kind];
  await db.execute(sql`select 1 from ${table} m where m.${owner} = ${ownerId} order by m.position for update`);
  const keep = rows.map((row) => row.userAccessId);
  await db.execute(sql`delete from ${table} where ${owner} = ${ownerId} and company_id = ${companyId}
    and user_access_id not in ${keep}`);
  await upsertMembers(db, kind, companyId, rows);
}
