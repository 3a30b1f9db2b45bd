import { eq, sql } from 'drizzle-orm';
import type { Executor } from '../../db/client.ts';
import { companies, users } from '../../db/schema/index.ts';

/**
 * Sets a user's avatar key and returns the row with the key it replaced. The row is locked first, so two
 * concurrent uploads each learn the key they really replaced and no object is orphaned.
 */
export async function swapUserAvatar(tx: Executor, userId: number, key: string | null) {
  const [current] = await tx.select({ key: users.avatarKey }).from(users).where(eq(users.id, userId)).for('update');
  if (!current) return undefined;
  const [row] = await tx
    .update(users)
    .set({ avatarKey: key, updatedAt: sql`now()` })
    .where(eq(users.id, userId))
    .returning();
  return { row: row!, previous: current.key };
}

export async function swapCompanyAvatar(tx: Executor, companyId: number, key: string | null) {
  const [current] = await tx
    .select({ key: companies.avatarKey })
    .from(companies)
    .where(eq(companies.id, companyId))
    .for('update');
  if (!current) return undefined;
  const [row] = await tx
    .update(companies)
    .set({ avatarKey: key, updatedAt: sql`now()` })
    .where(eq(companies.id, companyId))
    .returning();
  return { row: row!, previous: current.key };
}
