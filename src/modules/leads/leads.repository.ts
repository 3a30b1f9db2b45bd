import {
  type AnyColumn,
  and,
  asc,
  desc,
  eq,
  gte,
  inArray,
  isNotNull,
  isNull,
  lte,
  type Placeholder,
  type SQL,
  sql,
} from 'drizzle-orm';
import { alias } from 'drizzle-orm/pg-core';
import type { Executor } from '../../db/client.ts';
import { cursorTimestamp } from '../../db/cursor.ts';
import {
  appointments,
  campaigns,
  leadActivities,
  leadAnswers,
  leads,
  sources,
  stages,
  userAccesses,
  users,
} from '../../db/schema/index.ts';
import { containsPattern } from '../../lib/like.ts';
import type { LeadScope } from '../authz/authz.policies.ts';
import { leadOwnerCondition } from '../authz/authz.repository.ts';
import type { LeadSort } from './leads.schemas.ts';

export type { ActivityKind } from '../../db/schema/index.ts';
export type LeadRow = typeof leads.$inferSelect;

/** Ids a lead refers to; `null` and undefined need no check. */
export type LeadRefs = {
  sourceId?: number | null | undefined;
  campaignId?: number | null | undefined;
  stageId?: number | undefined;
  assignedUserAccessId?: number | null | undefined;
};

const absent = (id: number | null | undefined) => id === undefined || id === null;
export type NewLead = typeof leads.$inferInsert;

export type { LeadScope };

export type LeadFilter = {
  stageId?: number | undefined;
  sourceId?: number | undefined;
  campaignId?: number | undefined;
  assignedUserAccessId?: number | null | undefined;
  q?: string | undefined;
  createdFrom?: string | undefined;
  createdTo?: string | undefined;
  /** Inclusive (≥): a sync restarting from the last `updated_at` it saw sees that lead again rather than missing one. */
  updatedSince?: string | undefined;
};

// The expression the trigram index (leads_search_index) is built on: the search must use it verbatim.
const SEARCH_TEXT = sql`(coalesce(${leads.firstName}, '') || ' ' || coalesce(${leads.lastName}, '') || ' ' || coalesce(${leads.email}, '') || ' ' || coalesce(${leads.phone}, ''))`;

/**
 * How a lead query takes a value: inline (the query is built for this request) or as a named placeholder, whose
 * value is given at execution (a query prepared once per shape: lead-reads.repository.ts). One builder serves both,
 * so a prepared list and an ad hoc one cannot differ.
 */
export type Bind = <T>(name: string, value: T) => T | Placeholder<string, T>;
export const inline: Bind = (_name, value) => value;

/**
 * The scope and filter of a lead query. `deleted`: the soft-deleted leads instead of the live ones (tombstones of a
 * sync), under the same scope (an agent's own) and filters; each state has its own partial indexes.
 */
export function leadConditions(
  scope: LeadScope,
  filter: LeadFilter = {},
  state: 'live' | 'deleted' = 'live',
  bind: Bind = inline,
): SQL {
  const conditions: (SQL | undefined)[] = [
    eq(leads.companyId, bind('companyId', scope.companyId)),
    state === 'live' ? isNull(leads.deletedAt) : isNotNull(leads.deletedAt),
    scope.ownerId === undefined ? undefined : leadOwnerCondition(bind('ownerId', scope.ownerId)),
    filter.stageId === undefined ? undefined : eq(leads.stageId, bind('stageId', filter.stageId)),
    filter.sourceId === undefined ? undefined : eq(leads.sourceId, bind('sourceId', filter.sourceId)),
    filter.campaignId === undefined ? undefined : eq(leads.campaignId, bind('campaignId', filter.campaignId)),
    filter.assignedUserAccessId === undefined
      ? undefined
      : filter.assignedUserAccessId === null
        ? isNull(leads.assignedUserAccessId)
        : eq(leads.assignedUserAccessId, bind('assignedUserAccessId', filter.assignedUserAccessId)),
    filter.q ? sql`${SEARCH_TEXT} ilike ${bind('q', containsPattern(filter.q))}` : undefined,
    filter.createdFrom ? gte(leads.createdAt, bind('createdFrom', new Date(filter.createdFrom))) : undefined,
    filter.createdTo ? lte(leads.createdAt, bind('createdTo', new Date(filter.createdTo))) : undefined,
    filter.updatedSince ? gte(leads.updatedAt, bind('updatedSince', new Date(filter.updatedSince))) : undefined,
  ];
  return and(...conditions)!;
}

const assigneeAccess = alias(userAccesses, 'assignee_access');
const assigneeUser = alias(users, 'assignee_user');

/** Leads with the names their JSON shows, in one query (no N+1): source, campaign, stage, assignee. */
export function selectLeadViews(db: Executor) {
  return db
    .select({
      lead: leads,
      source: { id: sources.id, name: sources.name },
      campaign: { id: campaigns.id, name: campaigns.name },
      stage: { id: stages.id, name: stages.name, code: stages.code, kind: stages.kind },
      assignee: {
        userAccessId: assigneeAccess.id,
        userId: assigneeUser.id,
        firstName: assigneeUser.firstName,
        lastName: assigneeUser.lastName,
        email: assigneeUser.email,
      },
      createdCursor: cursorTimestamp(leads.createdAt),
      updatedCursor: cursorTimestamp(leads.updatedAt),
    })
    .from(leads)
    .innerJoin(stages, eq(stages.id, leads.stageId))
    .leftJoin(sources, eq(sources.id, leads.sourceId))
    .leftJoin(campaigns, eq(campaigns.id, leads.campaignId))
    .leftJoin(assigneeAccess, eq(assigneeAccess.id, leads.assignedUserAccessId))
    .leftJoin(assigneeUser, eq(assigneeUser.id, assigneeAccess.userId));
}

export type LeadView = Awaited<ReturnType<ReturnType<typeof selectLeadViews>['execute']>>[number];

export async function findLeadView(db: Executor, scope: LeadScope, leadId: number): Promise<LeadView | undefined> {
  const [row] = await selectLeadViews(db).where(and(leadConditions(scope), eq(leads.id, leadId)));
  return row;
}

export async function findLeadViews(db: Executor, companyId: number, ids: number[]): Promise<LeadView[]> {
  if (ids.length === 0) return [];
  return selectLeadViews(db).where(and(eq(leads.companyId, companyId), inArray(leads.id, ids)));
}

/** A page of a lead list: `after` is the previous page's last [timestamp (ISO 8601 UTC, microseconds), id]. */
export type LeadPage = {
  scope: LeadScope;
  filter: LeadFilter;
  sort: LeadSort;
  after: [string, number] | undefined;
  limit: number;
};

/** The keyset of a lead list: its column, its direction, and the condition that starts after the cursor. */
function keysetOf(sort: LeadSort, after: [string, number] | undefined, bind: Bind = inline) {
  const column = sort.endsWith('updated_at') ? leads.updatedAt : leads.createdAt;
  const descending = sort.startsWith('-');
  const keyset = after
    ? descending
      ? sql`(${column}, ${leads.id}) < (${bind('afterAt', after[0])}::timestamptz, ${bind('afterId', after[1])})`
      : sql`(${column}, ${leads.id}) > (${bind('afterAt', after[0])}::timestamptz, ${bind('afterId', after[1])})`
    : undefined;
  const order = descending ? [desc(column), desc(leads.id)] : [asc(column), asc(leads.id)];
  return { keyset, order };
}

/** The clauses of one keyset page of live leads: limit + 1 rows, to tell whether another page follows. */
export function leadPageClauses(page: LeadPage, bind: Bind = inline) {
  const { keyset, order } = keysetOf(page.sort, page.after, bind);
  return {
    where: and(leadConditions(page.scope, page.filter, 'live', bind), keyset),
    order,
    limit: bind('limit', page.limit + 1),
  };
}

export const selectLeadPage = (db: Executor, clauses: ReturnType<typeof leadPageClauses>) =>
  selectLeadViews(db)
    .where(clauses.where)
    .orderBy(...clauses.order)
    .limit(clauses.limit);

/**
 * The soft-deleted leads of the same keyset page (a sync's tombstones), by the partial index on deleted leads
 * (leads_company_deleted_updated_index), so the live lists and their indexes stay as they were. The caller merges
 * them with the live page in the page's order.
 */
export async function listLeadTombstones(db: Executor, { scope, filter, sort, after, limit }: LeadPage) {
  const { keyset, order } = keysetOf(sort, after);
  return db
    .select({
      id: leads.id,
      deletedAt: leads.deletedAt,
      externalId: leads.externalId,
      createdCursor: cursorTimestamp(leads.createdAt),
      updatedCursor: cursorTimestamp(leads.updatedAt),
    })
    .from(leads)
    .where(and(leadConditions(scope, filter, 'deleted'), keyset))
    .orderBy(...order)
    .limit(limit + 1);
}

export type LeadTombstoneRow = Awaited<ReturnType<typeof listLeadTombstones>>[number];

export async function countLeads(
  db: Executor,
  scope: LeadScope,
  filter: LeadFilter,
  state: 'live' | 'deleted' = 'live',
): Promise<number> {
  const [row] = await db
    .select({ n: sql<number>`count(*)::int` })
    .from(leads)
    .where(leadConditions(scope, filter, state));
  return Number(row?.n ?? 0);
}

export async function answersOf(db: Executor, companyId: number, leadIds: number[]) {
  if (leadIds.length === 0) return [];
  return db
    .select({ leadId: leadAnswers.leadId, questionId: leadAnswers.questionId, value: leadAnswers.value })
    .from(leadAnswers)
    .where(and(eq(leadAnswers.companyId, companyId), inArray(leadAnswers.leadId, leadIds)))
    .orderBy(asc(leadAnswers.leadId), asc(leadAnswers.questionId));
}

export async function upsertAnswers(
  db: Executor,
  companyId: number,
  leadId: number,
  answers: { questionId: number; value: unknown }[],
) {
  if (answers.length === 0) return;
  await db
    .insert(leadAnswers)
    .values(answers.map((answer) => ({ companyId, leadId, questionId: answer.questionId, value: answer.value })))
    .onConflictDoUpdate({
      target: [leadAnswers.leadId, leadAnswers.questionId],
      set: { value: sql`excluded.value`, updatedAt: sql`now()` },
    });
}

export async function deleteAnswers(db: Executor, companyId: number, leadId: number, questionIds: number[]) {
  if (questionIds.length === 0) return;
  await db
    .delete(leadAnswers)
    .where(
      and(
        eq(leadAnswers.companyId, companyId),
        eq(leadAnswers.leadId, leadId),
        inArray(leadAnswers.questionId, questionIds),
      ),
    );
}

/** The answers of new leads (an import batch), in one statement. */
export async function insertAnswerRows(
  db: Executor,
  rows: { companyId: number; leadId: number; questionId: number; value: unknown }[],
) {
  if (rows.length > 0) await db.insert(leadAnswers).values(rows);
}

export async function listActivities(db: Executor, companyId: number, leadId: number, afterId: number, limit: number) {
  return db
    .select()
    .from(leadActivities)
    .where(
      and(
        eq(leadActivities.companyId, companyId),
        eq(leadActivities.leadId, leadId),
        sql`${leadActivities.id} > ${afterId}`,
      ),
    )
    .orderBy(asc(leadActivities.id))
    .limit(limit + 1);
}

/** Count and value per stage for the leads matching `where`; stages without leads are filled in by the service. */
export async function metricsByStage(db: Executor, scope: LeadScope, filter: LeadFilter) {
  return db
    .select({
      stageId: leads.stageId,
      count: sql<number>`count(*)::int`,
      valueSum: sql<string>`coalesce(sum(${leads.value}), 0)::text`,
    })
    .from(leads)
    .where(leadConditions(scope, filter))
    .groupBy(leads.stageId);
}

/**
 * One keyset page of duplicate groups: normalized emails or phones shared by two or more live leads of the
 * company. Scans the (company_id, email|phone) indexes once; the group's members are loaded by the caller.
 */
export async function duplicateGroups(
  db: Executor,
  scope: LeadScope,
  match: 'email' | 'phone' | undefined,
  after: [string, string] | undefined,
  limit: number,
) {
  const part = (kind: 'email' | 'phone') => {
    const column = kind === 'email' ? leads.email : leads.phone;
    return sql`select ${kind}::text as match, ${column} as key, array_agg(${leads.id} order by ${leads.id}) as ids
      from ${leads}
      where ${leadConditions(scope)} and ${column} is not null
      group by ${column} having count(*) > 1`;
  };
  const union = match === undefined ? sql`${part('email')} union all ${part('phone')}` : part(match);
  const result = await db.execute<{ match: 'email' | 'phone'; key: string; ids: (number | string)[] }>(sql`
    select * from (${union}) groups
    ${after ? sql`where (match, key) > (${after[0]}, ${after[1]})` : sql``}
    order by match, key
    limit ${limit + 1}`);
  return result.rows.map((row) => ({ match: row.match, key: row.key, ids: row.ids.map(Number) }));
}

export async function insertLead(db: Executor, values: NewLead): Promise<LeadRow> {
  const [row] = await db.insert(leads).values(values).returning();
  return row!;
}

export async function updateLeadRow(db: Executor, companyId: number, leadId: number, values: Partial<NewLead>) {
  const [row] = await db
    .update(leads)
    .set({ ...values, updatedAt: sql`now()` })
    .where(and(eq(leads.companyId, companyId), eq(leads.id, leadId), isNull(leads.deletedAt)))
    .returning();
  return row;
}

/**
 * Soft delete: `deleted_at` is the instant the `updated_at` it bumps is (the transaction's), so a tombstone's
 * `deleted_at` is a value `updated_since` finds it by, whichever clock the caller's process has.
 */
export async function softDeleteLeadRow(db: Executor, companyId: number, leadId: number) {
  const [row] = await db
    .update(leads)
    .set({ deletedAt: sql`now()`, updatedAt: sql`now()` })
    .where(and(eq(leads.companyId, companyId), eq(leads.id, leadId), isNull(leads.deletedAt)))
    .returning();
  return row;
}

/** Locks the lead for a read-modify-write (update, soft delete). */
export async function lockLead(db: Executor, scope: LeadScope, leadId: number): Promise<LeadRow | undefined> {
  const [row] = await db
    .select()
    .from(leads)
    .where(and(leadConditions(scope), eq(leads.id, leadId)))
    .for('update');
  return row;
}

/** The per-row columns of a bulk insert: the JSON records' keys with their SQL types. */
const RECORD_COLUMNS = sql.raw(`first_name text, last_name text, email text, phone text, phone_raw text, country text,
  region text, city text, postal_code text, source_id bigint, campaign_id bigint, stage_id bigint,
  assigned_user_access_id bigint, value numeric, currency text, external_id text, attributes jsonb, import_row int`);

/** A lead as a bulk insert sends it: the table's column names, empty values left out (JSON.stringify drops them). */
export type LeadRecord = ReturnType<typeof leadRecord>;

export function leadRecord(r: Partial<NewLead>, importRow: number) {
  return {
    first_name: r.firstName ?? undefined,
    last_name: r.lastName ?? undefined,
    email: r.email ?? undefined,
    phone: r.phone ?? undefined,
    phone_raw: r.phoneRaw ?? undefined,
    country: r.country ?? undefined,
    region: r.region ?? undefined,
    city: r.city ?? undefined,
    postal_code: r.postalCode ?? undefined,
    source_id: r.sourceId ?? undefined,
    campaign_id: r.campaignId ?? undefined,
    stage_id: r.stageId ?? undefined,
    assigned_user_access_id: r.assignedUserAccessId ?? undefined,
    value: r.value ?? undefined,
    currency: r.currency ?? undefined,
    external_id: r.externalId ?? undefined,
    attributes: r.attributes && Object.keys(r.attributes).length > 0 ? r.attributes : undefined,
    import_row: importRow,
  };
}

/** What every lead of a bulk insert shares. */
export type LeadBatch = { companyId: number; createdByUserId: number | null; importId: number; defaultStageId: number };

/**
 * Many leads of an import batch, with their `created` activities, in one statement, the leads sent as one JSON
 * parameter read by `json_to_recordset`: V8 serializes a thousand records in about a millisecond (an array parameter per column cost ten in escaping), and with the shared values
 * as scalars and empty values left out PostgreSQL parses them in three (eleven with every key present). Rows already
 * written by an earlier try of the same import batch are skipped.
 */
export async function insertLeadRecords(db: Executor, batch: LeadBatch, records: LeadRecord[]) {
  if (records.length === 0) return [];
  // Each inserted lead's `created` activity is written by the same statement, from the rows it returns: no second
  // JSON document to send and parse for a thousand activities that differ only by lead and row.
  const result = await db.execute<{ id: number; import_row: number }>(sql`
    with inserted as (
      insert into leads (company_id, created_by_user_id, import_id, stage_id, first_name, last_name, email, phone,
                         phone_raw, country, region, city, postal_code, source_id, campaign_id,
                         assigned_user_access_id, value, currency, external_id, attributes, import_row)
      select ${batch.companyId}::bigint, ${batch.createdByUserId}::bigint, ${batch.importId}::bigint,
             coalesce(r.stage_id, ${batch.defaultStageId}::bigint), r.first_name, r.last_name, r.email, r.phone,
             r.phone_raw, r.country, r.region, r.city, r.postal_code, r.source_id, r.campaign_id,
             r.assigned_user_access_id, r.value, r.currency, r.external_id, coalesce(r.attributes, '{}'), r.import_row
      from json_to_recordset(${JSON.stringify(records)}::json) as r(${RECORD_COLUMNS})
      on conflict (import_id, import_row) do nothing
      returning id, import_row),
    created as (
      insert into lead_activities (company_id, lead_id, actor_user_id, kind, data)
      select ${batch.companyId}::bigint, id, ${batch.createdByUserId}::bigint, 'created',
             jsonb_build_object('import_id', ${batch.importId}::bigint, 'row', import_row)
      from inserted order by import_row)
    select id, import_row from inserted`);
  return result.rows.map((row) => ({ id: Number(row.id), importRow: Number(row.import_row) }));
}

/** Activities of one lead or of a whole import batch, in one statement (one JSON parameter, as for leads). */
export async function insertActivities(db: Executor, rows: (typeof leadActivities.$inferInsert)[]) {
  if (rows.length === 0) return;
  const records = rows.map((r) => ({
    company_id: r.companyId,
    lead_id: r.leadId,
    actor_user_id: r.actorUserId,
    kind: r.kind,
    data: r.data ?? {},
  }));
  await db.execute(sql`
    insert into lead_activities (company_id, lead_id, actor_user_id, kind, data)
    select company_id, lead_id, actor_user_id, kind, data from json_to_recordset(${JSON.stringify(records)}::json)
      as r(company_id bigint, lead_id bigint, actor_user_id bigint, kind text, data jsonb)`);
}

/** Cancels a lead's scheduled appointments that have not started yet; returns their ids. */
export async function cancelUpcomingAppointments(db: Executor, companyId: number, leadId: number, now: Date) {
  const rows = await db
    .update(appointments)
    .set({ status: 'canceled', canceledAt: now, updatedAt: now })
    .where(
      and(
        eq(appointments.companyId, companyId),
        eq(appointments.leadId, leadId),
        eq(appointments.status, 'scheduled'),
        gte(appointments.startsAt, now),
      ),
    )
    .returning({ id: appointments.id });
  return rows.map((row) => row.id);
}

/** Gives leads of the company one assignee (null: none), in one statement. */
export async function setAssignee(db: Executor, companyId: number, leadIds: number[], userAccessId: number | null) {
  if (leadIds.length === 0) return;
  await db
    .update(leads)
    .set({ assignedUserAccessId: userAccessId, updatedAt: sql`now()` })
    .where(and(eq(leads.companyId, companyId), inArray(leads.id, leadIds)));
}

/** Open (not won or lost), live leads assigned to a user access, locked for reassignment. */
export async function lockOpenLeadsOf(db: Executor, companyId: number, userAccessId: number) {
  const result = await db.execute<{
    id: number;
    country: string | null;
    region: string | null;
    postal_code: string | null;
    source_id: number | null;
  }>(sql`select l.id, l.country, l.region, l.postal_code, l.source_id
      from leads l join stages s on s.id = l.stage_id
      where l.company_id = ${companyId} and l.assigned_user_access_id = ${userAccessId}
        and l.deleted_at is null and s.kind = 'open'
      order by l.id
      for update of l`);
  return result.rows.map((row) => ({
    id: Number(row.id),
    country: row.country,
    region: row.region,
    postalCode: row.postal_code,
    sourceId: row.source_id === null ? null : Number(row.source_id),
  }));
}

/**
 * Won and lost live leads assigned to a user access, locked in id order: the access is about to go, and its
 * foreign key would clear their assignee without a trace (the caller clears it explicitly instead).
 */
export async function lockClosedLeadsOf(db: Executor, companyId: number, userAccessId: number): Promise<number[]> {
  const result = await db.execute<{ id: number }>(sql`select l.id
      from leads l join stages s on s.id = l.stage_id
      where l.company_id = ${companyId} and l.assigned_user_access_id = ${userAccessId}
        and l.deleted_at is null and s.kind <> 'open'
      order by l.id
      for update of l`);
  return result.rows.map((row) => Number(row.id));
}

/**
 * Live leads of the company sharing an email, phone or external_id with the batch: key → lead id. Each value probes
 * its index through a LATERAL join kept as such by `offset 0` (otherwise PostgreSQL flattens it and, expecting a
 * thousand matches, may hash the company's leads): with `= any(...)` it scanned them, 33 ms a batch at 100k leads
 * and growing with the table, where the probes take 3.
 */
export async function liveLeadsByKeys(
  db: Executor,
  companyId: number,
  keys: {
    emails: (string | null | undefined)[];
    phones: (string | null | undefined)[];
    externalIds: (string | null | undefined)[];
  },
) {
  const probe = (column: AnyColumn, values: (string | null | undefined)[]) => {
    const wanted = values.filter((v): v is string => !!v);
    if (wanted.length === 0) return undefined;
    return sql`select l.id, l.email, l.phone, l.external_id from unnest(${sql.param(wanted)}::text[]) as k(value)
      cross join lateral (select id, email, phone, external_id from leads
        where company_id = ${companyId} and deleted_at is null and ${column} = k.value offset 0) as l`;
  };
  const found = new Map<string, number>();
  const parts = [
    probe(leads.email, keys.emails),
    probe(leads.phone, keys.phones),
    probe(leads.externalId, keys.externalIds),
  ].filter((part): part is SQL => part !== undefined);
  if (parts.length === 0) return found;
  const { rows } = await db.execute<{
    id: number;
    email: string | null;
    phone: string | null;
    external_id: string | null;
  }>(sql.join(parts, sql` union all `));
  for (const row of rows) {
    const id = Number(row.id);
    if (row.email) found.set(`email:${row.email}`, id);
    if (row.phone) found.set(`phone:${row.phone}`, id);
    if (row.external_id) found.set(`external_id:${row.external_id}`, id);
  }
  return found;
}

/**
 * In one query: the company's default country and first open stage, and whether each referenced id is a live
 * resource of this company (lead-references.ts turns it into field errors).
 */
export async function referenceChecks(db: Executor, companyId: number, refs: LeadRefs) {
  const result = await db.execute<{
    company_country: string | null;
    default_stage_id: number | string;
    source_ok: boolean;
    campaign_ok: boolean;
    stage_ok: boolean;
    assignee_ok: boolean;
  }>(sql`select
    (select country from companies where id = ${companyId}) as company_country,
    (select id from stages where kind = 'open' order by position, id limit 1) as default_stage_id,
    ${absent(refs.sourceId) ? sql`true` : sql`exists (select 1 from sources where id = ${refs.sourceId} and company_id = ${companyId} and deleted_at is null)`} as source_ok,
    ${absent(refs.campaignId) ? sql`true` : sql`exists (select 1 from campaigns where id = ${refs.campaignId} and company_id = ${companyId} and deleted_at is null)`} as campaign_ok,
    ${refs.stageId === undefined ? sql`true` : sql`exists (select 1 from stages where id = ${refs.stageId})`} as stage_ok,
    ${absent(refs.assignedUserAccessId) ? sql`true` : sql`exists (select 1 from user_accesses ua join users u on u.id = ua.user_id where ua.id = ${refs.assignedUserAccessId} and ua.company_id = ${companyId} and u.status <> 'inactive')`} as assignee_ok`);
  return result.rows[0]!;
}
