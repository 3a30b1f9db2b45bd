import type { Executor } from '../../db/client.ts';
import { enqueue } from '../../jobs/queue.ts';
import type { MailMessage } from '../../lib/mailer.ts';
import { createSealer, type Sealer } from '../../lib/sealed.ts';

export const MAIL_JOB = 'mail';
/** With the queue's backoff (2 s doubling, capped at 5 min) this keeps trying for about 45 minutes. */
const MAIL_ATTEMPTS = 16;

export const mailSealer = (secret: string): Sealer => createSealer(secret, 'mail v1');

/**
 * Mail is a job written in the caller's transaction: it exists exactly when the change that causes it commits, and
 * the job runner delivers it with retries. The message (it may carry a one-time token) is sealed at rest.
 */
export function createMailQueue(deps: { secret: string }) {
  const sealer = mailSealer(deps.secret);
  return {
    /** The message of a queued mail job, or undefined if it was sealed under another secret. */
    open: (payload: Record<string, unknown>) =>
      typeof payload.sealed === 'string' ? sealer.open<MailMessage>(payload.sealed) : undefined,
    async enqueue(tx: Executor, message: MailMessage): Promise<void> {
      await enqueue(tx, { kind: MAIL_JOB, payload: { sealed: sealer.seal(message) }, maxAttempts: MAIL_ATTEMPTS });
    },
  };
}

export type MailQueue = ReturnType<typeof createMailQueue>;
