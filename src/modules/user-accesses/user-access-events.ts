import type { Executor } from '../../db/client.ts';
import { appendEvents, type NewEvent } from '../outbox/outbox.repository.ts';
import { findView } from './user-accesses.repository.ts';
import { presentUserAccess } from './user-accesses.schemas.ts';

/**
 * `user_access.created` / `user_access.deleted` for every path that grants or removes an access (the user-accesses
 * routes, an invitation accepted — on its own or at sign-up —, the creator of a company): the access as the API
 * shows it (a deletion: as it was), in the access's company. Render a deletion's event before the row goes, append
 * it after, as the transaction's last write. No assignee: agents' streams never show accesses (they name others).
 */
export async function userAccessEvent(
  tx: Executor,
  type: 'user_access.created' | 'user_access.deleted',
  companyId: number,
  userAccessId: number,
): Promise<NewEvent> {
  const view = await findView(tx, companyId, userAccessId);
  if (!view) throw new Error(`user access ${userAccessId} of company ${companyId} is missing`);
  return { type, data: presentUserAccess(view) };
}

/** Renders and appends a created access's event: call it as the transaction's last write. */
export async function announceUserAccessCreated(tx: Executor, companyId: number, userAccessId: number) {
  await appendEvents(tx, companyId, [await userAccessEvent(tx, 'user_access.created', companyId, userAccessId)]);
}
