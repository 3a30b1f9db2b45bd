import { isEmail, normalizeEmail } from '../../lib/email.ts';
import { type FieldError, fieldError } from '../../lib/errors.ts';
import { localeErrors } from '../../lib/locale.ts';
import { toE164 } from '../../lib/phone.ts';
import { isCountry } from '../../lib/region.ts';
import type { NewLead } from './leads.repository.ts';
import type { LeadInput } from './leads.schemas.ts';

/**
 * Turns a lead body (from the API, or a row of an import) into column values: emails trimmed and lower-cased,
 * phones in E.164 read with the lead's country (else the company's), the raw phone kept. Collects every field
 * error instead of stopping at the first. Only fields present in the input appear in `values`.
 */
export function normalizeLeadInput(
  input: LeadInput,
  context: { companyCountry: string | null; currentCountry?: string | null },
): { values: Partial<NewLead>; errors: FieldError[] } {
  const errors: FieldError[] = [];
  const values: Partial<NewLead> = {};
  const text = (value: string | null | undefined) => (value == null ? null : value.trim() || null);

  if (input.first_name !== undefined) values.firstName = text(input.first_name);
  if (input.last_name !== undefined) values.lastName = text(input.last_name);
  if (input.region !== undefined) values.region = text(input.region);
  if (input.city !== undefined) values.city = text(input.city);
  if (input.postal_code !== undefined) values.postalCode = text(input.postal_code)?.toUpperCase() ?? null;
  if (input.external_id !== undefined) values.externalId = text(input.external_id);
  if (input.attributes !== undefined) values.attributes = input.attributes;
  if (input.currency !== undefined) {
    values.currency = input.currency;
    if (input.currency !== null) errors.push(...localeErrors({ currency: input.currency }));
  }
  if (input.value !== undefined) values.value = input.value === null ? null : input.value.toFixed(2);

  if (input.country !== undefined) {
    const country = input.country?.toUpperCase() ?? null;
    if (country !== null && !isCountry(country)) {
      errors.push(fieldError('country', 'unknown_country', 'is not an ISO 3166-1 alpha-2 country code'));
    }
    values.country = country;
  }
  if (input.email !== undefined) {
    const email = text(input.email);
    if (email !== null && !isEmail(email)) errors.push(fieldError('email', 'format', 'is not an email address'));
    values.email = email === null ? null : normalizeEmail(email);
  }
  if (input.phone !== undefined) {
    const raw = text(input.phone);
    const country = values.country ?? context.currentCountry ?? context.companyCountry;
    const e164 = raw === null ? null : toE164(raw, country);
    if (raw !== null && e164 === undefined) {
      errors.push(
        fieldError('phone', 'invalid_phone', `is not a valid phone number${country ? ` for ${country}` : ''}`),
      );
    }
    values.phone = e164 ?? null;
    values.phoneRaw = raw;
  }
  if (input.source_id !== undefined) values.sourceId = input.source_id;
  if (input.campaign_id !== undefined) values.campaignId = input.campaign_id;
  if (input.stage_id !== undefined) values.stageId = input.stage_id;
  if (input.assigned_user_access_id !== undefined) values.assignedUserAccessId = input.assigned_user_access_id;
  return { values, errors };
}

/** A lead is only reachable through an email or a phone: after every change at least one must remain. */
export function contactErrors(lead: { email?: string | null; phone?: string | null }): FieldError[] {
  return lead.email || lead.phone
    ? []
    : [fieldError('email', 'contact_required', 'a lead needs an email or a phone (or both)')];
}
