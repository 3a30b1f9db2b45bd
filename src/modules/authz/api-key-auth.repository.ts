import { and, eq, isNull, lt, or, sql } from 'drizzle-orm';
import type { Executor } from '../../db/client.ts';
import { apiKeys } from '../../db/schema/index.ts';
import type { AccessCode } from '../../lib/permissions.ts';
import { companyChain } from './authz.repository.ts';

/*
 * Authenticating an API key: authorization's side of the api_keys table (modules/api-keys manages the keys). Here,
 * not there, so that authorization depends on no feature module and api-keys may use authorization's rules.
 */

/** What authenticating a key needs, in one round trip. */
export type KeyAuthRow = {
  id: number;
  company_id: number;
  secret_hash: string;
  created_by_user_id: number | null;
  code: AccessCode;
  /** Revoked, or expired at `now`. */
  dead: boolean;
  /** last_used_at is older than `staleBefore` (or was never set). */
  stale: boolean;
  /** Whether the company asked about exists (true when none was asked about). */
  company_exists: boolean;
  /** How far up the asked company's chain the key's company is: 0 (the same), 1 (its parent)…; null: not in it. */
  depth: number | null;
};

/**
 * The key with this secret hash, whatever its company: the only query on api_keys without a company_id, because
 * the secret is what tells the company (a 256-bit secret cannot be guessed into another tenant's key). With it, what
 * the request needs:
 * its access, whether it is dead, and where its company sits in `companyId`'s chain of ancestors.
 */
export async function findKeyForAuth(
  db: Executor,
  secretHash: string,
  companyId: number | undefined,
  now: Date,
  staleBefore: Date,
): Promise<KeyAuthRow | undefined> {
  // Without a company in the path, an empty chain: the key is authenticated, and placed nowhere.
  const chain =
    companyId === undefined
      ? sql`with chain(id, parent_company_id, depth) as (select null::bigint, null::bigint, 0 where false)`
      : companyChain(companyId);
  const result = await db.execute<KeyAuthRow>(sql`
    ${chain}
    select k.id, k.company_id, k.secret_hash, k.created_by_user_id, a.code,
      (k.revoked_at is not null or (k.expires_at is not null and k.expires_at <= ${now.toISOString()}::timestamptz))
        as dead,
      (k.last_used_at is null or k.last_used_at < ${staleBefore.toISOString()}::timestamptz) as stale,
      ${companyId === undefined ? sql`true` : sql`exists (select 1 from chain)`} as company_exists,
      (select min(chain.depth) from chain where chain.id = k.company_id) as depth
    from api_keys k join accesses a on a.id = k.access_id
    where k.secret_hash = ${secretHash}`);
  const row = result.rows[0];
  if (!row) return undefined;
  return {
    ...row,
    id: Number(row.id),
    company_id: Number(row.company_id),
    created_by_user_id: row.created_by_user_id === null ? null : Number(row.created_by_user_id),
    depth: row.depth === null ? null : Number(row.depth),
  };
}

/** At most one write per key per `staleBefore` window, even with requests racing on several processes. */
export async function touchLastUsed(
  db: Executor,
  key: { id: number; companyId: number },
  now: Date,
  staleBefore: Date,
): Promise<void> {
  await db
    .update(apiKeys)
    .set({ lastUsedAt: now })
    .where(
      and(
        eq(apiKeys.companyId, key.companyId),
        eq(apiKeys.id, key.id),
        or(isNull(apiKeys.lastUsedAt), lt(apiKeys.lastUsedAt, staleBefore)),
      ),
    );
}
