import type { Config } from '../../config.ts';
import type { Db } from '../../db/client.ts';
import { enqueue } from '../../jobs/queue.ts';
import type { Clock } from '../../lib/clock.ts';
import { normalizeEmail } from '../../lib/email.ts';
import { AppError, unauthorized } from '../../lib/errors.ts';
import { hashPassword, verifyPassword } from '../../lib/passwords.ts';
import type { Principal } from '../../lib/permissions.ts';
import { sha256 } from '../../lib/secrets.ts';
import type { TokenService } from '../../lib/tokens.ts';
import type { MailQueue } from '../mail/mail.queue.ts';
import { revokeCredentials } from '../users/credentials.repository.ts';
import { findUserByEmail, findUserById, type UserRow } from '../users/users.repository.ts';
import { claimPasswordReset, clearLoginFailures, lockLogin, recordLoginFailure } from './auth.repository.ts';
import { LOCK_AFTER, lockMsAfter } from './login-throttle.ts';
import { PASSWORD_RESET_JOB, passwordResetSealer } from './password-reset.job.ts';

// One answer for an unknown address, a wrong password, a deactivated account and a locked one: none is an oracle.
const invalidCredentials = () =>
  new AppError(401, 'invalid_credentials', 'Unauthorized', 'The email or password is incorrect.');

export function createAuthService(deps: {
  db: Db;
  tokens: TokenService;
  mail: MailQueue;
  clock: Clock;
  secret: string;
  config: Pick<Config, 'appUrl'>;
}) {
  const { db, clock } = deps;
  const sealer = passwordResetSealer(deps.secret);

  /** Counts the failure; the one that starts a lock also mails the owner, in the same transaction. */
  async function recordFailure(user: UserRow, now: Date) {
    await db.transaction(async (tx) => {
      const failures = await recordLoginFailure(tx, user.id);
      const lockMs = lockMsAfter(failures);
      if (lockMs === 0) return;
      await lockLogin(tx, user.id, new Date(now.getTime() + lockMs));
      if (failures < LOCK_AFTER) return;
      await deps.mail.enqueue(tx, {
        to: user.email,
        subject: 'Sign-in to your Leadsy account is paused',
        text:
          `Hello ${user.firstName},\n\nAfter ${failures} failed sign-in attempts in a row, sign-in to your Leadsy ` +
          `account is paused for ${Math.round(lockMs / 60_000)} minutes. If it was you, wait and try again, or ` +
          `reset your password at ${deps.config.appUrl}/reset-password.\nIf it was not you, your password held; ` +
          'consider changing it to a longer one.\n',
      });
    });
  }

  return {
    /** The same argon2 work whatever the account's state, so timing tells nothing either. */
    async login(email: string, password: string) {
      const user = await findUserByEmail(db, normalizeEmail(email));
      const matches = await verifyPassword(user?.passwordHash, password);
      if (!user || user.status === 'inactive') throw invalidCredentials();
      const now = clock.now();
      if (user.lockedUntil && user.lockedUntil > now) throw invalidCredentials();
      if (!matches) {
        await recordFailure(user, now);
        throw invalidCredentials();
      }
      if (user.failedLogins > 0 || user.lockedUntil) await clearLoginFailures(db, user.id);
      const { token, expiresAt } = await deps.tokens.sign(user.id, user.tokenVersion);
      return { token, expiresAt, user };
    },

    async validate(principal: Principal) {
      const user = await findUserById(db, principal.userId);
      if (!user) throw unauthorized();
      return user;
    },

    /**
     * Always accepted, whether or not the address is known (no enumeration): the request only queues a job, the
     * same insert for any address, and the job looks the account up, applies the per-account cap and mails.
     */
    async requestPasswordReset(email: string): Promise<void> {
      await enqueue(db, {
        kind: PASSWORD_RESET_JOB,
        payload: { sealed: sealer.seal({ email: normalizeEmail(email) }) },
      });
    },

    /** Proves the mailbox too: the account's address becomes verified, and a login lock ends. */
    async confirmPasswordReset(token: string, password: string) {
      const passwordHash = await hashPassword(password);
      return db.transaction(async (tx) => {
        const now = clock.now();
        const claimed = await claimPasswordReset(tx, sha256(token), now);
        if (!claimed) {
          throw new AppError(422, 'invalid_token', 'Unprocessable Content', 'The reset token is invalid or expired.', [
            { field: 'token', code: 'invalid_token', message: 'is invalid, used or expired' },
          ]);
        }
        const user = (await findUserById(tx, claimed.userId))!;
        return revokeCredentials(tx, claimed.userId, now, {
          passwordHash,
          emailVerifiedAt: user.emailVerifiedAt ?? now,
          failedLogins: 0,
          lockedUntil: null,
        });
      });
    },
  };
}

export type AuthService = ReturnType<typeof createAuthService>;
