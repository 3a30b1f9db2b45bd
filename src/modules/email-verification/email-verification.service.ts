import type { Config } from '../../config.ts';
import type { Db, Executor } from '../../db/client.ts';
import type { Clock } from '../../lib/clock.ts';
import { AppError, conflict, fieldError, notFound, tooManyRequests } from '../../lib/errors.ts';
import type { Principal } from '../../lib/permissions.ts';
import { randomToken, sha256 } from '../../lib/secrets.ts';
import type { MailQueue } from '../mail/mail.queue.ts';
import { revokeCredentials } from '../users/credentials.repository.ts';
import { findUserByEmail, findUserById, type UserRow, updateUser } from '../users/users.repository.ts';
import { claimVerification, countVerificationsSince, insertVerification } from './email-verification.repository.ts';

/** Verification mails one account may be sent in an hour (sign-up, re-sends and email changes together). */
export const VERIFICATIONS_PER_HOUR = 5;
const HOUR_MS = 3_600_000;

const invalidToken = () =>
  new AppError(422, 'invalid_token', 'Unprocessable Content', 'The verification token is invalid or expired.', [
    fieldError('token', 'invalid_token', 'is invalid, used, expired, or for an address the account no longer has'),
  ]);

export function createEmailVerificationService(deps: {
  db: Db;
  clock: Clock;
  mail: MailQueue;
  config: Pick<Config, 'appUrl' | 'emailVerificationTtlSeconds'>;
}) {
  const { db, clock } = deps;

  /** A fresh token for `email` (the account's address, or the pending new one), mailed in the caller's transaction. */
  async function issue(tx: Executor, user: Pick<UserRow, 'id' | 'firstName'>, email: string): Promise<void> {
    const token = randomToken();
    const now = clock.now();
    const ttl = deps.config.emailVerificationTtlSeconds;
    await insertVerification(tx, {
      userId: user.id,
      email,
      tokenHash: sha256(token),
      expiresAt: new Date(now.getTime() + ttl * 1000),
      createdAt: now,
    });
    await deps.mail.enqueue(tx, {
      to: email,
      subject: 'Confirm your email address for Leadsy',
      text:
        `Hello ${user.firstName},\n\nConfirm that this address is yours with this one-time token ` +
        `(valid for ${Math.round(ttl / 3600)} hours):\n\n${token}\n\n` +
        `or open ${deps.config.appUrl}/verify-email?token=${token}\n\n` +
        'If you did not ask for a Leadsy account or an email change, ignore this message.\n',
    });
  }

  return {
    issue,

    /** A new token for the address waiting for proof: the pending new one, else the unverified current one. */
    async resend(principal: Principal): Promise<void> {
      const user = await findUserById(db, principal.userId);
      if (!user) throw notFound('User');
      const email = user.pendingEmail ?? (user.emailVerifiedAt ? null : user.email);
      if (!email) throw conflict('already_verified', 'Your email address is already verified.');
      const now = clock.now();
      // Counted in the database, so the cap holds across API processes and restarts.
      if ((await countVerificationsSince(db, user.id, new Date(now.getTime() - HOUR_MS))) >= VERIFICATIONS_PER_HOUR) {
        throw tooManyRequests('verification_budget', 'Too many verification mails in the last hour.', 3600);
      }
      await db.transaction((tx) => issue(tx, user, email));
    },

    /**
     * Proves the mailbox. For the current address the account is marked verified; for a pending new address the
     * address changes now, and every credential of the old state ends (sessions, feed, reset and other tokens).
     */
    async verify(token: string): Promise<UserRow> {
      return db.transaction(async (tx) => {
        const now = clock.now();
        const claimed = await claimVerification(tx, sha256(token), now);
        const user = claimed && (await findUserById(tx, claimed.userId));
        if (!claimed || !user || user.status === 'inactive') throw invalidToken();
        if (claimed.email === user.email) {
          if (user.emailVerifiedAt) return user;
          return (await updateUser(tx, user.id, { emailVerifiedAt: now }))!;
        }
        // A token for an address the account no longer has or waits for (changed again since): worthless.
        if (claimed.email !== user.pendingEmail) throw invalidToken();
        const holder = await findUserByEmail(tx, claimed.email);
        if (holder) throw conflict('email_taken', 'An account with this email already exists.');
        return revokeCredentials(tx, user.id, now, { email: claimed.email, pendingEmail: null, emailVerifiedAt: now });
      });
    },
  };
}

export type EmailVerificationService = ReturnType<typeof createEmailVerificationService>;
