import { and, asc, desc, eq, inArray, isNull, lt, type SQL, sql } from 'drizzle-orm';
import type { Executor } from '../../db/client.ts';
import { campaignQuestions, campaigns, questionOptions, questions, sources } from '../../db/schema/index.ts';

export type CampaignRow = typeof campaigns.$inferSelect;
export type CampaignStatus = CampaignRow['status'];
export type CampaignValues = {
  name?: string;
  sourceId?: number | null;
  status?: CampaignStatus;
  startsAt?: Date | null;
  endsAt?: Date | null;
};

const live = (companyId: number) => and(eq(campaigns.companyId, companyId), isNull(campaigns.deletedAt));

/** A campaign with its source's id and name (the source may be soft-deleted since: it still shows). */
function selectWithSource(db: Executor, where: SQL | undefined) {
  return db
    .select({ campaign: campaigns, source: { id: sources.id, name: sources.name } })
    .from(campaigns)
    .leftJoin(sources, and(eq(sources.id, campaigns.sourceId), eq(sources.companyId, campaigns.companyId)))
    .where(where);
}

export type CampaignWithSource = Awaited<ReturnType<typeof selectWithSource>>[number];

export async function findCampaign(db: Executor, companyId: number, id: number) {
  const [row] = await selectWithSource(db, and(live(companyId), eq(campaigns.id, id)));
  return row;
}

/**
 * Locks a live campaign's row for the rest of the transaction (its question set and options change together).
 * `for no key update` does not block inserts of leads that reference it.
 */
export async function lockCampaign(db: Executor, companyId: number, id: number): Promise<boolean> {
  const result = await db.execute(
    sql`select id from campaigns where id = ${id} and company_id = ${companyId} and deleted_at is null for no key update`,
  );
  return result.rows.length > 0;
}

/** Newest first, on the (company_id, id) partial index (read backwards); limit + 1 rows. */
export function listCampaigns(
  db: Executor,
  companyId: number,
  page: { status?: CampaignStatus | undefined; before?: number | undefined; limit: number },
) {
  return selectWithSource(
    db,
    and(
      live(companyId),
      page.status ? eq(campaigns.status, page.status) : undefined,
      page.before === undefined ? undefined : lt(campaigns.id, page.before),
    ),
  )
    .orderBy(desc(campaigns.id))
    .limit(page.limit + 1);
}

export async function countCampaigns(db: Executor, companyId: number, status?: CampaignStatus) {
  const [row] = await db
    .select({ total: sql<number>`count(*)::int` })
    .from(campaigns)
    .where(and(live(companyId), status ? eq(campaigns.status, status) : undefined));
  return Number(row?.total ?? 0);
}

export async function insertCampaign(db: Executor, companyId: number, values: CampaignValues & { name: string }) {
  const [row] = await db
    .insert(campaigns)
    .values({ companyId, ...values })
    .returning({ id: campaigns.id });
  return row!.id;
}

export async function updateCampaign(db: Executor, companyId: number, id: number, values: CampaignValues) {
  await db
    .update(campaigns)
    .set({ ...values, updatedAt: sql`now()` })
    .where(and(live(companyId), eq(campaigns.id, id)));
}

export async function softDeleteCampaign(db: Executor, companyId: number, id: number) {
  await db
    .update(campaigns)
    .set({ deletedAt: sql`now()`, updatedAt: sql`now()` })
    .where(and(live(companyId), eq(campaigns.id, id)));
}

/** The live question ids of many campaigns, in campaign order, in one query. */
export function questionIdsOf(db: Executor, companyId: number, campaignIds: readonly number[]) {
  if (campaignIds.length === 0) return Promise.resolve([]);
  return db
    .select({ campaignId: campaignQuestions.campaignId, questionId: campaignQuestions.questionId })
    .from(campaignQuestions)
    .innerJoin(questions, and(eq(questions.id, campaignQuestions.questionId), isNull(questions.deletedAt)))
    .where(and(eq(campaignQuestions.companyId, companyId), inArray(campaignQuestions.campaignId, [...campaignIds])))
    .orderBy(asc(campaignQuestions.campaignId), asc(campaignQuestions.position));
}

/** Which of `ids` are live questions of the company (others' and deleted ones are not). */
export async function liveQuestionIdsAmong(db: Executor, companyId: number, ids: readonly number[]): Promise<number[]> {
  if (ids.length === 0) return [];
  const rows = await db
    .select({ id: questions.id })
    .from(questions)
    .where(and(eq(questions.companyId, companyId), isNull(questions.deletedAt), inArray(questions.id, [...ids])));
  return rows.map((row) => row.id);
}

/**
 * The campaign's question set becomes `questionIds`, position = array order (1-based). The options the campaign set
 * for a question it no longer asks would linger unseen: they go with it.
 */
export async function replaceQuestions(
  db: Executor,
  companyId: number,
  campaignId: number,
  questionIds: readonly number[],
): Promise<void> {
  const removed = await db
    .delete(campaignQuestions)
    .where(and(eq(campaignQuestions.companyId, companyId), eq(campaignQuestions.campaignId, campaignId)))
    .returning({ questionId: campaignQuestions.questionId });
  if (questionIds.length > 0) {
    await db
      .insert(campaignQuestions)
      .values(questionIds.map((questionId, index) => ({ companyId, campaignId, questionId, position: index + 1 })));
  }
  const kept = new Set(questionIds);
  const dropped = removed.map((row) => row.questionId).filter((id) => !kept.has(id));
  if (dropped.length === 0) return;
  await db
    .delete(questionOptions)
    .where(
      and(
        eq(questionOptions.companyId, companyId),
        eq(questionOptions.campaignId, campaignId),
        inArray(questionOptions.questionId, dropped),
      ),
    );
}
