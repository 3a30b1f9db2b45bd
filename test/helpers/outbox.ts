import { desc, eq } from 'drizzle-orm';
import { outboxMessages } from '../../src/db/schema/index.ts';
import type { TestContext } from './app.ts';

/** Mail leaves in the background: wait (bounded) for the newest outbox message to `to`. */
export async function waitForMail(ctx: TestContext, to: string, attempts = 100) {
  for (let attempt = 0; attempt < attempts; attempt++) {
    const [row] = await ctx.database.db
      .select()
      .from(outboxMessages)
      .where(eq(outboxMessages.to, to))
      .orderBy(desc(outboxMessages.id))
      .limit(1);
    if (row) return row;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`no mail to ${to}`);
}

export async function mailCount(ctx: TestContext, to: string): Promise<number> {
  const rows = await ctx.database.db.select().from(outboxMessages).where(eq(outboxMessages.to, to));
  return rows.length;
}
