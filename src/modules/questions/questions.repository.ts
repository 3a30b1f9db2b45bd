import { and, asc, eq, inArray, isNull, or, sql } from 'drizzle-orm';
import type { Executor } from '../../db/client.ts';
import { lockCompanyList } from '../../db/locks.ts';
import { priorityList } from '../../db/priority-list.ts';
import { campaignQuestions, leadAnswers, questionOptions, questions } from '../../db/schema/index.ts';
import type { OptionValues, QuestionKind } from './question-options.ts';

export type QuestionRow = typeof questions.$inferSelect;
export type OptionRow = typeof questionOptions.$inferSelect;
export type QuestionChanges = { title?: string; kind?: QuestionKind; required?: boolean; priority?: number };

const list = priorityList(questions);
const { live } = list;

export const listQuestions = list.page;
export const countQuestions = list.count;
export const liveQuestionIds = list.ids;
export const { nextPriority, shiftFrom, setPriorities } = list;

/** Serializes changes to one company's question order (see lockSourceList). */
export const lockQuestionList = (db: Executor, companyId: number) => lockCompanyList(db, 'questions', companyId);

export async function findQuestion(db: Executor, companyId: number, id: number): Promise<QuestionRow | undefined> {
  const [row] = await db
    .select()
    .from(questions)
    .where(and(live(companyId), eq(questions.id, id)));
  return row;
}

export async function insertQuestion(
  db: Executor,
  companyId: number,
  values: { title: string; kind: QuestionKind; required: boolean; priority: number },
) {
  const [row] = await db
    .insert(questions)
    .values({ companyId, ...values })
    .returning();
  return row!;
}

export async function updateQuestion(db: Executor, companyId: number, id: number, changes: QuestionChanges) {
  await db
    .update(questions)
    .set({ ...changes, updatedAt: sql`now()` })
    .where(and(live(companyId), eq(questions.id, id)));
}

/** Soft: answers keep their question. It leaves every campaign (their lists would hide it anyway). */
export async function softDeleteQuestion(db: Executor, companyId: number, id: number) {
  await db
    .update(questions)
    .set({ deletedAt: sql`now()`, updatedAt: sql`now()` })
    .where(and(live(companyId), eq(questions.id, id)));
  await db
    .delete(campaignQuestions)
    .where(and(eq(campaignQuestions.companyId, companyId), eq(campaignQuestions.questionId, id)));
}

/**
 * Options of many questions in one query, ordered by question and position: the company's (campaign_id null), plus
 * the campaign's own when `campaignId` is given. Uses the (question_id, campaign_id, position) index.
 */
export function optionsOf(
  db: Executor,
  companyId: number,
  questionIds: readonly number[],
  campaignId: number | null,
): Promise<OptionRow[]> {
  if (questionIds.length === 0) return Promise.resolve([]);
  return db
    .select()
    .from(questionOptions)
    .where(
      and(
        eq(questionOptions.companyId, companyId),
        inArray(questionOptions.questionId, [...questionIds]),
        campaignId === null
          ? isNull(questionOptions.campaignId)
          : or(isNull(questionOptions.campaignId), eq(questionOptions.campaignId, campaignId)),
      ),
    )
    .orderBy(asc(questionOptions.questionId), asc(questionOptions.position), asc(questionOptions.id));
}

/** Replaces the option sets of the given questions: the company's (campaignId null) or one campaign's. */
export async function replaceOptions(
  db: Executor,
  companyId: number,
  campaignId: number | null,
  sets: readonly { questionId: number; options: readonly OptionValues[] }[],
) {
  if (sets.length === 0) return;
  await db.delete(questionOptions).where(
    and(
      eq(questionOptions.companyId, companyId),
      inArray(
        questionOptions.questionId,
        sets.map((set) => set.questionId),
      ),
      campaignId === null ? isNull(questionOptions.campaignId) : eq(questionOptions.campaignId, campaignId),
    ),
  );
  const rows = sets.flatMap((set) =>
    set.options.map((option) => ({ ...option, companyId, campaignId, questionId: set.questionId })),
  );
  if (rows.length > 0) await db.insert(questionOptions).values(rows);
}

/** Every option of a question, the campaigns' too: a question that stops being a choice keeps none. */
export async function deleteAllOptions(db: Executor, companyId: number, questionId: number) {
  await db
    .delete(questionOptions)
    .where(and(eq(questionOptions.companyId, companyId), eq(questionOptions.questionId, questionId)));
}

export async function hasAnswers(db: Executor, companyId: number, questionId: number): Promise<boolean> {
  const [row] = await db
    .select({ id: leadAnswers.id })
    .from(leadAnswers)
    .where(and(eq(leadAnswers.questionId, questionId), eq(leadAnswers.companyId, companyId)))
    .limit(1);
  return row !== undefined;
}

/** A campaign's live questions in campaign order. */
export function campaignQuestionRows(db: Executor, companyId: number, campaignId: number) {
  return db
    .select({ question: questions, position: campaignQuestions.position })
    .from(campaignQuestions)
    .innerJoin(questions, eq(questions.id, campaignQuestions.questionId))
    .where(
      and(eq(campaignQuestions.companyId, companyId), eq(campaignQuestions.campaignId, campaignId), live(companyId)),
    )
    .orderBy(asc(campaignQuestions.position), asc(questions.id));
}

/** What the leads module needs to check one answer: the kind, the flag, and the option values allowed. */
export type AnswerableQuestion = {
  id: number;
  kind: QuestionKind;
  required: boolean;
  /** Values a choice answer may take: the campaign's own options when it has some for this question, else the
   *  company's. Empty for non-choice kinds. */
  allowedValues: ReadonlySet<string>;
};

/**
 * The live questions of the company among `questionIds` (absent from the map: unknown, deleted or another
 * company's), for validating a lead's answers. Any company question may be answered, whatever the campaign; the
 * campaign only decides which options apply. Two queries, whatever the number of questions.
 */
export async function loadQuestionsForAnswers(
  db: Executor,
  companyId: number,
  questionIds: readonly number[],
  campaignId: number | null,
): Promise<Map<number, AnswerableQuestion>> {
  const ids = [...new Set(questionIds)];
  if (ids.length === 0) return new Map();
  const rows = await db
    .select({ id: questions.id, kind: questions.kind, required: questions.required })
    .from(questions)
    .where(and(live(companyId), inArray(questions.id, ids)));
  const options = await optionsOf(db, companyId, ids, campaignId);
  const campaignSpecific = new Set(options.filter((o) => o.campaignId !== null).map((o) => o.questionId));
  const allowed = new Map<number, Set<string>>(rows.map((row) => [row.id, new Set()]));
  for (const option of options) {
    if ((option.campaignId !== null) === campaignSpecific.has(option.questionId)) {
      allowed.get(option.questionId)?.add(option.value);
    }
  }
  return new Map(rows.map((row) => [row.id, { ...row, allowedValues: allowed.get(row.id)! }]));
}

/**
 * The questions a lead must answer: with a campaign, the campaign's required questions; without one, every
 * required question of the company. One query.
 */
export async function requiredQuestionIds(
  db: Executor,
  companyId: number,
  campaignId: number | null,
): Promise<number[]> {
  const required = and(live(companyId), eq(questions.required, true));
  const rows =
    campaignId === null
      ? await db.select({ id: questions.id }).from(questions).where(required)
      : await db
          .select({ id: questions.id })
          .from(campaignQuestions)
          .innerJoin(questions, eq(questions.id, campaignQuestions.questionId))
          .where(
            and(eq(campaignQuestions.companyId, companyId), eq(campaignQuestions.campaignId, campaignId), required),
          );
  return rows.map((row) => row.id);
}
