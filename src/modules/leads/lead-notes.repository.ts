import { and, asc, desc, eq, inArray, lt } from 'drizzle-orm';
import type { Executor } from '../../db/client.ts';
import { leadNotes, leads, users } from '../../db/schema/index.ts';

export type NoteRow = typeof leadNotes.$inferSelect;

/** A lead's notes, newest first, with their authors (one query). */
export async function listNotes(
  db: Executor,
  companyId: number,
  leadId: number,
  beforeId: number | undefined,
  limit: number,
) {
  return db
    .select({ note: leadNotes, author: { id: users.id, firstName: users.firstName, lastName: users.lastName } })
    .from(leadNotes)
    .leftJoin(users, eq(users.id, leadNotes.authorUserId))
    .where(
      and(
        eq(leadNotes.companyId, companyId),
        eq(leadNotes.leadId, leadId),
        beforeId === undefined ? undefined : lt(leadNotes.id, beforeId),
      ),
    )
    .orderBy(desc(leadNotes.id))
    .limit(limit + 1);
}

export type NoteView = Awaited<ReturnType<typeof listNotes>>[number];

export async function insertNote(db: Executor, values: typeof leadNotes.$inferInsert) {
  const [row] = await db.insert(leadNotes).values(values).returning();
  return row!;
}

export async function findNote(db: Executor, companyId: number, leadId: number, noteId: number) {
  const [row] = await db
    .select()
    .from(leadNotes)
    .where(and(eq(leadNotes.companyId, companyId), eq(leadNotes.leadId, leadId), eq(leadNotes.id, noteId)));
  return row;
}

/** The first notes of an import batch's new leads, in one statement; answers their ids. */
export async function insertNotes(db: Executor, rows: (typeof leadNotes.$inferInsert)[]): Promise<number[]> {
  if (rows.length === 0) return [];
  const inserted = await db.insert(leadNotes).values(rows).returning({ id: leadNotes.id });
  return inserted.map((row) => row.id);
}

/** Notes with their authors (as listNotes shows them) and their lead's assignee, in one query. */
export async function noteViewsByIds(db: Executor, companyId: number, ids: number[]) {
  if (ids.length === 0) return [];
  return db
    .select({
      note: leadNotes,
      author: { id: users.id, firstName: users.firstName, lastName: users.lastName },
      assigneeUserAccessId: leads.assignedUserAccessId,
    })
    .from(leadNotes)
    .innerJoin(leads, eq(leads.id, leadNotes.leadId))
    .leftJoin(users, eq(users.id, leadNotes.authorUserId))
    .where(and(eq(leadNotes.companyId, companyId), inArray(leadNotes.id, ids)))
    .orderBy(asc(leadNotes.id));
}

export async function deleteNote(db: Executor, companyId: number, noteId: number) {
  await db.delete(leadNotes).where(and(eq(leadNotes.companyId, companyId), eq(leadNotes.id, noteId)));
}
