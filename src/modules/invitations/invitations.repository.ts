import { and, asc, eq, gt, isNull, type SQL, sql } from 'drizzle-orm';
import { alias } from 'drizzle-orm/pg-core';
import type { Executor } from '../../db/client.ts';
import { accesses, companies, invitations, userAccesses, users } from '../../db/schema/index.ts';

export type InvitationRow = typeof invitations.$inferSelect;
export type NewInvitation = typeof invitations.$inferInsert;
export type InvitationView = {
  invitation: InvitationRow;
  company: typeof companies.$inferSelect;
  access: typeof accesses.$inferSelect;
  inviter: typeof users.$inferSelect | null;
};

const inviters = alias(users, 'inviter');

/** Pending: not accepted, not deleted, not expired. */
const pending = (now: Date) =>
  and(isNull(invitations.acceptedAt), isNull(invitations.deletedAt), gt(invitations.expiresAt, now));

/** Invitations joined with what their JSON shows, one keyset page by id (limit + 1 rows). */
function selectViews(
  db: Executor,
  where: SQL | undefined,
  page: { afterId?: number | undefined; limit?: number } = {},
): Promise<InvitationView[]> {
  const query = db
    .select({ invitation: invitations, company: companies, access: accesses, inviter: inviters })
    .from(invitations)
    .innerJoin(companies, eq(companies.id, invitations.companyId))
    .innerJoin(accesses, eq(accesses.id, invitations.accessId))
    .leftJoin(inviters, eq(inviters.id, invitations.invitedByUserId))
    .where(and(where, page.afterId === undefined ? undefined : gt(invitations.id, page.afterId)))
    .orderBy(asc(invitations.id));
  return page.limit === undefined ? query : query.limit(page.limit + 1);
}

export async function findView(db: Executor, companyId: number, id: number): Promise<InvitationView | undefined> {
  const [row] = await selectViews(db, and(eq(invitations.companyId, companyId), eq(invitations.id, id)));
  return row;
}

export async function findPendingView(db: Executor, companyId: number, id: number, now: Date) {
  const [row] = await selectViews(db, and(eq(invitations.companyId, companyId), eq(invitations.id, id), pending(now)));
  return row;
}

/** By code, whatever the company: the code is the addressee's only handle on the invitation. */
export async function findPendingByCode(db: Executor, codeHash: string, now: Date) {
  const [row] = await selectViews(db, and(eq(invitations.codeHash, codeHash), pending(now)));
  return row;
}

/** A company's pending invitations, or those sent to one address across companies (its owner's list). */
export type InvitationScope = { companyId: number } | { email: string };

const inScope = (scope: InvitationScope, now: Date) =>
  and(
    'companyId' in scope ? eq(invitations.companyId, scope.companyId) : eq(invitations.email, scope.email),
    pending(now),
  );

export function listPending(
  db: Executor,
  scope: InvitationScope,
  now: Date,
  page: { afterId?: number | undefined; limit: number },
): Promise<InvitationView[]> {
  return selectViews(db, inScope(scope, now), page);
}

export async function countPending(db: Executor, scope: InvitationScope, now: Date): Promise<number> {
  const [row] = await db.select({ total: sql<number>`count(*)::int` }).from(invitations).where(inScope(scope, now));
  return Number(row?.total ?? 0);
}

export async function insertInvitation(db: Executor, values: NewInvitation): Promise<InvitationRow> {
  const [row] = await db.insert(invitations).values(values).returning();
  return row!;
}

/** The open (unaccepted, undeleted) invitation of an address, expired or not: the partial unique index's row. */
export async function findOpenByEmail(db: Executor, companyId: number, email: string) {
  const [row] = await db
    .select()
    .from(invitations)
    .where(
      and(
        eq(invitations.companyId, companyId),
        eq(invitations.email, email),
        isNull(invitations.acceptedAt),
        isNull(invitations.deletedAt),
      ),
    );
  return row;
}

export async function markDeleted(db: Executor, companyId: number, id: number, now: Date): Promise<void> {
  await db
    .update(invitations)
    .set({ deletedAt: now, updatedAt: now })
    .where(and(eq(invitations.companyId, companyId), eq(invitations.id, id)));
}

/**
 * Single use under concurrency: only one transaction's conditional UPDATE finds the row still unaccepted.
 * The email condition makes an invitation usable by its addressee only.
 */
export async function claim(db: Executor, codeHash: string, email: string, userId: number, now: Date) {
  const [row] = await db
    .update(invitations)
    .set({ acceptedAt: now, acceptedByUserId: userId, updatedAt: now })
    .where(and(eq(invitations.codeHash, codeHash), eq(invitations.email, email), pending(now)))
    .returning();
  return row;
}

export async function findMembership(db: Executor, companyId: number, userId: number) {
  const [row] = await db
    .select({ id: userAccesses.id })
    .from(userAccesses)
    .where(and(eq(userAccesses.companyId, companyId), eq(userAccesses.userId, userId)));
  return row;
}

/** Whether the holder of `email` already has a direct access in the company. */
export async function isMemberByEmail(db: Executor, companyId: number, email: string): Promise<boolean> {
  const [row] = await db
    .select({ id: userAccesses.id })
    .from(userAccesses)
    .innerJoin(users, eq(users.id, userAccesses.userId))
    .where(and(eq(userAccesses.companyId, companyId), eq(users.email, email)));
  return row !== undefined;
}

export async function hasPrimaryAccess(db: Executor, userId: number): Promise<boolean> {
  const [row] = await db
    .select({ id: userAccesses.id })
    .from(userAccesses)
    .where(and(eq(userAccesses.userId, userId), eq(userAccesses.primary, true)));
  return row !== undefined;
}

export async function insertUserAccess(db: Executor, values: typeof userAccesses.$inferInsert) {
  const [row] = await db.insert(userAccesses).values(values).returning({ id: userAccesses.id });
  return row!;
}

/**
 * Invitations sent since `since` by the company and by the inviter (in any company), re-sends and withdrawn ones
 * included: what the daily budgets count, with the oldest of each so a 429 can say when a slot frees up.
 */
export async function invitationsSentSince(db: Executor, companyId: number, inviterId: number, since: Date) {
  const window = (where: SQL) =>
    db
      .select({ n: sql<number>`count(*)::int`, oldest: sql<Date | null>`min(${invitations.createdAt})` })
      .from(invitations)
      .where(and(where, gt(invitations.createdAt, since)));
  const [[company], [inviter]] = await Promise.all([
    window(eq(invitations.companyId, companyId)),
    window(eq(invitations.invitedByUserId, inviterId)),
  ]);
  const oldest = (value: Date | string | null | undefined) => (value ? new Date(value) : since);
  return {
    company: { count: Number(company?.n ?? 0), oldest: oldest(company?.oldest) },
    inviter: { count: Number(inviter?.n ?? 0), oldest: oldest(inviter?.oldest) },
  };
}
