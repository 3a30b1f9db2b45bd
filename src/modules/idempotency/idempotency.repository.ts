import { and, eq, inArray, lt } from 'drizzle-orm';
import type { Executor } from '../../db/client.ts';
import { idempotencyKeys } from '../../db/schema/index.ts';

export type IdempotencyRow = typeof idempotencyKeys.$inferSelect;
export type NewClaim = { caller: string; key: string; fingerprint: string; claim: string; now: Date };

/**
 * Claims (caller, key) for a first request: the unique index decides between processes racing for the same key, so
 * exactly one insert wins. Undefined when the key exists already (the caller then reads it with findKey).
 */
export async function insertClaim(db: Executor, claim: NewClaim): Promise<IdempotencyRow | undefined> {
  const [row] = await db
    .insert(idempotencyKeys)
    .values({
      caller: claim.caller,
      key: claim.key,
      fingerprint: claim.fingerprint,
      claim: claim.claim,
      createdAt: claim.now,
      claimedAt: claim.now,
    })
    .onConflictDoNothing({ target: [idempotencyKeys.caller, idempotencyKeys.key] })
    .returning();
  return row;
}

export async function findKey(db: Executor, caller: string, key: string): Promise<IdempotencyRow | undefined> {
  const [row] = await db
    .select()
    .from(idempotencyKeys)
    .where(and(eq(idempotencyKeys.caller, caller), eq(idempotencyKeys.key, key)));
  return row;
}

/**
 * Takes over a key whose row is expired, unreadable or a dead process's claim: compare-and-set on the claim seen,
 * so of two requests taking over the same row only one succeeds. `fresh` restarts the 24 h (an expired key is a
 * new key); otherwise the first use's time is kept.
 */
export async function takeOver(
  db: Executor,
  seen: IdempotencyRow,
  next: { fingerprint: string; claim: string; now: Date; fresh: boolean },
): Promise<IdempotencyRow | undefined> {
  const [row] = await db
    .update(idempotencyKeys)
    .set({
      fingerprint: next.fingerprint,
      claim: next.claim,
      claimedAt: next.now,
      ...(next.fresh ? { createdAt: next.now } : {}),
      status: null,
      response: null,
    })
    .where(and(eq(idempotencyKeys.id, seen.id), eq(idempotencyKeys.claim, seen.claim)))
    .returning();
  return row;
}

/** Stores the answer; a claim taken over in the meantime (this process looked dead) is left to its new holder. */
export async function completeClaim(
  db: Executor,
  id: number,
  claim: string,
  answer: { status: number; response: string },
): Promise<void> {
  await db
    .update(idempotencyKeys)
    .set(answer)
    .where(and(eq(idempotencyKeys.id, id), eq(idempotencyKeys.claim, claim)));
}

/** Gives the key back, so that a retry runs the request again. */
export async function releaseClaim(db: Executor, id: number, claim: string): Promise<void> {
  await db.delete(idempotencyKeys).where(and(eq(idempotencyKeys.id, id), eq(idempotencyKeys.claim, claim)));
}

/** Deletes up to `limit` keys first used before `before` (oldest first, through the created_at index). */
export async function deleteExpired(db: Executor, before: Date, limit: number): Promise<number> {
  const oldest = db
    .select({ id: idempotencyKeys.id })
    .from(idempotencyKeys)
    .where(lt(idempotencyKeys.createdAt, before))
    .orderBy(idempotencyKeys.createdAt)
    .limit(limit);
  const deleted = await db
    .delete(idempotencyKeys)
    .where(inArray(idempotencyKeys.id, oldest))
    .returning({ id: idempotencyKeys.id });
  return deleted.length;
}
