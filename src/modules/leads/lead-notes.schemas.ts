import { Type } from 'typebox';
import type { NoteView } from './lead-notes.repository.ts';

const Id = Type.Integer({ minimum: 1 });

export const NoteParams = Type.Object({ company_id: Id, lead_id: Id, note_id: Id });
export const CreateNoteBody = Type.Object(
  { body: Type.String({ minLength: 1, maxLength: 10_000, pattern: '\\S' }) },
  {
    title: 'NoteCreate',
    additionalProperties: false,
    examples: [{ body: 'Called: wants a quote for 20 seats before Friday.' }],
  },
);

export function presentNote(view: NoteView) {
  return {
    id: view.note.id,
    lead_id: view.note.leadId,
    body: view.note.body,
    author:
      view.author?.id == null
        ? null
        : { id: view.author.id, full_name: `${view.author.firstName} ${view.author.lastName}`.trim() },
    created_at: view.note.createdAt.toISOString(),
  };
}
