import type { Executor } from '../../db/client.ts';
import type { NewEvent } from '../outbox/outbox.repository.ts';
import { noteViewsByIds } from './lead-notes.repository.ts';
import { presentNote } from './lead-notes.schemas.ts';

/**
 * `note.created` for new notes (a note added through the API, or an import row's first note), each with the note
 * as the API shows it and its lead's assignee (an agent's stream shows the notes of their own leads): one query
 * for any number of notes. The caller appends them as its transaction's last write.
 */
export async function noteEvents(tx: Executor, companyId: number, noteIds: number[]): Promise<NewEvent[]> {
  const views = await noteViewsByIds(tx, companyId, noteIds);
  return views.map((view) => ({
    type: 'note.created',
    data: presentNote(view),
    leadId: view.note.leadId,
    assigneeUserAccessId: view.assigneeUserAccessId,
  }));
}
