import type { Db } from '../../db/client.ts';
import { type JobHandler, PermanentJobError } from '../../jobs/runner.ts';
import { createMailer, type MailMessage } from '../../lib/mailer.ts';
import { mailSealer } from './mail.queue.ts';
import { keepInOutbox } from './mail.repository.ts';

/**
 * Delivers one queued mail. A failure (SMTP down) throws, so the runner retries it with backoff; the recipient and
 * the text never reach the log.
 */
export function createMailJob(deps: { db: Db; secret: string; smtpUrl: string | undefined; from: string }): JobHandler {
  const sealer = mailSealer(deps.secret);
  const mailer = createMailer({
    smtpUrl: deps.smtpUrl,
    from: deps.from,
    keep: (message) => keepInOutbox(deps.db, message),
  });
  // Without a pool, nodemailer opens one connection per message and closes it: nothing to close on shutdown.
  return async (job) => {
    const sealed = (job.payload as { sealed?: unknown }).sealed;
    const message = typeof sealed === 'string' ? sealer.open<MailMessage>(sealed) : undefined;
    // Sealed under another JWT_SECRET (rotated since) or damaged: no retry can open it.
    if (!message) throw new PermanentJobError('the queued mail cannot be opened with this JWT_SECRET');
    await mailer.send(message);
  };
}
