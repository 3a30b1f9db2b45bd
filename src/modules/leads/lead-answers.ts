import { and, eq, inArray, isNull, or, sql } from 'drizzle-orm';
import type { Executor } from '../../db/client.ts';
import { campaignQuestions, questionOptions, questions } from '../../db/schema/index.ts';
import { type FieldError, fieldError } from '../../lib/errors.ts';

type Question = { id: number; kind: string; required: boolean; allowed: Set<string> };

/**
 * The questions a set of answers refers to, with the option values allowed for this lead: the campaign's own
 * options when the campaign has some for a question, else the company's. Two queries, whatever the count.
 */
async function loadQuestions(db: Executor, companyId: number, ids: number[], campaignId: number | null) {
  if (ids.length === 0) return new Map<number, Question>();
  const rows = await db
    .select({ id: questions.id, kind: questions.kind, required: questions.required })
    .from(questions)
    .where(and(eq(questions.companyId, companyId), inArray(questions.id, ids), isNull(questions.deletedAt)));
  const options = await db
    .select({
      questionId: questionOptions.questionId,
      campaignId: questionOptions.campaignId,
      value: questionOptions.value,
    })
    .from(questionOptions)
    .where(
      and(
        eq(questionOptions.companyId, companyId),
        inArray(questionOptions.questionId, ids),
        campaignId === null
          ? isNull(questionOptions.campaignId)
          : or(isNull(questionOptions.campaignId), eq(questionOptions.campaignId, campaignId)),
      ),
    );
  const byQuestion = new Map<number, Question>(rows.map((row) => [row.id, { ...row, allowed: new Set() }]));
  const campaignSpecific = new Set(options.filter((o) => o.campaignId !== null).map((o) => o.questionId));
  for (const option of options) {
    const useCampaign = campaignSpecific.has(option.questionId);
    if ((option.campaignId !== null) === useCampaign) byQuestion.get(option.questionId)?.allowed.add(option.value);
  }
  return byQuestion;
}

/** Required questions: the campaign's when the lead has one, else the company's. */
export async function requiredQuestionIds(db: Executor, companyId: number, campaignId: number | null) {
  const rows =
    campaignId === null
      ? await db
          .select({ id: questions.id })
          .from(questions)
          .where(and(eq(questions.companyId, companyId), eq(questions.required, true), isNull(questions.deletedAt)))
      : await db
          .select({ id: questions.id })
          .from(campaignQuestions)
          .innerJoin(questions, eq(questions.id, campaignQuestions.questionId))
          .where(
            and(
              eq(campaignQuestions.campaignId, campaignId),
              eq(questions.required, true),
              isNull(questions.deletedAt),
              sql`${questions.companyId} = ${companyId}`,
            ),
          );
  return rows.map((row) => row.id);
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;

function valueError(question: Question, value: unknown): string | undefined {
  switch (question.kind) {
    case 'text':
      return typeof value === 'string' ? undefined : 'must be text';
    case 'number':
      return typeof value === 'number' && Number.isFinite(value) ? undefined : 'must be a number';
    case 'boolean':
      return typeof value === 'boolean' ? undefined : 'must be true or false';
    case 'date':
      return typeof value === 'string' && DATE.test(value) && !Number.isNaN(Date.parse(value))
        ? undefined
        : 'must be a date (YYYY-MM-DD)';
    case 'single_choice':
      return typeof value === 'string' && question.allowed.has(value) ? undefined : 'must be one of the options';
    case 'multiple_choice':
      return Array.isArray(value) &&
        new Set(value).size === value.length &&
        value.every((item) => typeof item === 'string' && question.allowed.has(item))
        ? undefined
        : 'must be a list of distinct options';
    default:
      return 'is not answerable';
  }
}

export type AnswerInput = { question_id: number; value: unknown };

/**
 * Checks answers against their questions' kinds and options. `null` clears an answer. With `checkRequired`
 * (a new lead), every required question must be answered.
 */
export async function validateAnswers(
  db: Executor,
  companyId: number,
  campaignId: number | null,
  answers: AnswerInput[],
  checkRequired: boolean,
): Promise<{ errors: FieldError[]; set: { questionId: number; value: unknown }[]; cleared: number[] }> {
  const errors: FieldError[] = [];
  const loaded = await loadQuestions(db, companyId, [...new Set(answers.map((a) => a.question_id))], campaignId);
  const seen = new Set<number>();
  const set: { questionId: number; value: unknown }[] = [];
  const cleared: number[] = [];
  answers.forEach((answer, index) => {
    const question = loaded.get(answer.question_id);
    if (seen.has(answer.question_id)) {
      errors.push(fieldError(`answers.${index}.question_id`, 'duplicate', 'is answered twice'));
    } else if (!question) {
      errors.push(fieldError(`answers.${index}.question_id`, 'not_found', 'is not a question of this company'));
    } else if (answer.value === null) {
      cleared.push(question.id);
    } else {
      const problem = valueError(question, answer.value);
      if (problem) errors.push(fieldError(`answers.${index}.value`, 'invalid_answer', problem));
      else set.push({ questionId: question.id, value: answer.value });
    }
    seen.add(answer.question_id);
  });
  if (checkRequired) {
    const answered = new Set(set.map((a) => a.questionId));
    const missing = (await requiredQuestionIds(db, companyId, campaignId)).filter((id) => !answered.has(id));
    if (missing.length > 0) {
      errors.push(fieldError('answers', 'required', `required questions are unanswered: ${missing.join(', ')}`));
    }
  }
  return { errors, set, cleared };
}
