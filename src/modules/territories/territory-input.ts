import { type FieldError, fieldError } from '../../lib/errors.ts';
import { isCountry } from '../../lib/region.ts';
import { foldRegion, normalizePostalCode } from './territory-match.ts';

export type TerritoryFields = { name: string; country: string | null; regions: string[]; postalCodes: string[] };
type Raw = { name: string; country?: string | null; regions?: string[]; postal_codes?: string[] };

// After normalization: letters, digits and inner dashes, optionally ending in one `*` (a prefix).
const POSTAL_CODE = /^[A-Z0-9][A-Z0-9-]*\*?$/;

const at = (prefix: string, field: string) => (prefix ? `${prefix}.${field}` : field);

function duplicates(values: readonly string[], key: (value: string) => string) {
  const seen = new Set<string>();
  return values.map((value) => {
    const folded = key(value);
    const repeated = seen.has(folded);
    seen.add(folded);
    return repeated;
  });
}

/**
 * One territory's location rules, normalized (country upper-case, regions trimmed, postal codes upper-case without
 * spaces) and checked whole; error paths carry `prefix` (`territories.3.postal_codes.1`).
 */
export function normalizeTerritory(prefix: string, raw: Raw): { fields: TerritoryFields; errors: FieldError[] } {
  const errors: FieldError[] = [];
  const country = raw.country ? raw.country.toUpperCase() : null;
  if (country !== null && !isCountry(country)) {
    errors.push(fieldError(at(prefix, 'country'), 'unknown_country', 'is not an ISO 3166-1 alpha-2 country code'));
  }
  const regions = (raw.regions ?? []).map((region) => region.trim());
  duplicates(regions, foldRegion).forEach((repeated, index) => {
    if (repeated) errors.push(fieldError(at(prefix, `regions.${index}`), 'duplicate', 'is listed more than once'));
  });
  const postalCodes = (raw.postal_codes ?? []).map(normalizePostalCode);
  const repeatedCodes = duplicates(postalCodes, (code) => code);
  postalCodes.forEach((code, index) => {
    const field = at(prefix, `postal_codes.${index}`);
    if (!POSTAL_CODE.test(code)) {
      errors.push(
        fieldError(field, 'invalid_postal_code', 'must be a postal code, or a prefix ending in a single * (06*)'),
      );
    } else if (repeatedCodes[index]) {
      errors.push(fieldError(field, 'duplicate', 'is listed more than once'));
    }
  });
  if (country === null && regions.length === 0 && postalCodes.length === 0) {
    errors.push(
      fieldError(prefix || 'body', 'no_match_rule', 'a territory needs a country, regions or postal codes to match'),
    );
  }
  return { fields: { name: raw.name.trim(), country, regions, postalCodes }, errors };
}
