import type { Db, Executor } from '../../db/client.ts';
import type { Clock } from '../../lib/clock.ts';
import { assertValid, fieldError, forbidden, invalid, notFound } from '../../lib/errors.ts';
import { staleCopy } from '../../lib/etag.ts';
import { decodeCursor, toPage } from '../../lib/pagination.ts';
import type { Actor, EffectiveAccess } from '../../lib/permissions.ts';
import { type LeadScope, leadScope } from '../authz/authz.policies.ts';
import { chooseAssignee } from '../distribution/distribution.service.ts';
import type { LimitsService } from '../limits/limits.service.ts';
import { listStages } from '../reference/reference.repository.ts';
import { validateAnswers } from './lead-answers.ts';
import { contactErrors, normalizeLeadInput } from './lead-input.ts';
import {
  type Activity,
  announce,
  announcements,
  createLead,
  deleteLead,
  recordActivities,
  updateLead,
} from './lead-intake.ts';
import { listNotes, type NoteView } from './lead-notes.repository.ts';
import { type LeadReads, prepareLeadReads } from './lead-reads.repository.ts';
import { checkReferences } from './lead-references.ts';
import {
  answersOf,
  countLeads,
  duplicateGroups,
  findLeadView,
  findLeadViews,
  type LeadFilter,
  type LeadPage,
  type LeadRow,
  type LeadTombstoneRow,
  type LeadView,
  listActivities,
  listLeadTombstones,
  lockLead,
  metricsByStage,
} from './leads.repository.ts';
import type { LeadInput, ListLeadsInput } from './leads.schemas.ts';

type AnswersOf = (companyId: number, leadIds: number[]) => ReturnType<typeof answersOf>;

/** Attaches each lead's answers (one query for the whole page), read by `answersOf` (in a transaction, or prepared). */
async function withAnswers(answersOf: AnswersOf, views: LeadView[]) {
  const companyId = views[0]?.lead.companyId;
  const answers =
    companyId === undefined
      ? []
      : await answersOf(
          companyId,
          views.map((view) => view.lead.id),
        );
  const byLead = new Map<number, { question_id: number; value: unknown }[]>();
  for (const answer of answers) {
    const list = byLead.get(answer.leadId) ?? [];
    list.push({ question_id: answer.questionId, value: answer.value });
    byLead.set(answer.leadId, list);
  }
  return views.map((view) => ({ ...view, answers: byLead.get(view.lead.id) ?? [] }));
}

export type LeadWithAnswers = Awaited<ReturnType<typeof withAnswers>>[number];

/** How many of its latest notes a lead's detail (GET) shows, as lead-notes.service `latest` reads them. */
const DETAIL_NOTES = 20;

/**
 * A request's If-Match as the service sees it: does it hold for the lead as it is now (with its latest notes, as
 * its GET shows it)? The route knows the representation and its entity tag; the service knows when to ask.
 */
export type LeadPrecondition = (current: LeadWithAnswers, latestNotes: NoteView[]) => boolean;

/** What changed, for the activity timeline: column → [before, after]. */
function changes(before: LeadRow, after: LeadRow) {
  const diff: Record<string, [unknown, unknown]> = {};
  for (const key of Object.keys(after) as (keyof LeadRow)[]) {
    if (key === 'updatedAt' || key === 'createdAt') continue;
    if (JSON.stringify(before[key]) !== JSON.stringify(after[key])) diff[key] = [before[key], after[key]];
  }
  return diff;
}

export function createLeadsService(deps: {
  db: Db;
  clock: Clock;
  limits: LimitsService;
  /** Named prepared statements on the read path (DATABASE_PREPARE). */
  preparedStatements: boolean;
}) {
  const { db } = deps;

  const reads = prepareLeadReads(db, { named: deps.preparedStatements });

  async function view(tx: Executor, scope: LeadScope, leadId: number): Promise<LeadWithAnswers> {
    const found = await findLeadView(tx, scope, leadId);
    if (!found) throw notFound('Lead');
    const [withAnswer] = await withAnswers((companyId, ids) => answersOf(tx, companyId, ids), [found]);
    return withAnswer!;
  }

  /**
   * If-Match, evaluated on the lead as a GET would show it now, under the row lock the caller just took: the check
   * and the write are one transaction, so of two writers holding the same tag one wins and the other gets 412.
   */
  async function checkPrecondition(tx: Executor, scope: LeadScope, leadId: number, precondition?: LeadPrecondition) {
    if (!precondition) return;
    const current = await view(tx, scope, leadId);
    const notes = await listNotes(tx, scope.companyId, leadId, undefined, DETAIL_NOTES);
    if (!precondition(current, notes.slice(0, DETAIL_NOTES))) throw staleCopy();
  }

  return {
    /** One lead as its reader sees it, through the prepared statements (outside any transaction). */
    async view(access: EffectiveAccess, leadId: number): Promise<LeadWithAnswers> {
      const found = await reads.find(leadScope(access), leadId);
      if (!found) throw notFound('Lead');
      const [lead] = await withAnswers(reads.answersOf, [found]);
      return lead!;
    },

    async create(actor: Actor, input: LeadInput): Promise<LeadWithAnswers> {
      const scope = leadScope(actor.access);
      if (scope.ownerId !== undefined) {
        // Agents create leads for themselves.
        if (input.assigned_user_access_id != null && input.assigned_user_access_id !== scope.ownerId) {
          throw forbidden('Agents can only create leads assigned to themselves.');
        }
        input = { ...input, assigned_user_access_id: actor.access.userAccessId };
      }
      const refs = await checkReferences(db, scope.companyId, {
        sourceId: input.source_id,
        campaignId: input.campaign_id,
        stageId: input.stage_id,
        assignedUserAccessId: input.assigned_user_access_id,
      });
      const { values, errors } = normalizeLeadInput(input, { companyCountry: refs.companyCountry });
      const answers = await validateAnswers(db, scope.companyId, input.campaign_id ?? null, input.answers ?? [], true);
      assertValid([...refs.errors, ...errors, ...contactErrors(values), ...answers.errors]);

      return db.transaction(async (tx) => {
        // Lock order (src/db/locks.ts): the intake and the month's usage (reserve), then rotations (chooseAssignee).
        const room = await deps.limits.reserveMonthlyLeads(tx, scope.companyId, 1);
        if (room.granted < 1) throw room.full();
        // No explicit assignee (agents always have one): the distribution rules decide, when cycles are on.
        const assignment =
          values.assignedUserAccessId == null
            ? await chooseAssignee(tx, scope.companyId, {
                country: values.country ?? null,
                region: values.region ?? null,
                postalCode: values.postalCode ?? null,
                sourceId: values.sourceId ?? null,
              })
            : undefined;
        // The month's usage before the lead: the events appended with it must be the transaction's last lock.
        await room.record(1);
        const out = announcements(scope.companyId);
        const lead = await createLead(
          tx,
          {
            values: {
              ...values,
              companyId: scope.companyId,
              stageId: values.stageId ?? refs.defaultStageId,
              createdByUserId: actor.userId,
            },
            answers: answers.set,
            assignment,
          },
          out,
        );
        // The lead as its events show it, rendered once for both.
        return (await announce(tx, out)).get(lead.id)!;
      });
    },

    async update(
      actor: Actor,
      leadId: number,
      input: LeadInput,
      precondition?: LeadPrecondition,
    ): Promise<LeadWithAnswers> {
      const scope = leadScope(actor.access);
      if (scope.ownerId !== undefined && input.assigned_user_access_id !== undefined) {
        throw forbidden('Only admins and managers reassign leads.');
      }
      const refs = await checkReferences(db, scope.companyId, {
        sourceId: input.source_id,
        campaignId: input.campaign_id,
        stageId: input.stage_id,
        assignedUserAccessId: input.assigned_user_access_id,
      });
      return db.transaction(async (tx) => {
        const before = await lockLead(tx, scope, leadId);
        if (!before) throw notFound('Lead');
        await checkPrecondition(tx, scope, leadId, precondition);
        const { values, errors } = normalizeLeadInput(input, {
          companyCountry: refs.companyCountry,
          currentCountry: before.country,
        });
        const campaignId = values.campaignId === undefined ? before.campaignId : values.campaignId;
        const answers = await validateAnswers(tx, scope.companyId, campaignId ?? null, input.answers ?? [], false);
        assertValid([...refs.errors, ...errors, ...contactErrors({ ...before, ...values }), ...answers.errors]);

        const out = announcements(scope.companyId);
        const after = await updateLead(
          tx,
          scope.companyId,
          leadId,
          { values, answers: answers.set, clearedAnswers: answers.cleared, activities: [] },
          out,
        );
        if (!after) throw notFound('Lead');
        await recordActivities(tx, activitiesFor(actor, before, after, input), out);
        // Nothing changed (the same values sent again): no activity, no event, the lead as it is.
        return (await announce(tx, out)).get(leadId) ?? view(tx, { companyId: scope.companyId }, leadId);
      });
    },

    /** Soft delete: the lead leaves every list, its history stays. */
    async remove(actor: Actor, leadId: number, precondition?: LeadPrecondition): Promise<void> {
      const scope = leadScope(actor.access);
      await db.transaction(async (tx) => {
        const lead = await lockLead(tx, scope, leadId);
        if (!lead) throw notFound('Lead');
        await checkPrecondition(tx, scope, leadId, precondition);
        const out = announcements(scope.companyId);
        await deleteLead(tx, scope.companyId, leadId, actor.userId, deps.clock.now(), out);
        await announce(tx, out);
      });
    },

    async list(access: EffectiveAccess, query: ListLeadsInput, forced: LeadFilter = {}) {
      const scope = leadScope(access);
      const limit = query.limit ?? 25;
      const sort = query.sort ?? '-created_at';
      const after = decodeCursor(query.cursor, ['timestamp', 'id']);
      const filter = { ...filterOf(query), ...forced };
      const request = { scope, filter, sort, after, limit };
      if (query.include_deleted) return withTombstones(db, reads, request, query.count);
      const rows = await reads.page(request);
      const total = query.count ? await countLeads(db, scope, filter) : undefined;
      const page = toPage(
        rows,
        limit,
        (row) => [sort.endsWith('updated_at') ? row.updatedCursor : row.createdCursor, row.lead.id],
        total,
      );
      return { items: await withAnswers(reads.answersOf, page.items), meta: page.meta };
    },

    /** Count and value sum per stage, every stage listed, under the same filters as the list. */
    async metrics(access: EffectiveAccess, query: ListLeadsInput) {
      const [rows, allStages] = await Promise.all([
        metricsByStage(db, leadScope(access), filterOf(query)),
        listStages(db),
      ]);
      const byStage = new Map(rows.map((row) => [row.stageId, row]));
      return allStages.map((stage) => ({
        stage: { id: stage.id, name: stage.name, code: stage.code, kind: stage.kind },
        count: byStage.get(stage.id)?.count ?? 0,
        value_sum: Number(byStage.get(stage.id)?.valueSum ?? 0),
      }));
    },

    /** Groups of live leads sharing a normalized email or phone, a keyset page of groups with their leads. */
    async duplicates(access: EffectiveAccess, query: { match?: 'email' | 'phone'; limit?: number; cursor?: string }) {
      const scope = leadScope(access);
      const limit = query.limit ?? 25;
      const after = decodeCursor(query.cursor, ['text', 'text']);
      const groups = await duplicateGroups(db, scope, query.match, after, limit);
      const page = toPage(groups, limit, (group) => [group.match, group.key]);
      const leadsById = new Map(
        (
          await withAnswers(
            reads.answersOf,
            await findLeadViews(
              db,
              scope.companyId,
              page.items.flatMap((g) => g.ids),
            ),
          )
        ).map((lead) => [lead.lead.id, lead]),
      );
      return {
        meta: page.meta,
        groups: page.items.map((group) => ({
          key: group.key,
          match: group.match,
          leads: group.ids.map((id) => leadsById.get(id)!).filter(Boolean),
        })),
      };
    },

    async activities(access: EffectiveAccess, leadId: number, query: { limit?: number; cursor?: string }) {
      await view(db, leadScope(access), leadId);
      const limit = query.limit ?? 50;
      const after = decodeCursor(query.cursor, ['id'])?.[0] ?? 0;
      const rows = await listActivities(db, access.companyId, leadId, after, limit);
      return toPage(rows, limit, (row) => [row.id]);
    },
  };
}

export type LeadsService = ReturnType<typeof createLeadsService>;

function filterOf(query: ListLeadsInput): LeadFilter {
  return {
    stageId: query.stage_id,
    sourceId: query.source_id,
    campaignId: query.campaign_id,
    assignedUserAccessId: query.assigned_user_access_id,
    q: query.q,
    createdFrom: query.created_from,
    createdTo: query.created_to,
    updatedSince: sinceOf(query.updated_since),
  };
}

/** `updated_since` as the database will compare it (milliseconds: a truncated instant only widens a `≥`). */
function sinceOf(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const since = new Date(value);
  if (Number.isNaN(since.getTime()) || since.getUTCFullYear() < 1 || since.getUTCFullYear() > 9999) {
    throw invalid([fieldError('updated_since', 'format', 'must be an ISO 8601 date-time between years 1 and 9999')]);
  }
  return since.toISOString();
}

export type LeadListItem = LeadWithAnswers | { tombstone: LeadTombstoneRow };

/**
 * A sync page (`include_deleted`): live leads and tombstones read limit + 1 each in the same keyset order, merged
 * and cut to one page whose cursor is the last item's, whichever kind it is.
 */
async function withTombstones(db: Executor, reads: LeadReads, request: LeadPage, count: boolean | undefined) {
  const { scope, filter, sort, limit } = request;
  // Deleted leads are indexed by (company_id, updated_at, id) only: other orders would sort all of them.
  if (!sort.endsWith('updated_at')) {
    throw invalid([fieldError('include_deleted', 'needs_sort', 'needs sort=updated_at or sort=-updated_at')]);
  }
  const [live, gone, total] = await Promise.all([
    reads.page(request),
    listLeadTombstones(db, request),
    count
      ? Promise.all([countLeads(db, scope, filter), countLeads(db, scope, filter, 'deleted')]).then(([a, b]) => a + b)
      : undefined,
  ]);
  const direction = sort.startsWith('-') ? -1 : 1;
  // Cursor timestamps are fixed-width ISO 8601 UTC with microseconds: their text order is their time order.
  const entries = [
    ...live.map((view) => ({ cursor: view.updatedCursor, id: view.lead.id, view, tombstone: undefined })),
    ...gone.map((row) => ({ cursor: row.updatedCursor, id: row.id, view: undefined, tombstone: row })),
  ].sort((a, b) => direction * (a.cursor < b.cursor ? -1 : a.cursor > b.cursor ? 1 : a.id - b.id));
  const page = toPage(entries.slice(0, limit + 1), limit, (entry) => [entry.cursor, entry.id], total);
  const views = new Map(
    (
      await withAnswers(
        reads.answersOf,
        page.items.flatMap((entry) => (entry.view ? [entry.view] : [])),
      )
    ).map((view) => [view.lead.id, view]),
  );
  const items: LeadListItem[] = page.items.map((entry) =>
    entry.tombstone ? { tombstone: entry.tombstone } : views.get(entry.id)!,
  );
  return { items, meta: page.meta };
}

function activitiesFor(actor: Actor, before: LeadRow, after: LeadRow, input: LeadInput) {
  const base = { companyId: after.companyId, leadId: after.id, actorUserId: actor.userId };
  const diff = changes(before, after);
  const { stageId, assignedUserAccessId, ...rest } = diff;
  const rows: Activity[] = [];
  if (stageId) rows.push({ ...base, kind: 'stage_changed', data: { from: stageId[0], to: stageId[1] } });
  if (assignedUserAccessId) {
    rows.push({
      ...base,
      kind: 'assigned',
      data: { from: assignedUserAccessId[0], to: assignedUserAccessId[1], rule: 'manual' },
    });
  }
  const answered = (input.answers ?? []).map((answer) => answer.question_id);
  if (Object.keys(rest).length > 0 || answered.length > 0) {
    rows.push({ ...base, kind: 'updated', data: { changes: rest, ...(answered.length ? { answers: answered } : {}) } });
  }
  return rows;
}
