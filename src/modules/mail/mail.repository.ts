import { desc, eq } from 'drizzle-orm';
import type { Executor } from '../../db/client.ts';
import { jobs, outboxMessages } from '../../db/schema/index.ts';
import type { MailMessage } from '../../lib/mailer.ts';
import { MAIL_JOB } from './mail.queue.ts';

/** The embedded default's "delivery" without SMTP_URL: the message is kept for `npm run cli -- outbox`. */
export async function keepInOutbox(db: Executor, message: MailMessage): Promise<void> {
  await db.insert(outboxMessages).values(message);
}

/** The newest queued mails with their delivery state, for `npm run cli -- outbox` (the primary key walks back). */
export async function newestMailJobs(db: Executor, limit: number) {
  return db.select().from(jobs).where(eq(jobs.kind, MAIL_JOB)).orderBy(desc(jobs.id)).limit(limit);
}
