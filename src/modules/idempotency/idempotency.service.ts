import { createHmac, hkdfSync, randomUUID } from 'node:crypto';
import type { Db } from '../../db/client.ts';
import type { Clock } from '../../lib/clock.ts';
import { AppError } from '../../lib/errors.ts';
import { createSealer } from '../../lib/sealed.ts';
import type { Begin, Claim, IdempotencyStore, StoredAnswer } from '../../plugins/idempotency.ts';
import {
  completeClaim,
  deleteExpired,
  findKey,
  type IdempotencyRow,
  insertClaim,
  releaseClaim,
  takeOver,
} from './idempotency.repository.ts';

/** How long a key is remembered (API.md: "within 24 h"), from its first use. */
export const IDEMPOTENCY_TTL_MS = 24 * 3_600_000;

const PRUNE_EVERY_MS = 60_000;
const PRUNE_BATCH = 1_000;
/** Rounds of "insert, else read" before giving up: each lost round means another request changed the row. */
const ATTEMPTS = 4;

export const keyReused = () =>
  new AppError(
    422,
    'idempotency_key_reused',
    'Unprocessable Content',
    'This Idempotency-Key was used with a different request (method, path, query or body) in the last 24 hours.',
    [{ field: 'idempotency-key', code: 'idempotency_key_reused', message: 'was used with a different request' }],
  );

export const keyInUse = () =>
  new AppError(
    409,
    'idempotency_key_in_use',
    'Conflict',
    'A request with this Idempotency-Key is still running; retry once it has finished.',
    undefined,
    { 'retry-after': '1' },
  );

/**
 * Idempotency keys (API.md "Integrations": Stripe's semantics). `staleAfterMs`: a running claim older than this
 * belongs to a process that died mid-request (its answer will never come), so another request may take it over.
 */
export function createIdempotencyService(deps: {
  db: Db;
  clock: Clock;
  secret: string;
  staleAfterMs: number;
}): IdempotencyStore {
  const { db, clock, staleAfterMs } = deps;
  // Stored answers can carry a secret shown once (an API key's or a webhook's, on creation): a dump of this table
  // must not reveal them, so answers wait sealed (AES-256-GCM, lib/sealed.ts) under the installation secret.
  const sealer = createSealer(deps.secret, 'idempotency v1');
  // Keyed, not a bare hash: a body can hold guessable personal data, and an unkeyed hash of it would confirm guesses.
  const fingerprintKey = Buffer.from(hkdfSync('sha256', deps.secret, Buffer.alloc(0), 'leadsy idempotency fp', 32));
  let lastPrune = 0;

  /** Expired keys go in small batches, at most once a minute per process, on the path of a claim. */
  async function prune(now: Date): Promise<void> {
    if (now.getTime() - lastPrune < PRUNE_EVERY_MS) return;
    lastPrune = now.getTime();
    await deleteExpired(db, new Date(now.getTime() - IDEMPOTENCY_TTL_MS), PRUNE_BATCH);
  }

  /** What the row says to a request with `fingerprint`: replay, refuse, or take over (`fresh`: as a new key). */
  function judge(row: IdempotencyRow, fingerprint: string, now: Date): Begin | { kind: 'take'; fresh: boolean } {
    if (row.createdAt.getTime() <= now.getTime() - IDEMPOTENCY_TTL_MS) return { kind: 'take', fresh: true };
    if (row.fingerprint !== fingerprint) throw keyReused();
    if (row.status !== null && row.response !== null) {
      const answer = sealer.open<StoredAnswer>(row.response);
      // Unreadable only after the installation secret was rotated: the key is then as good as forgotten.
      return answer ? { kind: 'replay', answer } : { kind: 'take', fresh: true };
    }
    if (row.claimedAt.getTime() < now.getTime() - staleAfterMs) return { kind: 'take', fresh: false };
    throw keyInUse();
  }

  return {
    /** A keyed digest of what makes two requests "the same" (the caller passes method, route, params, query, body). */
    fingerprint(parts: unknown[]): string {
      return createHmac('sha256', fingerprintKey).update(canonicalJson(parts)).digest('base64url');
    },

    /** Claims the key for this request, or returns the answer to replay; 422 for another request, 409 while running. */
    async begin(caller: string, key: string, fingerprint: string): Promise<Begin> {
      const now = clock.now();
      await prune(now);
      const claim = randomUUID();
      for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
        const inserted = await insertClaim(db, { caller, key, fingerprint, claim, now });
        if (inserted) return { kind: 'claimed', claim: { id: inserted.id, claim } };
        const row = await findKey(db, caller, key);
        // Released or pruned between the insert and the read: insert again.
        if (!row) continue;
        const verdict = judge(row, fingerprint, now);
        if (verdict.kind !== 'take') return verdict;
        const taken = await takeOver(db, row, { fingerprint, claim, now, fresh: verdict.fresh });
        if (taken) return { kind: 'claimed', claim: { id: taken.id, claim } };
        // Another request took it over (or completed it) first: judge the row again.
      }
      throw keyInUse();
    },

    /**
     * Stores the answer for replays. 5xx answers and 429s are not stored: they say nothing final about the request
     * (a retry may well succeed), so the key is released and a retry runs again, as Stripe does. Other 4xx answers
     * are final for this request and are stored like successes.
     */
    async complete(claim: Claim, answer: StoredAnswer): Promise<void> {
      if (answer.status >= 500 || answer.status === 429) return releaseClaim(db, claim.id, claim.claim);
      await completeClaim(db, claim.id, claim.claim, { status: answer.status, response: sealer.seal(answer) });
    },

    release(claim: Claim): Promise<void> {
      return releaseClaim(db, claim.id, claim.claim);
    },
  };
}

/** JSON with object keys sorted: `{"a":1,"b":2}` and `{"b":2,"a":1}` are the same request. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, item: unknown) => {
    if (item === null || typeof item !== 'object' || Array.isArray(item)) return item;
    const sorted: Record<string, unknown> = {};
    for (const name of Object.keys(item).sort()) sorted[name] = (item as Record<string, unknown>)[name];
    return sorted;
  });
}
