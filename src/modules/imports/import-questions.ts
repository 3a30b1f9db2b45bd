import { and, asc, eq, isNull } from 'drizzle-orm';
import type { Executor } from '../../db/client.ts';
import { questions } from '../../db/schema/index.ts';

/** The company's live questions with their titles, in priority order: template columns and header matching. */
export function listQuestionTitles(db: Executor, companyId: number) {
  return db
    .select({ id: questions.id, title: questions.title })
    .from(questions)
    .where(and(eq(questions.companyId, companyId), isNull(questions.deletedAt)))
    .orderBy(asc(questions.priority), asc(questions.id));
}
