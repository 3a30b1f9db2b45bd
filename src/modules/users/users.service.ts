import type { Db, Executor } from '../../db/client.ts';
import type { Clock } from '../../lib/clock.ts';
import { normalizeEmail } from '../../lib/email.ts';
import { assertValid, conflict, fieldError, forbidden, notFound } from '../../lib/errors.ts';
import { localeErrors } from '../../lib/locale.ts';
import { decodeCursor, toPage } from '../../lib/pagination.ts';
import { hashPassword, verifyPassword } from '../../lib/passwords.ts';
import type { Principal } from '../../lib/permissions.ts';
import { isSelfOrStaff } from '../authz/authz.policies.ts';
import { usersWithCurrentTermsAccepted } from '../legal-terms/legal-terms.repository.ts';
import { revokeCredentials } from './credentials.repository.ts';
import {
  countUsers,
  findUserByEmail,
  findUserById,
  findVisibleUserByEmail,
  insertUser,
  isUserVisibleTo,
  listUsers,
  managesSomeCompany,
  markOnboardingCompleted,
  type NewUser,
  type UserRow,
  updateUser,
} from './users.repository.ts';
import type { SignupInput, UpdateUserInput } from './users.schemas.ts';

// The same answer as a race on users_email_unique gets (src/plugins/errors.ts).
const emailTaken = () => {
  const error = conflict('email_taken', 'An account with this email already exists.');
  return Object.assign(error, { errors: [fieldError('email', 'taken', 'is already registered')] });
};

/** Joins the new user to the company of an invitation, inside the sign-up's transaction (see invitations). */
export type JoinInvitation = (tx: Executor, code: string, user: UserRow) => Promise<void>;

export function createUsersService(deps: {
  db: Db;
  clock: Clock;
  joinInvitation?: JoinInvitation;
  /** Mails a verification token to `email`, in the caller's transaction (the email-verification module). */
  verification: { issue(tx: Executor, user: Pick<UserRow, 'id' | 'firstName'>, email: string): Promise<void> };
}) {
  const { db } = deps;

  /** Self and staff see anyone; admins and managers see the members of the companies they manage. */
  async function visible(principal: Principal, userId: number): Promise<UserRow> {
    const user = await findUserById(db, userId);
    const allowed =
      user !== undefined && (isSelfOrStaff(principal, userId) || (await isUserVisibleTo(db, principal.userId, userId)));
    // 404, not 403: whether a user id exists is not for outsiders to learn.
    if (!user || !allowed) throw notFound('User');
    return user;
  }

  /** Only the user themself: someone invisible answers 404 (as everywhere), someone visible 403. */
  async function self(principal: Principal, userId: number): Promise<UserRow> {
    const user = await visible(principal, userId);
    if (principal.userId !== userId) throw forbidden('Only the user themself may do this.');
    return user;
  }

  return {
    visible,

    self,

    /** The users (of these ids) who accepted the current legal terms: one query for a whole page. */
    legalTermsAccepted: (userIds: number[]) => usersWithCurrentTermsAccepted(db, userIds, deps.clock.now()),

    async signup(input: SignupInput, extra: Partial<NewUser> = {}): Promise<UserRow> {
      assertValid(localeErrors(input));
      const email = normalizeEmail(input.email);
      if (await findUserByEmail(db, email)) throw emailTaken();
      const { password, invitation_code: code, ...profile } = input;
      const values: NewUser = {
        firstName: profile.first_name.trim(),
        lastName: profile.last_name.trim(),
        email,
        passwordHash: await hashPassword(password),
        lang: profile.lang,
        theme: profile.theme,
        currency: profile.currency,
        birthdate: profile.birthdate,
        ...extra,
      };
      // One transaction: a refused invitation code leaves no user behind, and the verification mail exists exactly
      // when the user does.
      // Two sign-ups racing for one address: the unique index decides (409 email_taken, src/plugins/errors.ts).
      return db.transaction(async (tx) => {
        let user = await insertUser(tx, values);
        if (code !== undefined) {
          if (!deps.joinInvitation) throw new Error('invitations are not wired into the users service');
          // Accepting the code proves the mailbox (the invitation was mailed there): no verification mail needed.
          await deps.joinInvitation(tx, code, user);
          user = (await findUserById(tx, user.id))!;
        }
        if (!user.emailVerifiedAt) await deps.verification.issue(tx, user, user.email);
        return user;
      });
    },

    async findByEmail(principal: Principal, email: string): Promise<UserRow> {
      if (!principal.superadmin && !(await managesSomeCompany(db, principal.userId))) {
        throw forbidden('Only administrators and managers may look users up by email.');
      }
      const address = normalizeEmail(email);
      // Only people the caller can already see; any other address answers exactly like an unknown one, in one
      // query either way, so the answer tells nothing about who else has an account.
      const user = principal.superadmin
        ? await findUserByEmail(db, address)
        : await findVisibleUserByEmail(db, principal.userId, address);
      if (!user) throw notFound('User');
      return user;
    },

    async list(principal: Principal, query: { q?: string; limit?: number; cursor?: string; count?: boolean }) {
      const limit = query.limit ?? 25;
      const after = decodeCursor(query.cursor, ['id']);
      const filter = { viewerId: principal.superadmin ? undefined : principal.userId, q: query.q };
      const rows = await listUsers(db, filter, { afterId: after?.[0], limit });
      const total = query.count ? await countUsers(db, filter) : undefined;
      return toPage(rows, limit, (row) => [row.id], total);
    },

    async update(principal: Principal, userId: number, input: UpdateUserInput): Promise<UserRow> {
      const user = await visible(principal, userId);
      const self = principal.userId === userId;
      if (!isSelfOrStaff(principal, userId)) throw forbidden('Only the user and platform staff may change a profile.');
      const errors = localeErrors(input);
      if (input.status !== undefined && self) {
        errors.push(fieldError('status', 'not_allowed', 'cannot be changed on your own account'));
      }
      const changesCredentials = input.password !== undefined || input.email !== undefined;
      // Staff may reset someone else's details; the owner proves they are the owner.
      if (changesCredentials && self && !(await verifyPassword(user.passwordHash, input.current_password ?? ''))) {
        errors.push(fieldError('current_password', 'mismatch', 'is required and must be your current password'));
      }
      assertValid(errors);

      const email = input.email === undefined ? undefined : normalizeEmail(input.email);
      const changesEmail = email !== undefined && email !== user.email;
      if (changesEmail && (await findUserByEmail(db, email))) throw emailTaken();
      const values = {
        firstName: input.first_name?.trim(),
        lastName: input.last_name?.trim(),
        lang: input.lang,
        theme: input.theme,
        currency: input.currency,
        birthdate: input.birthdate,
        status: input.status,
        passwordHash: input.password === undefined ? undefined : await hashPassword(input.password),
        // The address changes only once the new mailbox is proven (email-verification); asking for the current
        // address again drops a pending change.
        pendingEmail: email === undefined ? undefined : changesEmail ? email : null,
      };
      return db.transaction(async (tx) => {
        // A new password or a deactivation ends every credential of the old state at once.
        const revoke = input.password !== undefined || input.status === 'inactive';
        const updated = revoke
          ? await revokeCredentials(tx, userId, deps.clock.now(), values)
          : await updateUser(tx, userId, values);
        if (!updated) throw notFound('User');
        if (changesEmail) await deps.verification.issue(tx, updated, email);
        return updated;
      });
    },

    /** Stores when the onboarding was first completed; completing it again keeps that time. */
    async completeOnboarding(principal: Principal, userId: number): Promise<UserRow> {
      const user = await self(principal, userId);
      if (user.onboardingCompletedAt !== null) return user;
      const updated = await markOnboardingCompleted(db, userId, deps.clock.now());
      if (!updated) throw notFound('User');
      return updated;
    },
  };
}

export type UsersService = ReturnType<typeof createUsersService>;
