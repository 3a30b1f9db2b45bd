import { sql } from 'drizzle-orm';
import type { Executor } from './client.ts';

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

/** Locks the company row: membership and seat changes of one company take turns. */
export async function lockCompanyRow(db: Executor, companyId: number): Promise<void> {
  await db.execute(sql`select id from companies where id = ${companyId} for update`);
}
