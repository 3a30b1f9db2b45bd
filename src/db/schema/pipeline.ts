import { sql } from 'drizzle-orm';
import {
  bigint,
  boolean,
  check,
  date,
  index,
  integer,
  jsonb,
  numeric,
  pgTable,
  primaryKey,
  text,
  timestamp,
  unique,
  uniqueIndex,
} from 'drizzle-orm/pg-core';
import { id, ref, timestamps } from './columns.ts';
import { companies, userAccesses, users } from './identity.ts';
import { stages } from './reference.ts';

const live = sql`deleted_at is null`;

/** Where leads come from. Soft-deleted: leads keep pointing at their source. */
export const sources = pgTable(
  'sources',
  {
    id: id(),
    companyId: ref()
      .notNull()
      .references(() => companies.id, { onDelete: 'cascade' }),
    name: text().notNull(),
    priority: integer().notNull(),
    deletedAt: timestamp({ withTimezone: true }),
    ...timestamps(),
  },
  (t) => [
    index('sources_company_priority_index').on(t.companyId, t.priority, t.id).where(live),
    uniqueIndex('sources_company_name_unique').on(t.companyId, sql`lower(${t.name})`).where(live),
  ],
);

/** The user accesses a source hands its leads to (distribution, issue 5). */
export const sourceUserAccesses = pgTable(
  'source_user_accesses',
  {
    companyId: ref()
      .notNull()
      .references(() => companies.id, { onDelete: 'cascade' }),
    sourceId: ref()
      .notNull()
      .references(() => sources.id, { onDelete: 'cascade' }),
    userAccessId: ref()
      .notNull()
      .references(() => userAccesses.id, { onDelete: 'cascade' }),
    // The source's own rotation among its user accesses (see distribution.ts).
    currentWeight: bigint({ mode: 'number' }).notNull().default(0),
    createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.sourceId, t.userAccessId] }), index().on(t.userAccessId), index().on(t.companyId)],
);

export const campaigns = pgTable(
  'campaigns',
  {
    id: id(),
    companyId: ref()
      .notNull()
      .references(() => companies.id, { onDelete: 'cascade' }),
    sourceId: ref().references(() => sources.id),
    name: text().notNull(),
    status: text({ enum: ['active', 'paused', 'finished'] })
      .notNull()
      .default('active'),
    startsAt: timestamp({ withTimezone: true }),
    endsAt: timestamp({ withTimezone: true }),
    deletedAt: timestamp({ withTimezone: true }),
    ...timestamps(),
  },
  (t) => [index('campaigns_company_index').on(t.companyId, t.id).where(live), index().on(t.sourceId)],
);

/** Qualification questions of a company, asked in priority order. */
export const questions = pgTable(
  'questions',
  {
    id: id(),
    companyId: ref()
      .notNull()
      .references(() => companies.id, { onDelete: 'cascade' }),
    title: text().notNull(),
    kind: text({ enum: ['text', 'number', 'date', 'boolean', 'single_choice', 'multiple_choice'] }).notNull(),
    required: boolean().notNull().default(false),
    priority: integer().notNull(),
    deletedAt: timestamp({ withTimezone: true }),
    ...timestamps(),
  },
  (t) => [index('questions_company_priority_index').on(t.companyId, t.priority, t.id).where(live)],
);

/** Options of choice questions: the company's (campaign_id null) or a campaign's own set. */
export const questionOptions = pgTable(
  'question_options',
  {
    id: id(),
    companyId: ref()
      .notNull()
      .references(() => companies.id, { onDelete: 'cascade' }),
    questionId: ref()
      .notNull()
      .references(() => questions.id, { onDelete: 'cascade' }),
    campaignId: ref().references(() => campaigns.id, { onDelete: 'cascade' }),
    label: text().notNull(),
    value: text().notNull(),
    score: integer(),
    position: integer().notNull(),
  },
  (t) => [index().on(t.questionId, t.campaignId, t.position), index().on(t.campaignId), index().on(t.companyId)],
);

export const campaignQuestions = pgTable(
  'campaign_questions',
  {
    companyId: ref()
      .notNull()
      .references(() => companies.id, { onDelete: 'cascade' }),
    campaignId: ref()
      .notNull()
      .references(() => campaigns.id, { onDelete: 'cascade' }),
    questionId: ref()
      .notNull()
      .references(() => questions.id, { onDelete: 'cascade' }),
    position: integer().notNull(),
  },
  (t) => [primaryKey({ columns: [t.campaignId, t.questionId] }), index().on(t.questionId), index().on(t.companyId)],
);

/**
 * Leads. Every list filter and sort has an index that leads with company_id and skips soft-deleted rows; `q` uses
 * trigram indexes (pg_trgm). Emails and phones are stored normalized (lower-case; E.164) for duplicate detection.
 */
export const leads = pgTable(
  'leads',
  {
    id: id(),
    companyId: ref()
      .notNull()
      .references(() => companies.id, { onDelete: 'cascade' }),
    firstName: text(),
    lastName: text(),
    email: text(),
    phone: text(),
    phoneRaw: text(),
    country: text(),
    region: text(),
    city: text(),
    postalCode: text(),
    sourceId: ref().references(() => sources.id),
    campaignId: ref().references(() => campaigns.id),
    stageId: ref()
      .notNull()
      .references(() => stages.id),
    assignedUserAccessId: ref().references(() => userAccesses.id, { onDelete: 'set null' }),
    value: numeric({ precision: 14, scale: 2 }),
    currency: text(),
    externalId: text(),
    attributes: jsonb().$type<Record<string, unknown>>().notNull().default({}),
    createdByUserId: ref().references(() => users.id, { onDelete: 'set null' }),
    // Imports (issue 6): a row of a file is written once, whatever retries happen.
    importId: ref(),
    importRow: integer(),
    deletedAt: timestamp({ withTimezone: true }),
    ...timestamps(),
  },
  (t) => [
    index('leads_company_created_index').on(t.companyId, t.createdAt, t.id).where(live),
    index('leads_company_updated_index').on(t.companyId, t.updatedAt, t.id).where(live),
    // The tombstones of a sync (`include_deleted`): deleted leads by updated_at, apart from the live lists' indexes
    // (a live lead is in none of this index's entries, so creating leads does not pay for it).
    index('leads_company_deleted_updated_index').on(t.companyId, t.updatedAt, t.id).where(sql`deleted_at is not null`),
    index('leads_company_stage_index').on(t.companyId, t.stageId, t.createdAt, t.id).where(live),
    index('leads_company_source_index').on(t.companyId, t.sourceId, t.createdAt, t.id).where(live),
    index('leads_company_campaign_index').on(t.companyId, t.campaignId, t.createdAt, t.id).where(live),
    index('leads_company_assignee_index').on(t.companyId, t.assignedUserAccessId, t.createdAt, t.id).where(live),
    index('leads_company_email_index').on(t.companyId, t.email).where(sql`deleted_at is null and email is not null`),
    index('leads_company_phone_index').on(t.companyId, t.phone).where(sql`deleted_at is null and phone is not null`),
    uniqueIndex('leads_company_external_id_unique')
      .on(t.companyId, t.externalId)
      .where(sql`deleted_at is null and external_id is not null`),
    uniqueIndex('leads_import_row_unique').on(t.importId, t.importRow),
    index('leads_search_index').using(
      'gin',
      sql`(coalesce(first_name, '') || ' ' || coalesce(last_name, '') || ' ' || coalesce(email, '') || ' ' || coalesce(phone, '')) gin_trgm_ops`,
    ),
    index().on(t.assignedUserAccessId),
    index().on(t.sourceId),
    index().on(t.campaignId),
    index().on(t.stageId),
    index().on(t.createdByUserId),
  ],
);

export const leadAnswers = pgTable(
  'lead_answers',
  {
    id: id(),
    companyId: ref()
      .notNull()
      .references(() => companies.id, { onDelete: 'cascade' }),
    leadId: ref()
      .notNull()
      .references(() => leads.id, { onDelete: 'cascade' }),
    questionId: ref()
      .notNull()
      .references(() => questions.id),
    value: jsonb().notNull(),
    ...timestamps(),
  },
  (t) => [unique('lead_answers_lead_question_unique').on(t.leadId, t.questionId), index().on(t.questionId)],
);

export const leadNotes = pgTable(
  'lead_notes',
  {
    id: id(),
    companyId: ref()
      .notNull()
      .references(() => companies.id, { onDelete: 'cascade' }),
    leadId: ref()
      .notNull()
      .references(() => leads.id, { onDelete: 'cascade' }),
    authorUserId: ref().references(() => users.id, { onDelete: 'set null' }),
    body: text().notNull(),
    ...timestamps(),
  },
  (t) => [index().on(t.leadId, t.id), index().on(t.authorUserId), index().on(t.companyId)],
);

/** The lead's timeline: creation, edits, stage changes, assignments (with the rule that chose), notes. */
/** What a lead's timeline records; the lead intake (modules/leads/lead-intake.ts) writes every one of them. */
export const ACTIVITY_KINDS = [
  'created',
  'assigned',
  'updated',
  'stage_changed',
  'deleted',
  'note_added',
  'note_deleted',
] as const;
export type ActivityKind = (typeof ACTIVITY_KINDS)[number];

export const leadActivities = pgTable(
  'lead_activities',
  {
    id: id(),
    companyId: ref()
      .notNull()
      .references(() => companies.id, { onDelete: 'cascade' }),
    leadId: ref()
      .notNull()
      .references(() => leads.id, { onDelete: 'cascade' }),
    actorUserId: ref().references(() => users.id, { onDelete: 'set null' }),
    kind: text({ enum: ACTIVITY_KINDS }).notNull(),
    data: jsonb().$type<Record<string, unknown>>().notNull().default({}),
    createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    index().on(t.leadId, t.id),
    index().on(t.actorUserId),
    index().on(t.companyId),
    check('lead_activities_kind_check', sql`${t.kind} in (${sql.raw(ACTIVITY_KINDS.map((k) => `'${k}'`).join(', '))})`),
  ],
);

/** Overlap is refused by an exclusion constraint (btree_gist) in migration 0003, not only by the service. */
export const appointments = pgTable(
  'appointments',
  {
    id: id(),
    companyId: ref()
      .notNull()
      .references(() => companies.id, { onDelete: 'cascade' }),
    leadId: ref()
      .notNull()
      .references(() => leads.id, { onDelete: 'cascade' }),
    userAccessId: ref()
      .notNull()
      .references(() => userAccesses.id, { onDelete: 'cascade' }),
    startsAt: timestamp({ withTimezone: true }).notNull(),
    endsAt: timestamp({ withTimezone: true }).notNull(),
    title: text(),
    location: text(),
    notes: text(),
    status: text({ enum: ['scheduled', 'canceled'] })
      .notNull()
      .default('scheduled'),
    createdByUserId: ref().references(() => users.id, { onDelete: 'set null' }),
    canceledAt: timestamp({ withTimezone: true }),
    ...timestamps(),
  },
  (t) => [
    index().on(t.userAccessId, t.startsAt),
    index().on(t.leadId, t.startsAt),
    index().on(t.companyId, t.startsAt),
    index().on(t.createdByUserId),
  ],
);

/** Secret calendar-feed tokens (iCalendar subscription URLs); stored hashed, revocable. */
export const calendarFeeds = pgTable(
  'calendar_feeds',
  {
    id: id(),
    userId: ref()
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    tokenHash: text().notNull(),
    createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
    revokedAt: timestamp({ withTimezone: true }),
  },
  (t) => [uniqueIndex('calendar_feeds_token_hash_unique').on(t.tokenHash), index().on(t.userId)],
);

/** Leads created per company and calendar month (UTC), counted in the insert's transaction for the plan limit. */
export const leadMonthlyUsage = pgTable(
  'lead_monthly_usage',
  {
    companyId: ref()
      .notNull()
      .references(() => companies.id, { onDelete: 'cascade' }),
    month: date({ mode: 'string' }).notNull(),
    count: integer().notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.companyId, t.month] })],
);
