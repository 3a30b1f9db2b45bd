import { and, desc, eq, lt } from 'drizzle-orm';
import type { Executor } from '../../db/client.ts';
import { leadActivities, leadNotes, users } from '../../db/schema/index.ts';

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

export async function deleteNote(db: Executor, noteId: number) {
  await db.delete(leadNotes).where(eq(leadNotes.id, noteId));
}

export async function recordActivity(db: Executor, values: typeof leadActivities.$inferInsert) {
  await db.insert(leadActivities).values(values);
}
