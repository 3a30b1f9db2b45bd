import type { Db } from '../../db/client.ts';
import { forbidden, notFound } from '../../lib/errors.ts';
import { decodeCursor, toPage } from '../../lib/pagination.ts';
import type { Actor, EffectiveAccess } from '../../lib/permissions.ts';
import { mayDeleteNote } from '../authz/authz.policies.ts';
import type { LeadsService } from '../leads/leads.service.ts';
import { announce, announcements, recordActivities } from './lead-intake.ts';
import { noteEvents } from './lead-notes.events.ts';
import { deleteNote, findNote, insertNote, listNotes } from './lead-notes.repository.ts';

/** Notes on a lead: whoever may read the lead writes them; the author, admins and managers delete them. */
export function createLeadNotesService(deps: { db: Db; leads: LeadsService }) {
  const { db } = deps;

  return {
    async list(access: EffectiveAccess, leadId: number, query: { limit?: number; cursor?: string }) {
      await deps.leads.view(access, leadId);
      const limit = query.limit ?? 25;
      const before = decodeCursor(query.cursor, ['id'])?.[0];
      const rows = await listNotes(db, access.companyId, leadId, before, limit);
      return toPage(rows, limit, (row) => [row.note.id]);
    },

    /** The latest notes, for the lead's detail. */
    async latest(companyId: number, leadId: number, limit = 20) {
      return (await listNotes(db, companyId, leadId, undefined, limit)).slice(0, limit);
    },

    async create(actor: Actor, leadId: number, body: string) {
      await deps.leads.view(actor.access, leadId);
      return db.transaction(async (tx) => {
        const note = await insertNote(tx, {
          companyId: actor.access.companyId,
          leadId,
          authorUserId: actor.userId,
          body: body.trim(),
        });
        const out = announcements(actor.access.companyId);
        await recordActivities(
          tx,
          [
            {
              companyId: actor.access.companyId,
              leadId,
              actorUserId: actor.userId,
              kind: 'note_added',
              data: { note_id: note.id },
            },
          ],
          out,
        );
        const [view] = await listNotes(tx, actor.access.companyId, leadId, note.id + 1, 1);
        out.ready.push(...(await noteEvents(tx, actor.access.companyId, [note.id])));
        await announce(tx, out);
        return view!;
      });
    },

    async remove(actor: Actor, leadId: number, noteId: number) {
      await deps.leads.view(actor.access, leadId);
      const note = await findNote(db, actor.access.companyId, leadId, noteId);
      if (!note) throw notFound('Note');
      if (!mayDeleteNote(actor, note)) {
        throw forbidden('Only its author, admins and managers delete a note.');
      }
      await db.transaction(async (tx) => {
        await deleteNote(tx, actor.access.companyId, noteId);
        // No event: the contract has no note deletion event (the timeline keeps it).
        await recordActivities(
          tx,
          [
            {
              companyId: actor.access.companyId,
              leadId,
              actorUserId: actor.userId,
              kind: 'note_deleted',
              data: { note_id: noteId },
            },
          ],
          announcements(actor.access.companyId),
        );
      });
    },
  };
}

export type LeadNotesService = ReturnType<typeof createLeadNotesService>;
