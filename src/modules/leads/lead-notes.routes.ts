import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { PageMeta } from '../../lib/pagination.ts';
import { accessOf, principalOf } from '../../plugins/auth.ts';
import { LeadParams, NoteJson } from '../leads/leads.schemas.ts';
import { CreateNoteBody, NoteParams, presentNote } from './lead-notes.schemas.ts';
import type { LeadNotesService } from './lead-notes.service.ts';

const tags = ['Lead Notes'];

export const leadNotesRoutes: FastifyPluginAsyncTypebox<{ service: LeadNotesService }> = async (app, { service }) => {
  app.post(
    '/api/v1/companies/:company_id/leads/:lead_id/notes',
    {
      config: { policy: { permission: 'notes:write' } },
      schema: {
        operationId: 'createLeadNote',
        tags,
        summary: 'Create a note for a lead',
        description: 'Anyone who may read the lead may add a note to it.',
        params: LeadParams,
        body: CreateNoteBody,
        response: { 201: Type.Object({ note: NoteJson }) },
      },
    },
    async (request, reply) => {
      const actor = { userId: principalOf(request).userId, access: accessOf(request) };
      const note = await service.create(actor, request.params.lead_id, request.body.body);
      return reply.code(201).send({ note: presentNote(note) });
    },
  );

  app.get(
    '/api/v1/companies/:company_id/leads/:lead_id/notes',
    {
      config: { policy: { permission: 'leads:read' } },
      schema: {
        operationId: 'listLeadNotes',
        tags,
        summary: "List a lead's notes",
        description: 'Newest first, keyset pages.',
        params: LeadParams,
        querystring: Type.Object({
          limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 25 })),
          cursor: Type.Optional(Type.String({ maxLength: 512 })),
        }),
        response: { 200: Type.Object({ notes: Type.Array(NoteJson), meta: PageMeta }) },
      },
    },
    async (request) => {
      const page = await service.list(accessOf(request), request.params.lead_id, request.query);
      return { notes: page.items.map(presentNote), meta: page.meta };
    },
  );

  app.delete(
    '/api/v1/companies/:company_id/leads/:lead_id/notes/:note_id',
    {
      config: { policy: { permission: 'notes:write' } },
      schema: {
        operationId: 'deleteLeadNote',
        tags,
        summary: 'Delete a note from a lead',
        description: 'Its author, admins and managers.',
        params: NoteParams,
        response: { 204: Type.Null() },
      },
    },
    async (request, reply) => {
      const actor = { userId: principalOf(request).userId, access: accessOf(request) };
      await service.remove(actor, request.params.lead_id, request.params.note_id);
      return reply.code(204).send(null);
    },
  );
};
