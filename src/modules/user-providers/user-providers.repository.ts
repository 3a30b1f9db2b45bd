import { and, asc, eq } from 'drizzle-orm';
import type { Executor } from '../../db/client.ts';
import { userProviders } from '../../db/schema/index.ts';

export type UserProviderRow = typeof userProviders.$inferSelect;

export function listUserProviders(db: Executor, userId: number): Promise<UserProviderRow[]> {
  return db
    .select()
    .from(userProviders)
    .where(eq(userProviders.userId, userId))
    .orderBy(asc(userProviders.linkedAt), asc(userProviders.id));
}

export async function findUserProvider(
  db: Executor,
  provider: string,
  subject: string,
): Promise<UserProviderRow | undefined> {
  const [row] = await db
    .select()
    .from(userProviders)
    .where(and(eq(userProviders.provider, provider), eq(userProviders.subject, subject)));
  return row;
}

export async function insertUserProvider(db: Executor, values: typeof userProviders.$inferInsert): Promise<void> {
  await db.insert(userProviders).values(values);
}

export async function updateUserProviderEmail(db: Executor, id: number, email: string): Promise<void> {
  await db.update(userProviders).set({ email }).where(eq(userProviders.id, id));
}
