import type { Executor } from '../../db/client.ts';
import { type FieldError, fieldError } from '../../lib/errors.ts';
import { type LeadRefs, referenceChecks } from './leads.repository.ts';

/**
 * In one query: the company's default country and first open stage, and whether each referenced id is a live
 * resource of this company. References to another company's resources are refused like missing ones.
 */
export async function checkReferences(db: Executor, companyId: number, refs: LeadRefs) {
  const row = await referenceChecks(db, companyId, refs);
  const errors: FieldError[] = [];
  const missing = (field: string, what: string) => errors.push(fieldError(field, 'not_found', `is not ${what}`));
  if (!row.source_ok) missing('source_id', 'a source of this company');
  if (!row.campaign_ok) missing('campaign_id', 'a campaign of this company');
  if (!row.stage_ok) missing('stage_id', 'a stage');
  if (!row.assignee_ok) missing('assigned_user_access_id', 'an active member of this company');
  return { companyCountry: row.company_country, defaultStageId: Number(row.default_stage_id), errors };
}
