import { and, asc, eq, getTableName, gte, isNull, ne, type SQL, sql } from 'drizzle-orm';
import type { PgColumn, PgTable } from 'drizzle-orm/pg-core';
import type { Executor } from './client.ts';

/** A company's soft-deletable list kept in a `priority` order (sources, questions). */
type Ordered = PgTable & { id: PgColumn; companyId: PgColumn; priority: PgColumn; deletedAt: PgColumn };

/**
 * The list operations sources and questions share, over one table: live rows in (priority, id) order, served by
 * the table's (company_id, priority, id) partial index. Callers hold the company's list lock (db/locks.ts) while
 * they change priorities.
 */
export function priorityList<T extends Ordered>(table: T) {
  const live = (companyId: number): SQL => and(eq(table.companyId, companyId), isNull(table.deletedAt))!;

  return {
    live,

    /** One page in priority order (limit + 1 rows). */
    page(db: Executor, companyId: number, page: { after?: [number, number]; limit: number }) {
      const after = page.after
        ? sql`(${table.priority}, ${table.id}) > (${page.after[0]}, ${page.after[1]})`
        : undefined;
      return db
        .select()
        .from(table as PgTable)
        .where(and(live(companyId), after))
        .orderBy(asc(table.priority), asc(table.id))
        .limit(page.limit + 1) as unknown as Promise<T['$inferSelect'][]>;
    },

    async count(db: Executor, companyId: number): Promise<number> {
      const [row] = await db
        .select({ total: sql<number>`count(*)::int` })
        .from(table as PgTable)
        .where(live(companyId));
      return Number(row?.total ?? 0);
    },

    /** The live ids in priority order (a reorder's reference list). */
    async ids(db: Executor, companyId: number): Promise<number[]> {
      const rows = await db
        .select({ id: table.id })
        .from(table as PgTable)
        .where(live(companyId))
        .orderBy(asc(table.priority), asc(table.id));
      return rows.map((row) => Number(row.id));
    },

    async nextPriority(db: Executor, companyId: number): Promise<number> {
      const [row] = await db
        .select({ next: sql<number>`coalesce(max(${table.priority}), 0)::int + 1` })
        .from(table as PgTable)
        .where(live(companyId));
      return Number(row?.next ?? 1);
    },

    /** Makes room at `priority`: the rows at or after it move down by one. */
    async shiftFrom(db: Executor, companyId: number, priority: number, exceptId?: number) {
      await db
        .update(table as PgTable)
        .set({ priority: sql`${table.priority} + 1` })
        .where(and(live(companyId), gte(table.priority, priority), exceptId ? ne(table.id, exceptId) : undefined));
    },

    /** priority = position in `ids` (1-based), in one statement. */
    async setPriorities(db: Executor, companyId: number, ids: readonly number[]) {
      if (ids.length === 0) return;
      await db.execute(sql`
        update ${sql.identifier(getTableName(table))} t set priority = v.ord, updated_at = now()
        from unnest(${sql.param(ids)}::bigint[]) with ordinality as v(id, ord)
        where t.id = v.id and t.company_id = ${companyId} and t.deleted_at is null`);
    },
  };
}
