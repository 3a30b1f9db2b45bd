import { and, desc, eq, lte, sql } from 'drizzle-orm';
import type { Executor } from '../../db/client.ts';
import { legalTermAcceptances, legalTerms } from '../../db/schema/index.ts';

export type LegalTermRow = typeof legalTerms.$inferSelect;
export type AcceptanceRow = typeof legalTermAcceptances.$inferSelect;
export type NewAcceptance = typeof legalTermAcceptances.$inferInsert;

/** The current terms: the newest version of each kind published by `now` (a version dated later is scheduled). */
const currentTermsQuery = (db: Executor, now: Date) =>
  db
    .selectDistinctOn([legalTerms.kind])
    .from(legalTerms)
    .where(lte(legalTerms.publishedAt, now))
    .orderBy(legalTerms.kind, desc(legalTerms.publishedAt), desc(legalTerms.id));

export async function currentTerms(db: Executor, now: Date): Promise<LegalTermRow[]> {
  return currentTermsQuery(db, now);
}

export async function findTerm(db: Executor, id: number): Promise<LegalTermRow | undefined> {
  const [row] = await db.select().from(legalTerms).where(eq(legalTerms.id, id));
  return row;
}

/** Inserts the acceptance unless the user accepted this version already; undefined then. */
export async function insertAcceptance(db: Executor, values: NewAcceptance): Promise<AcceptanceRow | undefined> {
  const [row] = await db
    .insert(legalTermAcceptances)
    .values(values)
    .onConflictDoNothing({ target: [legalTermAcceptances.userId, legalTermAcceptances.legalTermId] })
    .returning();
  return row;
}

export async function findAcceptance(db: Executor, userId: number, legalTermId: number) {
  const [row] = await db
    .select()
    .from(legalTermAcceptances)
    .where(and(eq(legalTermAcceptances.userId, userId), eq(legalTermAcceptances.legalTermId, legalTermId)));
  return row;
}

/**
 * Which of `userIds` accepted the current version of every kind, in one query whatever the number of users (a
 * user JSON page). With no current terms at all, everyone has accepted everything there is.
 */
export async function usersWithCurrentTermsAccepted(db: Executor, userIds: number[], now: Date) {
  if (userIds.length === 0) return new Set<number>();
  const result = await db.execute<{ id: number | string }>(sql`
    select u.id from users u
    where u.id in ${userIds}
      and not exists (
        select 1 from (${currentTermsQuery(db, now)}) current_terms
        where not exists (
          select 1 from legal_term_acceptances a where a.user_id = u.id and a.legal_term_id = current_terms.id))`);
  return new Set(result.rows.map((row) => Number(row.id)));
}
