import type { Config } from '../../config.ts';
import type { Db } from '../../db/client.ts';
import type { Clock } from '../../lib/clock.ts';
import { normalizeEmail } from '../../lib/email.ts';
import { AppError, unauthorized } from '../../lib/errors.ts';
import type { Mailer } from '../../lib/mailer.ts';
import { hashPassword, verifyPassword } from '../../lib/passwords.ts';
import { randomToken, sha256 } from '../../lib/secrets.ts';
import type { TokenService } from '../../lib/tokens.ts';
import type { Principal } from '../authz/authz.service.ts';
import { findUserByEmail, findUserById } from '../users/users.repository.ts';
import type { UsersService } from '../users/users.service.ts';
import { claimPasswordReset, insertPasswordReset, resetPassword } from './auth.repository.ts';

const invalidCredentials = () =>
  new AppError(401, 'invalid_credentials', 'Unauthorized', 'The email or password is incorrect.');

export function createAuthService(deps: {
  db: Db;
  tokens: TokenService;
  mailer: Mailer;
  clock: Clock;
  users: UsersService;
  config: Pick<Config, 'publicUrl' | 'passwordResetTtlSeconds'>;
}) {
  const { db, clock } = deps;

  return {
    /** One answer, and the same argon2 work, for an unknown email, a wrong password and a deactivated user. */
    async login(email: string, password: string) {
      const user = await findUserByEmail(db, normalizeEmail(email));
      const matches = await verifyPassword(user?.passwordHash, password);
      if (!user || !matches || user.status === 'inactive') throw invalidCredentials();
      const { token, expiresAt } = await deps.tokens.sign(user.id, user.tokenVersion);
      return { token, expiresAt, user };
    },

    async validate(principal: Principal) {
      const user = await findUserById(db, principal.userId);
      if (!user) throw unauthorized();
      return user;
    },

    /**
     * Always accepted, whether or not the address is known (no enumeration). The mail leaves after the token is
     * stored and off the response path, so a known address does not answer measurably slower.
     */
    async requestPasswordReset(email: string): Promise<void> {
      const user = await findUserByEmail(db, normalizeEmail(email));
      if (!user || user.status === 'inactive') return;
      const token = randomToken();
      const expiresAt = new Date(clock.now().getTime() + deps.config.passwordResetTtlSeconds * 1000);
      await insertPasswordReset(db, user.id, sha256(token), expiresAt);
      const minutes = Math.round(deps.config.passwordResetTtlSeconds / 60);
      deps.mailer.sendLater({
        to: user.email,
        subject: 'Reset your Leadsy password',
        text:
          `Hello ${user.firstName},\n\nSomeone asked to reset the password of your Leadsy account. ` +
          `If it was you, use this one-time token within ${minutes} minutes:\n\n${token}\n\n` +
          `or open ${deps.config.publicUrl}/reset-password?token=${token}\n\n` +
          'If it was not you, ignore this message: your password stays as it is.\n',
      });
    },

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
        return resetPassword(tx, claimed.userId, passwordHash, now);
      });
    },
  };
}

export type AuthService = ReturnType<typeof createAuthService>;
