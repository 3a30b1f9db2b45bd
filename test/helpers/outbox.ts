import { desc, eq } from 'drizzle-orm';
import { outboxMessages } from '../../src/db/schema/index.ts';
import type { TestContext } from './app.ts';
import { runJobs } from './jobs.ts';

/** Mail is a queued job: deliver what is due (to the outbox: tests set no SMTP_URL), then read the newest to `to`. */
export async function waitForMail(ctx: TestContext, to: string) {
  await runJobs(ctx);
  const [row] = await ctx.database.db
    .select()
    .from(outboxMessages)
    .where(eq(outboxMessages.to, to))
    .orderBy(desc(outboxMessages.id))
    .limit(1);
  if (!row) throw new Error(`no mail to ${to}`);
  return row;
}

export async function mailCount(ctx: TestContext, to: string): Promise<number> {
  await runJobs(ctx);
  const rows = await ctx.database.db.select().from(outboxMessages).where(eq(outboxMessages.to, to));
  return rows.length;
}

/** The one-time token in the newest mail to `to` (verification, reset, invitation code). */
export async function tokenFromMail(ctx: TestContext, to: string): Promise<string> {
  const mail = await waitForMail(ctx, to);
  const token = /\n\n([A-Za-z0-9_-]{43})\n\n/.exec(mail.text)?.[1];
  if (!token) throw new Error(`no token in the mail to ${to}`);
  return token;
}
