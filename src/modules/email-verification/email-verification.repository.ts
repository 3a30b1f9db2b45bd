import { and, count, eq, gt, gte, isNull } from 'drizzle-orm';
import type { Executor } from '../../db/client.ts';
import { emailVerifications } from '../../db/schema/index.ts';

export async function insertVerification(
  db: Executor,
  values: { userId: number; email: string; tokenHash: string; expiresAt: Date; createdAt: Date },
) {
  await db.insert(emailVerifications).values(values);
}

/** Verification tokens issued to a user since `since`: the per-account cap on verification mails. */
export async function countVerificationsSince(db: Executor, userId: number, since: Date): Promise<number> {
  const [row] = await db
    .select({ n: count() })
    .from(emailVerifications)
    .where(and(eq(emailVerifications.userId, userId), gte(emailVerifications.createdAt, since)));
  return Number(row?.n ?? 0);
}

/** Claims an unused, unexpired token: good for exactly one verification. */
export async function claimVerification(db: Executor, tokenHash: string, now: Date) {
  const [row] = await db
    .update(emailVerifications)
    .set({ usedAt: now })
    .where(
      and(
        eq(emailVerifications.tokenHash, tokenHash),
        isNull(emailVerifications.usedAt),
        gt(emailVerifications.expiresAt, now),
      ),
    )
    .returning({ userId: emailVerifications.userId, email: emailVerifications.email });
  return row;
}
