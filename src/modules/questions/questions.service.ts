import type { Db, Executor } from '../../db/client.ts';
import { type FieldError, fieldError, invalid, notFound, unprocessable } from '../../lib/errors.ts';
import { reorderErrors } from '../../lib/ordering.ts';
import { decodeCursor, toPage } from '../../lib/pagination.ts';
import { isChoice, kindOptionErrors, normalizeOptions, type OptionValues } from './question-options.ts';
import {
  countQuestions,
  deleteAllOptions,
  findQuestion,
  hasAnswers,
  insertQuestion,
  listQuestions,
  liveQuestionIds,
  lockQuestionList,
  nextPriority,
  optionsOf,
  type QuestionRow,
  replaceOptions,
  setPriorities,
  shiftFrom,
  softDeleteQuestion,
  updateQuestion,
} from './questions.repository.ts';
import {
  type CreateQuestionInput,
  MAX_QUESTIONS,
  type PageInput,
  type QuestionView,
  type UpdateQuestionInput,
} from './questions.schemas.ts';

/** Questions with their company options: one extra query for any number of questions. */
async function withOptions(db: Executor, companyId: number, rows: QuestionRow[]): Promise<QuestionView[]> {
  const options = await optionsOf(
    db,
    companyId,
    rows.map((row) => row.id),
    null,
  );
  return rows.map((question) => ({ question, options: options.filter((o) => o.questionId === question.id) }));
}

/** Checks the options against the kind; every problem at once, with the indexes in the field paths. */
function checkedOptions(kind: QuestionRow['kind'], input: CreateQuestionInput['options'], extra: FieldError[] = []) {
  const errors = [...extra, ...kindOptionErrors(kind, input)];
  const normalized = input && isChoice(kind) ? normalizeOptions(input, 'options') : { options: [], errors: [] };
  errors.push(...normalized.errors);
  if (errors.length > 0) throw invalid(errors);
  return normalized.options;
}

export function createQuestionsService(deps: { db: Db }) {
  const { db } = deps;

  async function view(executor: Executor, companyId: number, id: number): Promise<QuestionView> {
    const question = await findQuestion(executor, companyId, id);
    if (!question) throw notFound('Question');
    const [result] = await withOptions(executor, companyId, [question]);
    return result!;
  }

  /** The options a PATCH leaves: replaced when sent, dropped when the kind stops being a choice, else kept. */
  async function optionsAfterUpdate(tx: Executor, current: QuestionRow, input: UpdateQuestionInput) {
    const kind = input.kind ?? current.kind;
    const errors: FieldError[] = [];
    if (kind !== current.kind && (await hasAnswers(tx, current.companyId, current.id))) {
      errors.push(fieldError('kind', 'question_answered', 'cannot change: leads have answered this question'));
    }
    const dropped = isChoice(current.kind) && !isChoice(kind) ? 'drop' : 'keep';
    // Becoming a choice question needs options; staying one keeps the current ones unless new ones are sent.
    if (input.options !== undefined || (isChoice(kind) && !isChoice(current.kind))) {
      const options = checkedOptions(kind, input.options, errors);
      return isChoice(kind) ? options : dropped;
    }
    if (errors.length > 0) throw invalid(errors);
    return dropped;
  }

  return {
    get: (companyId: number, id: number) => view(db, companyId, id),

    async list(companyId: number, query: PageInput) {
      const limit = query.limit ?? 25;
      const after = decodeCursor(query.cursor, ['integer', 'id']);
      const rows = await listQuestions(db, companyId, { limit, ...(after ? { after } : {}) });
      const total = query.count ? await countQuestions(db, companyId) : undefined;
      const page = toPage(rows, limit, (row) => [row.priority, row.id], total);
      return { items: await withOptions(db, companyId, page.items), meta: page.meta };
    },

    async create(companyId: number, input: CreateQuestionInput): Promise<QuestionView> {
      const options = checkedOptions(input.kind, input.options);
      return db.transaction(async (tx) => {
        await lockQuestionList(tx, companyId);
        if ((await countQuestions(tx, companyId)) >= MAX_QUESTIONS) {
          throw unprocessable('too_many_questions', `A company has at most ${MAX_QUESTIONS} questions.`, 'title');
        }
        let priority = input.priority;
        if (priority === undefined) priority = await nextPriority(tx, companyId);
        else await shiftFrom(tx, companyId, priority);
        const { title, kind, required = false } = input;
        const row = await insertQuestion(tx, companyId, { title: title.trim(), kind, required, priority });
        await replaceOptions(tx, companyId, null, [{ questionId: row.id, options }]);
        return view(tx, companyId, row.id);
      });
    },

    async update(companyId: number, id: number, input: UpdateQuestionInput): Promise<QuestionView> {
      return db.transaction(async (tx) => {
        await lockQuestionList(tx, companyId);
        const current = await findQuestion(tx, companyId, id);
        if (!current) throw notFound('Question');
        const options: OptionValues[] | 'keep' | 'drop' = await optionsAfterUpdate(tx, current, input);
        if (input.priority !== undefined) await shiftFrom(tx, companyId, input.priority, id);
        const { title, kind, required, priority } = input;
        await updateQuestion(tx, companyId, id, {
          ...(title !== undefined ? { title: title.trim() } : {}),
          ...(kind !== undefined ? { kind } : {}),
          ...(required !== undefined ? { required } : {}),
          ...(priority !== undefined ? { priority } : {}),
        });
        if (options === 'drop') await deleteAllOptions(tx, companyId, id);
        else if (options !== 'keep') await replaceOptions(tx, companyId, null, [{ questionId: id, options }]);
        return view(tx, companyId, id);
      });
    },

    /** Soft: answers keep their question; it leaves the lists and every campaign. */
    async remove(companyId: number, id: number) {
      await db.transaction(async (tx) => {
        await lockQuestionList(tx, companyId);
        if (!(await findQuestion(tx, companyId, id))) throw notFound('Question');
        await softDeleteQuestion(tx, companyId, id);
      });
    },

    /** The whole live list in its new order, or nothing changes. */
    async reorder(companyId: number, ids: readonly number[]): Promise<QuestionView[]> {
      return db.transaction(async (tx) => {
        await lockQuestionList(tx, companyId);
        const errors = reorderErrors('question_ids', ids, await liveQuestionIds(tx, companyId), 'live question');
        if (errors.length > 0) throw invalid(errors);
        await setPriorities(tx, companyId, ids);
        return withOptions(tx, companyId, await listQuestions(tx, companyId, { limit: MAX_QUESTIONS }));
      });
    },
  };
}

export type QuestionsService = ReturnType<typeof createQuestionsService>;
