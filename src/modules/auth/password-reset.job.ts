import type { Config } from '../../config.ts';
import type { Db } from '../../db/client.ts';
import { type JobHandler, PermanentJobError } from '../../jobs/runner.ts';
import type { Clock } from '../../lib/clock.ts';
import { createSealer } from '../../lib/sealed.ts';
import { randomToken, sha256 } from '../../lib/secrets.ts';
import type { MailQueue } from '../mail/mail.queue.ts';
import { findUserByEmail } from '../users/users.repository.ts';
import { countPasswordResetsSince, insertPasswordReset } from './auth.repository.ts';

export const PASSWORD_RESET_JOB = 'password_reset';
/** Reset mails one account may be sent in an hour, whoever asks: the address cannot be flooded. */
export const RESETS_PER_HOUR = 3;
const HOUR_MS = 3_600_000;

// The address waits in the queue sealed: a dump of the jobs table does not list who asked for resets.
export const passwordResetSealer = (secret: string) => createSealer(secret, 'password reset v1');

/**
 * A reset request, worked off the response path: looks the address up, applies the per-account cap, and writes the
 * token with its mail in one transaction (a retry after a failure inserts nothing twice).
 */
export function createPasswordResetJob(deps: {
  db: Db;
  clock: Clock;
  mail: MailQueue;
  secret: string;
  config: Pick<Config, 'appUrl' | 'passwordResetTtlSeconds'>;
}): JobHandler {
  const sealer = passwordResetSealer(deps.secret);
  return async (job) => {
    const sealed = (job.payload as { sealed?: unknown }).sealed;
    const request = typeof sealed === 'string' ? sealer.open<{ email: string }>(sealed) : undefined;
    if (!request) throw new PermanentJobError('the reset request cannot be opened with this JWT_SECRET');
    const user = await findUserByEmail(deps.db, request.email);
    if (!user || user.status === 'inactive') return;
    const now = deps.clock.now();
    if ((await countPasswordResetsSince(deps.db, user.id, new Date(now.getTime() - HOUR_MS))) >= RESETS_PER_HOUR) {
      return;
    }
    const token = randomToken();
    const ttl = deps.config.passwordResetTtlSeconds;
    await deps.db.transaction(async (tx) => {
      await insertPasswordReset(tx, {
        userId: user.id,
        tokenHash: sha256(token),
        expiresAt: new Date(now.getTime() + ttl * 1000),
        createdAt: now,
      });
      await deps.mail.enqueue(tx, {
        to: user.email,
        subject: 'Reset your Leadsy password',
        text:
          `Hello ${user.firstName},\n\nSomeone asked to reset the password of your Leadsy account. ` +
          `If it was you, use this one-time token within ${Math.round(ttl / 60)} minutes:\n\n${token}\n\n` +
          `or open ${deps.config.appUrl}/reset-password?token=${token}\n\n` +
          'If it was not you, ignore this message: your password stays as it is.\n',
      });
    });
  };
}
