import { type FieldError, fieldError } from '../../lib/errors.ts';
import type { MemberRow } from './rotation-members.repository.ts';
import type { MemberView } from './rotation-members.schemas.ts';

export type MembersInput = { user_access_ids: readonly number[]; weights?: readonly number[] | undefined };

const at = (prefix: string, field: string) => (prefix ? `${prefix}.${field}` : field);

/**
 * The member list of a cycle or territory, checked whole: each id a direct user access of the company (`known`),
 * none twice, and as many weights as ids. Paths carry the index (`user_access_ids.2`) under `prefix`.
 */
export function memberErrors(prefix: string, input: MembersInput, known: ReadonlySet<number>): FieldError[] {
  const errors: FieldError[] = [];
  const seen = new Set<number>();
  input.user_access_ids.forEach((id, index) => {
    const field = at(prefix, `user_access_ids.${index}`);
    if (!known.has(id)) {
      errors.push(fieldError(field, 'invalid_reference', 'is not a user access of this company'));
    } else if (seen.has(id)) {
      errors.push(fieldError(field, 'duplicate', 'is listed more than once'));
    }
    seen.add(id);
  });
  if (input.weights !== undefined && input.weights.length !== input.user_access_ids.length) {
    errors.push(fieldError(at(prefix, 'weights'), 'length_mismatch', 'must have one weight per user access'));
  }
  return errors;
}

/** Positions follow the list order; without weights everyone weighs 1. */
export function memberRows(ownerId: number, input: MembersInput): MemberRow[] {
  return input.user_access_ids.map((userAccessId, position) => ({
    ownerId,
    userAccessId,
    position,
    weight: input.weights?.[position] ?? 1,
  }));
}

/** Each owner's members, in rotation order, from one selectMembers result. */
export function membersByOwner(members: readonly MemberView[]) {
  const byOwner = new Map<number, MemberView[]>();
  for (const member of members) {
    const list = byOwner.get(member.ownerId) ?? [];
    list.push(member);
    byOwner.set(member.ownerId, list);
  }
  return (ownerId: number) => byOwner.get(ownerId) ?? [];
}
