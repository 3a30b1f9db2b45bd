import type { Db, Executor } from '../../db/client.ts';
import { lockLeadIntake } from '../../db/locks.ts';
import { invalid, notFound, unprocessable } from '../../lib/errors.ts';
import type { Principal } from '../../lib/permissions.ts';
import {
  assertMayChangeAccess,
  assertMayGrantTo,
  assertMayRemoveAccess,
  assertNotBelowInheritedAdmin,
  isSelfOrStaff,
} from '../authz/authz.policies.ts';
import { announce, announcements, redistribute, releaseClosedLeads, takeOpenLeadsOf } from '../leads/lead-intake.ts';
import type { LimitsService } from '../limits/limits.service.ts';
import { findUserById } from '../users/users.repository.ts';
import type { UsersService } from '../users/users.service.ts';
import { announceUserAccessCreated, userAccessEvent } from './user-access-events.ts';
import {
  clearPrimary,
  countAdmins,
  deleteUserAccess,
  findAccess,
  findUserAccess,
  findUserAccessIn,
  findView,
  insertUserAccess,
  listViewsOfUser,
  lockCompany,
  updateUserAccess,
} from './user-accesses.repository.ts';
import type { CreateUserAccessInput, UpdateUserAccessInput } from './user-accesses.schemas.ts';

// 409: the request is valid, the company's current state (its only admin) is what refuses it.
// 422 as the contract says (API.md: "the last admin of a company cannot be removed (422)"), naming what was asked.
const lastAdmin = (field: string) =>
  unprocessable('last_admin', 'A company must keep at least one administrator.', field);

export function createUserAccessesService(deps: { db: Db; users: UsersService; limits: LimitsService }) {
  const { db } = deps;

  async function view(tx: Executor, companyId: number, id: number) {
    return (await findView(tx, companyId, id))!;
  }

  async function assertAccessExists(tx: Executor, accessId: number) {
    if (!(await findAccess(tx, accessId))) throw notFound('Access');
  }

  /** A change that would leave the company without an effective admin is refused, and rolled back with it. */
  async function assertStillAdministered(tx: Executor, companyId: number, field: 'access_id' | 'user_access_id') {
    if ((await countAdmins(tx, companyId)) === 0) throw lastAdmin(field);
  }

  return {
    /**
     * Grants an access. The route policy made sure the caller administers the company (404/403); the person must
     * be someone the caller can already see (404 otherwise), and an ancestor's admin is not overridden from below.
     */
    async create(principal: Principal, userId: number, input: CreateUserAccessInput) {
      if (input.user_id !== undefined && input.user_id !== userId) {
        throw invalid([{ field: 'user_id', code: 'mismatch', message: 'must equal the user_id of the path' }]);
      }
      return db.transaction(async (tx) => {
        await assertMayGrantTo(tx, principal, userId);
        await assertAccessExists(tx, input.access_id);
        await lockCompany(tx, input.company_id);
        await assertNotBelowInheritedAdmin(tx, principal, userId, input.company_id);
        if (await findUserAccessIn(tx, userId, input.company_id)) {
          throw unprocessable('already_member', 'The user already has an access in this company.', 'company_id');
        }
        await deps.limits.assertSeats(tx, input.company_id);
        if (input.primary) await clearPrimary(tx, userId);
        const id = await insertUserAccess(tx, {
          userId,
          companyId: input.company_id,
          accessId: input.access_id,
          primary: input.primary ?? false,
        });
        await announceUserAccessCreated(tx, input.company_id, id);
        return view(tx, input.company_id, id);
      });
    },

    /** Self and staff see every row; admins see the rows of the companies they administer. */
    async list(principal: Principal, userId: number) {
      if (isSelfOrStaff(principal, userId)) {
        if (!(await findUserById(db, userId))) throw notFound('User');
        return listViewsOfUser(db, userId);
      }
      // Only users the caller can see at all; an invisible user answers 404 like a missing one.
      await deps.users.visible(principal, userId);
      return listViewsOfUser(db, userId, principal.userId);
    },

    async update(principal: Principal, userId: number, userAccessId: number, input: UpdateUserAccessInput) {
      return db.transaction(async (tx) => {
        const current = await findUserAccess(tx, userId, userAccessId);
        if (!current) throw notFound('User access');
        await assertMayChangeAccess(tx, principal, current);
        await lockCompany(tx, current.companyId);
        if (input.access_id !== undefined) await assertAccessExists(tx, input.access_id);
        if (input.primary) await clearPrimary(tx, userId, userAccessId);
        await updateUserAccess(tx, current.companyId, userAccessId, {
          accessId: input.access_id,
          primary: input.primary,
        });
        if (input.access_id !== undefined) await assertStillAdministered(tx, current.companyId, 'access_id');
        return view(tx, current.companyId, userAccessId);
      });
    },

    /**
     * Removes an access: the person themself (leaving), or an admin of its company. The person's open leads are
     * redistributed by the company's rules (or unassigned).
     */
    async remove(principal: Principal, userId: number, userAccessId: number) {
      await db.transaction(async (tx) => {
        const current = await findUserAccess(tx, userId, userAccessId);
        if (!current) throw notFound('User access');
        await assertMayRemoveAccess(tx, principal, current);
        // Lock order (src/db/locks.ts): the company, its lead intake (redistribution assigns leads), lead rows,
        // then the rotations redistribute() draws from.
        await lockCompany(tx, current.companyId);
        await lockLeadIntake(tx, current.companyId);
        const openLeads = await takeOpenLeadsOf(tx, current.companyId, userAccessId);
        const out = announcements(current.companyId);
        await releaseClosedLeads(tx, current.companyId, userAccessId, principal.userId, out);
        // The access as it was, for its event (rendered before the row goes).
        const removed = await userAccessEvent(tx, 'user_access.deleted', current.companyId, userAccessId);
        await deleteUserAccess(tx, current.companyId, userAccessId);
        await assertStillAdministered(tx, current.companyId, 'user_access_id');
        await redistribute(tx, current.companyId, userAccessId, openLeads, principal.userId, out);
        // Last: the leads' reassignments, then the removal itself.
        out.ready.push(removed);
        await announce(tx, out);
      });
    },
  };
}

export type UserAccessesService = ReturnType<typeof createUserAccessesService>;
