import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { type Static, Type } from 'typebox';
import { etagOf, ifMatchHolds, ifMatchOf } from '../../lib/etag.ts';
import { PageMeta } from '../../lib/pagination.ts';
import { CompanyParams } from '../../lib/schema.ts';
import { accessOf, principalOf } from '../../plugins/auth.ts';
import { problemResponse } from '../../plugins/docs.ts';
import { ActivityJson } from './lead-activities.schemas.ts';
import type { NoteView } from './lead-notes.repository.ts';
import { presentNote } from './lead-notes.schemas.ts';
import type { LeadNotesService } from './lead-notes.service.ts';
import {
  CreateLeadBody,
  DuplicatesJson,
  DuplicatesQuery,
  LeadDetailJson,
  LeadJson,
  LeadParams,
  LeadTombstoneJson,
  ListLeadsQuery,
  MetricsJson,
  presentLead,
  presentTombstone,
  UpdateLeadBody,
} from './leads.schemas.ts';
import type { LeadListItem, LeadPrecondition, LeadsService, LeadWithAnswers } from './leads.service.ts';

const tags = ['Leads'];

/** The lead's GET representation (getLead's 200): what its ETag is the tag of, whichever route answers it. */
const LeadDetail = Type.Object({ lead: LeadDetailJson });
const detailOf = (lead: LeadWithAnswers, latestNotes: NoteView[]) => ({
  lead: { ...presentLead(lead), notes: latestNotes.map(presentNote) },
});

/**
 * The ETag a GET of the lead would answer: the tag of its detail serialized as getLead serializes it (the same
 * schema through the same compiler gives the same bytes, which the conditional plugin hashes on a GET).
 */
const detailTag = (reply: FastifyReply, lead: LeadWithAnswers, latestNotes: NoteView[]) =>
  etagOf(reply.serializeInput(detailOf(lead, latestNotes), LeadDetail as object as Record<string, unknown>));

/** The request's If-Match, for the service to evaluate under the lead's row lock (plugins/conditional.ts). */
function preconditionOf(request: FastifyRequest, reply: FastifyReply): LeadPrecondition | undefined {
  const condition = ifMatchOf(request.headers['if-match']);
  return condition && ((current, latestNotes) => ifMatchHolds(condition, detailTag(reply, current, latestNotes)));
}
// Tombstones only with `include_deleted=true`. LeadJson first: the serializer tries the branches in order.
const LeadList = Type.Object({ leads: Type.Array(Type.Union([LeadJson, LeadTombstoneJson])), meta: PageMeta });
const LiveLeadList: Record<string, unknown> = { ...Type.Object({ leads: Type.Array(LeadJson), meta: PageMeta }) };
const presentItem = (item: LeadListItem) =>
  'tombstone' in item ? presentTombstone(item.tombstone) : presentLead(item);

/**
 * A page without tombstones is serialized by the live list's schema, as before they existed: the union's serializer
 * validates each lead against its branches to pick one, 60% more time per page (compiled once per route).
 */
function serializeList(reply: FastifyReply, query: { include_deleted?: boolean | undefined }) {
  if (query.include_deleted) return;
  reply.serializer(reply.compileSerializationSchema(LiveLeadList, '200'));
  // A reply with its own serializer gets no content type from Fastify.
  reply.type('application/json; charset=utf-8');
}
const PageOnly = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 50 })),
  cursor: Type.Optional(Type.String({ maxLength: 512 })),
});

export const leadsRoutes: FastifyPluginAsyncTypebox<{ service: LeadsService; notes: LeadNotesService }> = async (
  app,
  { service, notes },
) => {
  const actorOf = (request: Parameters<typeof principalOf>[0]) => ({
    userId: principalOf(request).userId,
    access: accessOf(request),
  });

  app.post(
    '/api/v1/companies/:company_id/leads',
    {
      config: { policy: { permission: 'leads:write' } },
      schema: {
        operationId: 'createLead',
        tags,
        summary: 'Create a lead for a company',
        description:
          'At least one of `email` or `phone`. The email is trimmed and lower-cased; the phone is stored in E.164, ' +
          "read with the lead's country, else the company's, and the raw value kept in `phone_raw`. Answers are " +
          "checked against their question's kind and options; the required questions (the campaign's when a " +
          "campaign is given, else the company's) must be answered. Agents create leads assigned to themselves. " +
          "Counts against the plan's `max_leads_per_month` (422 `plan_limit_reached`).",
        params: CompanyParams,
        body: CreateLeadBody,
        response: { 201: Type.Object({ lead: LeadJson }), 409: problemResponse('The external_id is already used.') },
      },
    },
    async (request, reply) =>
      reply.code(201).send({ lead: presentLead(await service.create(actorOf(request), request.body)) }),
  );

  app.get(
    '/api/v1/companies/:company_id/leads',
    {
      config: { policy: { permission: 'leads:read' } },
      schema: {
        operationId: 'listLeads',
        tags,
        summary: 'List company leads',
        description:
          'Keyset pages, newest first by default; stable while leads are added. Agents see only their own leads.',
        params: CompanyParams,
        querystring: ListLeadsQuery,
        response: { 200: LeadList },
      },
    },
    async (request, reply) => {
      const page = await service.list(accessOf(request), request.query);
      serializeList(reply, request.query);
      return { leads: page.items.map(presentItem), meta: page.meta };
    },
  );

  app.get(
    '/api/v1/companies/:company_id/leads/duplicates',
    {
      config: { policy: { permission: 'leads:manage' } },
      schema: {
        operationId: 'listDuplicateLeads',
        tags,
        summary: 'List duplicate company leads',
        description: 'Groups of live leads sharing a normalized email or phone, ordered by match and key.',
        params: CompanyParams,
        querystring: DuplicatesQuery,
        response: { 200: DuplicatesJson },
      },
    },
    async (request) => {
      const result = await service.duplicates(accessOf(request), request.query);
      return {
        duplicates: result.groups.map((group) => ({ ...group, leads: group.leads.map(presentLead) })),
        meta: result.meta,
      };
    },
  );

  app.get(
    '/api/v1/companies/:company_id/leads/unassigned',
    {
      config: { policy: { permission: 'leads:manage' } },
      schema: {
        operationId: 'listUnassignedLeads',
        tags,
        summary: 'List unassigned company leads',
        description: 'The list of leads without an assignee; same filters and sorts as the lead list.',
        params: CompanyParams,
        querystring: ListLeadsQuery,
        response: { 200: LeadList },
      },
    },
    async (request, reply) => {
      const page = await service.list(accessOf(request), request.query, { assignedUserAccessId: null });
      serializeList(reply, request.query);
      return { leads: page.items.map(presentItem), meta: page.meta };
    },
  );

  app.get(
    '/api/v1/companies/:company_id/leads/metrics',
    {
      config: { policy: { permission: 'leads:read' } },
      schema: {
        operationId: 'leadMetrics',
        tags,
        summary: 'List lead metrics by stage',
        description: 'Count and value sum per stage (every stage listed), under the same filters as the list.',
        params: CompanyParams,
        querystring: Type.Omit(ListLeadsQuery, ['sort', 'limit', 'cursor', 'count', 'include_deleted']),
        response: { 200: MetricsJson },
      },
    },
    async (request) => ({ metrics: await service.metrics(accessOf(request), request.query) }),
  );

  app.get(
    '/api/v1/companies/:company_id/leads/:lead_id',
    {
      config: { policy: { permission: 'leads:read' } },
      schema: {
        operationId: 'getLead',
        tags,
        summary: 'Get lead by id',
        description: 'The lead with its answers and its latest 20 notes (all notes: the notes list).',
        params: LeadParams,
        response: { 200: LeadDetail },
      },
    },
    async (request) => {
      const lead = await service.view(accessOf(request), request.params.lead_id);
      return detailOf(lead, await notes.latest(request.params.company_id, request.params.lead_id));
    },
  );

  for (const method of ['PUT', 'PATCH'] as const) {
    app.route({
      method,
      url: '/api/v1/companies/:company_id/leads/:lead_id',
      config: { policy: { permission: 'leads:write' }, ifMatch: 'handler' },
      schema: {
        operationId: method === 'PUT' ? 'updateLead' : 'patchLead',
        tags,
        summary: 'Update a lead',
        description:
          'Partial: absent fields stay. `null` clears a field; an answer with `value: null` is removed. Agents ' +
          'update their own leads but cannot reassign them. Stage changes, assignments and edits go to the ' +
          'activity timeline.',
        params: LeadParams,
        body: UpdateLeadBody,
        response: { 200: Type.Object({ lead: LeadJson }), 409: problemResponse('The external_id is already used.') },
      },
      handler: async (request, reply) => {
        const { company_id, lead_id } = request.params;
        const lead = await service.update(actorOf(request), lead_id, request.body, preconditionOf(request, reply));
        // The tag of the lead's GET (which adds the latest notes), as RFC 9110 asks of a PUT's or PATCH's ETag.
        reply.header('etag', detailTag(reply, lead, await notes.latest(company_id, lead_id)));
        return { lead: presentLead(lead) };
      },
    });
  }

  app.delete(
    '/api/v1/companies/:company_id/leads/:lead_id',
    {
      config: { policy: { permission: 'leads:manage' }, ifMatch: 'handler' },
      schema: {
        operationId: 'deleteLead',
        tags,
        summary: 'Delete a lead',
        description: 'Soft delete: the lead leaves every list and count; its history is kept.',
        params: LeadParams,
        response: { 204: Type.Null() },
      },
    },
    async (request, reply) => {
      await service.remove(actorOf(request), request.params.lead_id, preconditionOf(request, reply));
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/api/v1/companies/:company_id/leads/:lead_id/activities',
    {
      config: { policy: { permission: 'leads:read' } },
      schema: {
        operationId: 'listLeadActivities',
        tags,
        summary: "A lead's activity timeline",
        description: 'Oldest first: creation, edits (field → [before, after]), stage changes, assignments, notes.',
        params: LeadParams,
        querystring: PageOnly,
        response: { 200: Type.Object({ activities: Type.Array(ActivityJson), meta: PageMeta }) },
      },
    },
    async (request) => {
      const page = await service.activities(accessOf(request), request.params.lead_id, request.query);
      return {
        // Each kind's data is written by the lead intake in the shape its schema names (lead-activities.schemas.ts).
        activities: page.items.map(
          (row) =>
            ({
              id: row.id,
              kind: row.kind,
              actor_user_id: row.actorUserId,
              data: row.data,
              created_at: row.createdAt.toISOString(),
            }) as Static<typeof ActivityJson>,
        ),
        meta: page.meta,
      };
    },
  );
};
