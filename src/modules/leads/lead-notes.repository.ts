import { and, desc, eq, lt } from 'drizzle-orm';
import type { Executor } from '../../db/client.ts';
import { leadNotes, users } from '../../db/schema/index.ts';

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

/** The first notes of an import batch's new leads, in one statement. */
export async function insertNotes(db: Executor, rows: (typeof leadNotes.$inferInsert)[]) {
  if (rows.length > 0) await db.insert(leadNotes).values(rows);
}

export async function deleteNote(db: Executor, companyId: number, noteId: number) {
  await db.delete(leadNotes).where(and(eq(leadNotes.companyId, companyId), eq(leadNotes.id, noteId)));
}
