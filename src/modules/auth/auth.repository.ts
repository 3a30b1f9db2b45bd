import { and, count, eq, gt, gte, isNull, sql } from 'drizzle-orm';
import type { Executor } from '../../db/client.ts';
import { passwordResets, users } from '../../db/schema/index.ts';

export async function insertPasswordReset(
  db: Executor,
  values: { userId: number; tokenHash: string; expiresAt: Date; createdAt: Date },
) {
  await db.insert(passwordResets).values(values);
}

/** Reset tokens issued to a user since `since`: the per-account cap on reset mails. */
export async function countPasswordResetsSince(db: Executor, userId: number, since: Date): Promise<number> {
  const [row] = await db
    .select({ n: count() })
    .from(passwordResets)
    .where(and(eq(passwordResets.userId, userId), gte(passwordResets.createdAt, since)));
  return Number(row?.n ?? 0);
}

/** Claims an unused, unexpired reset token; the row lock makes a token good for exactly one reset. */
export async function claimPasswordReset(db: Executor, tokenHash: string, now: Date) {
  const [row] = await db
    .update(passwordResets)
    .set({ usedAt: now })
    .where(
      and(eq(passwordResets.tokenHash, tokenHash), isNull(passwordResets.usedAt), gt(passwordResets.expiresAt, now)),
    )
    .returning({ userId: passwordResets.userId });
  return row;
}

/** One more consecutive failed login; the new count, read and written in one statement under concurrency. */
export async function recordLoginFailure(db: Executor, userId: number): Promise<number> {
  const [row] = await db
    .update(users)
    .set({ failedLogins: sql`${users.failedLogins} + 1` })
    .where(eq(users.id, userId))
    .returning({ failedLogins: users.failedLogins });
  return row?.failedLogins ?? 0;
}

export async function lockLogin(db: Executor, userId: number, until: Date): Promise<void> {
  await db.update(users).set({ lockedUntil: until }).where(eq(users.id, userId));
}

export async function clearLoginFailures(db: Executor, userId: number): Promise<void> {
  await db.update(users).set({ failedLogins: 0, lockedUntil: null }).where(eq(users.id, userId));
}
