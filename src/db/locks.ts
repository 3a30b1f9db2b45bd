import { sql } from 'drizzle-orm';
import type { Executor } from './client.ts';

/*
 * The lock order. Every transaction takes the locks it needs in this order, never backwards, so two of them can
 * wait for each other only in a line, never in a circle (issue 12: an import and API creations deadlocked when one
 * locked rotations before the month's usage and the other after):
 *
 *   1. an import's own row (importById(…, true): the import batch only);
 *   2. the company row (lockCompanyRow: membership, seats, plan and storage checks);
 *   3. the company's lead intake (lockLeadIntake), then its month's usage row (bumpMonthlyUsage);
 *   4. rotation member rows — cycles, territories, source user accesses — each rotation in position order
 *      (distribution.repository.ts lockMembers), and lead rows, in id order (lockLead, lockOpenLeadsOf, the
 *      import's updates);
 *   5. the company's event counter (modules/outbox/outbox.repository.ts appendEvents), last of all: it is held until commit, so a
 *      company's events are numbered in commit order, and nothing waits on anything else while holding it.
 *
 * Every path that takes rotations and leads together — API creation, an import batch, redistribution when an
 * access is removed — holds the intake (3) first, so only one of them at a time is past it; everything else locks a
 * single lead (an update, a note, an appointment) or a single rotation (a member change) and waits for nothing
 * after it. Collisions that remain possible (a serialization failure, a deadlock with a manual session) are retried
 * by the transaction wrapper in client.ts.
 */

/**
 * Serializes changes to one of a company's ordered or capped lists (sources, questions, cycles, territories) until
 * the transaction ends, so "after the last", caps and uniqueness are checked against a stable list. The company row
 * is not locked: lead inserts reference it and must not wait.
 */
export async function lockCompanyList(
  db: Executor,
  list: 'sources' | 'questions' | 'cycles' | 'territories',
  companyId: number,
): Promise<void> {
  await db.execute(sql`select pg_advisory_xact_lock(hashtext(${`${list}:${companyId}`}))`);
}

/**
 * Step 2: membership and seat changes of one company take turns. FOR NO KEY UPDATE, not FOR UPDATE: a lead or an
 * invitation being inserted takes KEY SHARE on the company it references, and must not wait behind a seat check.
 */
export async function lockCompanyRow(db: Executor, companyId: number): Promise<void> {
  await db.execute(sql`select id from companies where id = ${companyId} for no key update`);
}

/**
 * Step 3: the company's lead intake, held until the transaction ends by every writer that creates or assigns leads
 * (one lock whatever the month, unlike the usage rows, which change at midnight UTC on the first).
 */
export async function lockLeadIntake(db: Executor, companyId: number): Promise<void> {
  await db.execute(sql`select pg_advisory_xact_lock(hashtext(${`lead-intake:${companyId}`}))`);
}
