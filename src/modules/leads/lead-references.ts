import { sql } from 'drizzle-orm';
import type { Executor } from '../../db/client.ts';
import { type FieldError, fieldError } from '../../lib/errors.ts';

type Refs = {
  sourceId?: number | null | undefined;
  campaignId?: number | null | undefined;
  stageId?: number | undefined;
  assignedUserAccessId?: number | null | undefined;
};

const absent = (id: number | null | undefined) => id === undefined || id === null;

/**
 * In one query: the company's default country and first open stage, and whether each referenced id is a live
 * resource of this company. References to another company's resources are refused like missing ones.
 */
export async function checkReferences(db: Executor, companyId: number, refs: Refs) {
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
  const row = result.rows[0]!;
  const errors: FieldError[] = [];
  const missing = (field: string, what: string) => errors.push(fieldError(field, 'not_found', `is not ${what}`));
  if (!row.source_ok) missing('source_id', 'a source of this company');
  if (!row.campaign_ok) missing('campaign_id', 'a campaign of this company');
  if (!row.stage_ok) missing('stage_id', 'a stage');
  if (!row.assignee_ok) missing('assigned_user_access_id', 'an active member of this company');
  return { companyCountry: row.company_country, defaultStageId: Number(row.default_stage_id), errors };
}
