import type { Executor } from '../../db/client.ts';
import { type FieldError, fieldError } from '../../lib/errors.ts';
import {
  type AnswerableQuestion,
  liveQuestionIds as allQuestionIds,
  loadQuestionsForAnswers,
  requiredQuestionIds,
} from '../questions/questions.repository.ts';

type Question = AnswerableQuestion;

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
      return typeof value === 'string' && question.allowedValues.has(value) ? undefined : 'must be one of the options';
    case 'multiple_choice':
      return Array.isArray(value) &&
        new Set(value).size === value.length &&
        value.every((item) => typeof item === 'string' && question.allowedValues.has(item))
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
export type AnswerRules = { questions: Map<number, Question>; required: number[] };
export type CheckedAnswers = { errors: FieldError[]; set: { questionId: number; value: unknown }[]; cleared: number[] };

/** The questions a company's answers may refer to, and the required ones: loaded once per lead, or per import. */
export async function loadAnswerRules(
  db: Executor,
  companyId: number,
  campaignId: number | null,
  questionIds: number[] | 'all',
  withRequired = true,
): Promise<AnswerRules> {
  const ids = questionIds === 'all' ? await allQuestionIds(db, companyId) : questionIds;
  const [questions, required] = await Promise.all([
    loadQuestionsForAnswers(db, companyId, ids, campaignId),
    withRequired ? requiredQuestionIds(db, companyId, campaignId) : [],
  ]);
  return { questions, required };
}

/**
 * Checks answers against their questions' kinds and options (no I/O). `null` clears an answer. With
 * `checkRequired` (a new lead), every required question must be answered.
 */
export function checkAnswers(rules: AnswerRules, answers: AnswerInput[], checkRequired: boolean): CheckedAnswers {
  const errors: FieldError[] = [];
  const seen = new Set<number>();
  const set: { questionId: number; value: unknown }[] = [];
  const cleared: number[] = [];
  answers.forEach((answer, index) => {
    const question = rules.questions.get(answer.question_id);
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
    const missing = rules.required.filter((id) => !answered.has(id));
    if (missing.length > 0) {
      errors.push(fieldError('answers', 'required', `required questions are unanswered: ${missing.join(', ')}`));
    }
  }
  return { errors, set, cleared };
}

export async function validateAnswers(
  db: Executor,
  companyId: number,
  campaignId: number | null,
  answers: AnswerInput[],
  checkRequired: boolean,
): Promise<CheckedAnswers> {
  const rules = await loadAnswerRules(
    db,
    companyId,
    campaignId,
    answers.map((a) => a.question_id),
    checkRequired,
  );
  return checkAnswers(rules, answers, checkRequired);
}
