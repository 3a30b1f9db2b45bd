import type { Executor } from '../../db/client.ts';
import { outboxMessages } from '../../db/schema/index.ts';
import type { MailMessage } from '../../lib/mailer.ts';

/** The embedded default's "delivery" without SMTP_URL: the message is kept for `npm run cli -- outbox`. */
export async function keepInOutbox(db: Executor, message: MailMessage): Promise<void> {
  await db.insert(outboxMessages).values(message);
}
