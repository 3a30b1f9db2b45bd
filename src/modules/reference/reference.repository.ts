import { asc, eq } from 'drizzle-orm';
import type { Executor } from '../../db/client.ts';
import { accesses, stages } from '../../db/schema/index.ts';

export const listStages = (db: Executor) => db.select().from(stages).orderBy(asc(stages.position));

export const listAccesses = (db: Executor) => db.select().from(accesses).orderBy(asc(accesses.id));

export async function findAccess(db: Executor, id: number) {
  const [row] = await db.select().from(accesses).where(eq(accesses.id, id));
  return row;
}
