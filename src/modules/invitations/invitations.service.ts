import type { Config } from '../../config.ts';
import type { Db, Executor } from '../../db/client.ts';
import type { Clock } from '../../lib/clock.ts';
import { normalizeEmail } from '../../lib/email.ts';
import { AppError, forbidden, notFound, tooManyRequests, unprocessable } from '../../lib/errors.ts';
import { decodeCursor, toPage } from '../../lib/pagination.ts';
import type { EffectiveAccess, Principal } from '../../lib/permissions.ts';
import { randomToken, sha256 } from '../../lib/secrets.ts';
import { lockCompanyForLimits } from '../limits/limits.repository.ts';
import type { LimitsService } from '../limits/limits.service.ts';
import type { MailQueue } from '../mail/mail.queue.ts';
import { announceUserAccessCreated } from '../user-accesses/user-access-events.ts';
import { clearPrimary, findAccess, findView as findUserAccessView } from '../user-accesses/user-accesses.repository.ts';
import { findUserById, type UserRow, updateUser } from '../users/users.repository.ts';
import {
  claim,
  countPending,
  findMembership,
  findOpenByEmail,
  findPendingByCode,
  findPendingView,
  findView,
  hasPrimaryAccess,
  type InvitationScope,
  type InvitationView,
  insertInvitation,
  insertUserAccess,
  invitationsSentSince,
  isMemberByEmail,
  listPending,
  markDeleted,
} from './invitations.repository.ts';
import type { AcceptInput, CreateInvitationInput, PageInput } from './invitations.schemas.ts';

const alreadyMember = (field: string) =>
  unprocessable('already_member', 'This person already has an access in this company.', field);

const invalidCode = () =>
  new AppError(422, 'invalid_invitation', 'Unprocessable Content', 'The invitation code cannot be used.', [
    {
      field: 'invitation_code',
      code: 'invalid_invitation',
      message: 'is unknown, used, expired, or for another email address',
    },
  ]);

// Managers invite agents only (API.md § Invitations); the same rule covers replacing and deleting.
function assertMayHandle(caller: EffectiveAccess, accessCode: string) {
  if (caller.code === 'manager' && accessCode !== 'agent') {
    throw forbidden('Managers may only invite, re-invite and uninvite with the agent access.');
  }
}

const DAY_MS = 86_400_000;

export function createInvitationsService(deps: {
  db: Db;
  clock: Clock;
  mail: MailQueue;
  limits: LimitsService;
  config: Pick<Config, 'appUrl' | 'invitationTtlSeconds'>;
}) {
  const { db, clock } = deps;

  async function page(scope: InvitationScope, query: PageInput) {
    const limit = query.limit ?? 25;
    const after = decodeCursor(query.cursor, ['id']);
    const now = clock.now();
    const rows = await listPending(db, scope, now, { afterId: after?.[0], limit });
    const total = query.count ? await countPending(db, scope, now) : undefined;
    return toPage(rows, limit, (row) => [row.invitation.id], total);
  }

  /** Written in the invitation's transaction: the mail exists exactly when the invitation does. */
  function queueInvitationMail(tx: Executor, created: InvitationView, code: string) {
    const { invitation, company, access, inviter } = created;
    const who = inviter ? `${inviter.firstName} ${inviter.lastName}`.trim() : 'A Leadsy administrator';
    return deps.mail.enqueue(tx, {
      to: invitation.email,
      subject: `You are invited to join ${company.name} on Leadsy`,
      text:
        `Hello,\n\n${who} invited you to join ${company.name} on Leadsy as ${access.name}.\n\n` +
        `Accept the invitation at ${deps.config.appUrl}/invitations/${code}\n\n` +
        `or, signed in with this address, use this one-time code:\n\n${code}\n\n` +
        `The invitation expires on ${invitation.expiresAt.toISOString()}. ` +
        'If you did not expect it, ignore this message.\n',
    });
  }

  /**
   * Each invitation is a mail carrying the inviter's company name: the plan's daily budget (`max_invitations_per_day`)
   * caps what a company sends in 24 hours, and what one inviter sends across all their companies, so neither a
   * company nor a person can turn Leadsy into a mail cannon. Counted under the company lock, so it holds under races.
   */
  async function assertBudget(tx: Executor, companyId: number, inviterId: number, now: Date) {
    const budget = (await deps.limits.planOf(tx, companyId)).maxInvitationsPerDay;
    const since = new Date(now.getTime() - DAY_MS);
    const sent = await invitationsSentSince(tx, companyId, inviterId, since);
    for (const [who, used] of [
      ['This company', sent.company],
      ['You', sent.inviter],
    ] as const) {
      if (used.count < budget) continue;
      const retryAfter = (used.oldest.getTime() + DAY_MS - now.getTime()) / 1000;
      throw tooManyRequests(
        'invitation_budget',
        `${who} sent ${used.count} invitations in the last 24 hours; the plan allows ${budget}.`,
        retryAfter,
      );
    }
  }

  /**
   * Claims the invitation and creates the access (its id and company); the caller's transaction commits or undoes
   * both together.
   */
  async function join(tx: Executor, code: string, user: UserRow, primary?: boolean) {
    const claimed = await claim(tx, sha256(code), user.email, user.id, clock.now());
    if (!claimed) return undefined;
    // The code was mailed to this address: redeeming it proves the mailbox.
    if (!user.emailVerifiedAt) await updateUser(tx, user.id, { emailVerifiedAt: clock.now() });
    if (await findMembership(tx, claimed.companyId, user.id)) throw alreadyMember('code');
    const makePrimary = primary ?? !(await hasPrimaryAccess(tx, user.id));
    if (makePrimary) await clearPrimary(tx, user.id);
    // No seat check: the pending invitation held the seat, and it stops counting as the member starts to.
    const { id } = await insertUserAccess(tx, {
      userId: user.id,
      companyId: claimed.companyId,
      accessId: claimed.accessId,
      primary: makePrimary,
    });
    // The join's last write (accept answers with a read; sign-up, already verified by the code, writes no more).
    await announceUserAccessCreated(tx, claimed.companyId, id);
    return { id, companyId: claimed.companyId };
  }

  return {
    async create(principal: Principal, caller: EffectiveAccess, input: CreateInvitationInput) {
      const companyId = caller.companyId;
      const email = normalizeEmail(input.email);
      const access = await findAccess(db, input.access_id);
      if (!access) throw notFound('Access');
      assertMayHandle(caller, access.code);
      const code = randomToken();
      const created = await db.transaction(async (tx) => {
        // Taken first, so a concurrent invitation of the same address or for the last seat waits its turn.
        await lockCompanyForLimits(tx, companyId);
        if (await isMemberByEmail(tx, companyId, email)) throw alreadyMember('email');
        const previous = await findOpenByEmail(tx, companyId, email);
        if (previous) {
          const previousAccess = await findAccess(tx, previous.accessId);
          assertMayHandle(caller, previousAccess!.code);
          // Replaced before the seat check, so re-inviting does not count the address twice.
          await markDeleted(tx, companyId, previous.id, clock.now());
        }
        await deps.limits.assertSeats(tx, companyId);
        const now = clock.now();
        await assertBudget(tx, companyId, principal.userId, now);
        const row = await insertInvitation(tx, {
          companyId,
          email,
          accessId: access.id,
          codeHash: sha256(code),
          invitedByUserId: principal.userId,
          expiresAt: new Date(now.getTime() + deps.config.invitationTtlSeconds * 1000),
          // The service's clock, not the database's: the daily budget counts by it.
          createdAt: now,
          updatedAt: now,
        });
        const created = (await findView(tx, companyId, row.id))!;
        await queueInvitationMail(tx, created, code);
        return created;
      });
      return { view: created, code };
    },

    list(companyId: number, query: PageInput) {
      return page({ companyId }, query);
    },

    async remove(caller: EffectiveAccess, invitationId: number) {
      const current = await findPendingView(db, caller.companyId, invitationId, clock.now());
      if (!current) throw notFound('Invitation');
      assertMayHandle(caller, current.access.code);
      await markDeleted(db, caller.companyId, invitationId, clock.now());
    },

    /** The owner of the address (or platform staff) only: invitations reveal who is being recruited where. */
    async listForEmail(principal: Principal, query: PageInput & { email: string }) {
      const email = normalizeEmail(query.email);
      const user = await findUserById(db, principal.userId);
      // An unproven address proves nothing: anyone can type someone else's into their profile or sign-up.
      if (!principal.superadmin && (user?.email !== email || !user.emailVerifiedAt)) {
        throw forbidden('You may only list the invitations sent to your own, verified email address.');
      }
      return page({ email }, query);
    },

    /** Unknown, expired, used and deleted codes all answer the same 404. */
    async lookup(code: string): Promise<InvitationView> {
      const found = await findPendingByCode(db, sha256(code), clock.now());
      if (!found) throw notFound('Invitation');
      return found;
    },

    async accept(principal: Principal, code: string, input: AcceptInput = {}) {
      const user = await findUserById(db, principal.userId);
      if (!user) throw notFound('Invitation');
      return db.transaction(async (tx) => {
        const joined = await join(tx, code, user, input.primary);
        // 404 also for someone else's code: whether a code exists is not for its non-addressees to learn.
        if (joined === undefined) throw notFound('Invitation');
        return (await findUserAccessView(tx, joined.companyId, joined.id))!;
      });
    },

    /** Sign-up with `invitation_code`: runs in the sign-up's transaction, so a refused code creates no user. */
    async acceptOnSignup(tx: Executor, code: string, user: UserRow): Promise<void> {
      if ((await join(tx, code, user)) === undefined) throw invalidCode();
    },
  };
}

export type InvitationsService = ReturnType<typeof createInvitationsService>;
