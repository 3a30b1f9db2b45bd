import { and, eq, isNull, sql } from 'drizzle-orm';
import type { PgUpdateSetSource } from 'drizzle-orm/pg-core';
import type { Executor } from '../../db/client.ts';
import { emailVerifications, passwordResets, users } from '../../db/schema/index.ts';
import { revokeFeeds } from '../appointments/appointments.repository.ts';
import type { UserRow } from './users.repository.ts';

/**
 * Ends every credential of the user's old state, with `values` written in the same statement: issued JWTs (the
 * token version), calendar-feed tokens, and outstanding reset and verification tokens. For a password change or
 * reset, an email change, a deactivation, and an unproven account claimed by a verified identity.
 */
export async function revokeCredentials(
  db: Executor,
  userId: number,
  now: Date,
  values: PgUpdateSetSource<typeof users> = {},
): Promise<UserRow> {
  await db
    .update(passwordResets)
    .set({ usedAt: now })
    .where(and(eq(passwordResets.userId, userId), isNull(passwordResets.usedAt)));
  await db
    .update(emailVerifications)
    .set({ usedAt: now })
    .where(and(eq(emailVerifications.userId, userId), isNull(emailVerifications.usedAt)));
  await revokeFeeds(db, userId, now);
  const [row] = await db
    .update(users)
    .set({ ...values, tokenVersion: sql`${users.tokenVersion} + 1`, updatedAt: now })
    .where(eq(users.id, userId))
    .returning();
  return row!;
}
