import { and, desc, eq, isNull, lt, sql } from 'drizzle-orm';
import { alias } from 'drizzle-orm/pg-core';
import type { Executor } from '../../db/client.ts';
import { accesses, apiKeys, users } from '../../db/schema/index.ts';

export type ApiKeyRow = typeof apiKeys.$inferSelect;
export type NewApiKey = typeof apiKeys.$inferInsert;
export type ApiKeyView = {
  key: ApiKeyRow;
  access: typeof accesses.$inferSelect;
  creator: { id: number; firstName: string; lastName: string } | null;
};

const creators = alias(users, 'creator');

/** Listed and shown: keys not revoked (a revoked key vanishes; see api-keys.routes.ts). */
const live = isNull(apiKeys.revokedAt);

function selectViews(db: Executor) {
  return db
    .select({
      key: apiKeys,
      access: accesses,
      creator: { id: creators.id, firstName: creators.firstName, lastName: creators.lastName },
    })
    .from(apiKeys)
    .innerJoin(accesses, eq(accesses.id, apiKeys.accessId))
    .leftJoin(creators, eq(creators.id, apiKeys.createdByUserId));
}

export async function insertApiKey(db: Executor, values: NewApiKey): Promise<ApiKeyRow> {
  const [row] = await db.insert(apiKeys).values(values).returning();
  return row!;
}

export async function findView(db: Executor, companyId: number, id: number): Promise<ApiKeyView | undefined> {
  const [row] = await selectViews(db).where(and(eq(apiKeys.companyId, companyId), eq(apiKeys.id, id), live));
  return row;
}

/** Newest first, one keyset page by id (limit + 1 rows). */
export function listViews(
  db: Executor,
  companyId: number,
  page: { beforeId?: number | undefined; limit: number },
): Promise<ApiKeyView[]> {
  return selectViews(db)
    .where(
      and(
        eq(apiKeys.companyId, companyId),
        live,
        page.beforeId === undefined ? undefined : lt(apiKeys.id, page.beforeId),
      ),
    )
    .orderBy(desc(apiKeys.id))
    .limit(page.limit + 1);
}

export async function countLive(db: Executor, companyId: number): Promise<number> {
  const [row] = await db
    .select({ total: sql<number>`count(*)::int` })
    .from(apiKeys)
    .where(and(eq(apiKeys.companyId, companyId), live));
  return Number(row?.total ?? 0);
}

/** Revokes a live key; undefined when there is none with this id in the company. */
export async function revoke(db: Executor, companyId: number, id: number, now: Date) {
  const [row] = await db
    .update(apiKeys)
    .set({ revokedAt: now })
    .where(and(eq(apiKeys.companyId, companyId), eq(apiKeys.id, id), live))
    .returning({ id: apiKeys.id });
  return row;
}
