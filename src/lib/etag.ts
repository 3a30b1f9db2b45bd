import { createHash } from 'node:crypto';
import { invalid, preconditionFailed } from './errors.ts';

/**
 * Entity tags (RFC 9110 § 8.8.3) of the API's JSON representations, and the If-Match / If-None-Match conditions
 * that compare them. Framework-free: the conditional-requests plugin tags answers with it, and a route whose service
 * checks If-Match inside its own transaction (leads) tags the same representation serialized the same way.
 */

/**
 * A strong entity tag: `"` + the first 27 characters (160 bits) of base64url(SHA-256) of the representation's JSON
 * text, exactly as sent. Strong because equal tags mean byte-for-byte equal bodies, which is what If-Match needs;
 * the response serializer writes a schema's keys in one order, so the same state always gives the same text.
 */
export function etagOf(json: string): string {
  return `"${createHash('sha256').update(json).digest('base64url').slice(0, 27)}"`;
}

/** A parsed If-Match or If-None-Match: `*`, or the listed tags as sent (`W/` prefix kept). */
export type TagCondition = { any: true } | { any: false; tags: string[] };

const ENTITY_TAG = /^(W\/)?"[\x21\x23-\x7e\x80-\xff]*"$/;

/** Parses the header; undefined when absent, null when malformed. */
export function parseTagCondition(header: string | string[] | undefined): TagCondition | undefined | null {
  if (header === undefined) return undefined;
  const text = Array.isArray(header) ? header.join(',') : header;
  if (text.trim() === '*') return { any: true };
  const tags = text
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean);
  if (tags.length === 0 || !tags.every((tag) => ENTITY_TAG.test(tag))) return null;
  return { any: false, tags };
}

/**
 * If-Match: strong comparison (RFC 9110 § 13.1.1), so a weak tag never matches. `*` holds when the resource has a
 * current representation (`current` defined).
 */
export function ifMatchHolds(condition: TagCondition, current: string | undefined): boolean {
  if (current === undefined) return false;
  if (condition.any) return true;
  return condition.tags.some((tag) => !tag.startsWith('W/') && tag === current);
}

/** If-None-Match: weak comparison (RFC 9110 § 13.1.2); true when the client's copy is current (→ 304). */
export function noneMatchFails(condition: TagCondition, current: string): boolean {
  if (condition.any) return true;
  const opaque = (tag: string) => (tag.startsWith('W/') ? tag.slice(2) : tag);
  return condition.tags.some((tag) => opaque(tag) === opaque(current));
}

/** 412: the client's copy is not the current one; nothing was changed. */
export const staleCopy = () =>
  preconditionFailed(
    'If-Match does not match the current entity tag: the resource changed since you read it (GET it again).',
  );

/** A malformed If-Match: 422 naming the header, like any other invalid input. */
export const invalidIfMatch = () =>
  invalid([
    { field: 'if-match', code: 'invalid', message: 'must be `*` or a comma-separated list of quoted entity tags' },
  ]);

/** The If-Match of a request, parsed, or a 422 when it is malformed. */
export function ifMatchOf(header: string | string[] | undefined): TagCondition | undefined {
  const condition = parseTagCondition(header);
  if (condition === null) throw invalidIfMatch();
  return condition;
}
