import { type FieldError, fieldError } from './errors.ts';

const CURRENCIES = new Set(Intl.supportedValuesOf('currency'));

/** Checks what a pattern cannot: that a currency is a real ISO 4217 code and a language tag is well-formed. */
export function localeErrors(input: { currency?: string | undefined; lang?: string | undefined }): FieldError[] {
  const errors: FieldError[] = [];
  if (input.currency !== undefined && !CURRENCIES.has(input.currency)) {
    errors.push(fieldError('currency', 'unknown_currency', 'is not an ISO 4217 currency code'));
  }
  if (input.lang !== undefined) {
    try {
      Intl.getCanonicalLocales(input.lang);
    } catch {
      errors.push(fieldError('lang', 'invalid_language_tag', 'is not a BCP 47 language tag'));
    }
  }
  return errors;
}
