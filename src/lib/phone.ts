import { type CountryCode, parsePhoneNumberFromString } from 'libphonenumber-js/max';

/**
 * A phone number in E.164 (`+34612345678`), read with `country` as the default for national formats
 * (`612 34 56 78` in ES). Undefined when it is not a valid number.
 */
export function toE164(raw: string, country?: string | null): string | undefined {
  const parsed = parsePhoneNumberFromString(raw, (country ?? undefined) as CountryCode | undefined);
  return parsed?.isValid() ? parsed.number : undefined;
}
