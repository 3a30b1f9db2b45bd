import { type FieldError, fieldError } from './errors.ts';

const REGIONS = new Intl.DisplayNames(['en'], { type: 'region', fallback: 'none' });
const TIME_ZONES = new Set([...Intl.supportedValuesOf('timeZone'), 'UTC']);

/** ISO 3166-1 alpha-2 codes that name a real region (`ZZ`-style unknown codes are refused). */
export function isCountry(code: string): boolean {
  return /^[A-Z]{2}$/.test(code) && code !== 'ZZ' && REGIONS.of(code) !== undefined;
}

export function regionErrors(input: { country?: string | null; time_zone?: string | null }): FieldError[] {
  const errors: FieldError[] = [];
  if (input.country != null && !isCountry(input.country)) {
    errors.push(fieldError('country', 'unknown_country', 'is not an ISO 3166-1 alpha-2 country code'));
  }
  if (input.time_zone != null && !TIME_ZONES.has(input.time_zone)) {
    errors.push(fieldError('time_zone', 'unknown_time_zone', 'is not an IANA time zone'));
  }
  return errors;
}

let countryNames: Map<string, string> | undefined;
const foldName = (name: string) =>
  name
    .normalize('NFD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/[^a-z]/g, '');

/** `ES`, `es`, `Spain`, `España` → `ES` (English and Spanish names, accents and case ignored). */
export function countryCode(text: string): string | undefined {
  const trimmed = text.trim();
  if (/^[A-Za-z]{2}$/.test(trimmed)) return trimmed.toUpperCase();
  if (!countryNames) {
    countryNames = new Map();
    for (const locale of ['en', 'es']) {
      const names = new Intl.DisplayNames([locale], { type: 'region', fallback: 'none' });
      for (let a = 65; a <= 90; a++) {
        for (let b = 65; b <= 90; b++) {
          const code = String.fromCharCode(a, b);
          const name = isCountry(code) ? names.of(code) : undefined;
          if (name) countryNames.set(foldName(name), code);
        }
      }
    }
  }
  return countryNames.get(foldName(trimmed));
}
