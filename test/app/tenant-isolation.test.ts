import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, call, type TestContext } from '../helpers/app.ts';
import {
  fixtures,
  KEY_REFUSED_COMPANY_ROUTES,
  listOperations,
  requestFor,
  roleKey,
  storedFiles,
} from '../helpers/route-fixtures.ts';
import { databaseFingerprint } from '../helpers/snapshot.ts';

/**
 * The tenant-isolation matrix, driven by the route table (the OpenAPI document generated from every route):
 * for each route whose path takes an id, a user of another company gets 404, and the database is unchanged.
 *
 * To plug a new resource in, see test/helpers/route-fixtures.ts (a fixture per path parameter, a body, a file);
 * list a route in NOT_TENANT_SCOPED only if its ids are global (reference data, public look-ups).
 * Stored files (avatars) must be unchanged too.
 *
 * Every route runs twice: with the outsider's token, and with an admin API key of the outsider's company. The key
 * gets the same 404 on company routes; on routes for signed-in users it gets 403 `api_key_not_allowed` instead.
 */

/** Routes whose path ids are not a tenant's resources. */
const NOT_TENANT_SCOPED = new Set(['getAccess']);

let ctx: TestContext;
beforeAll(async () => {
  ctx = await buildTestApp();
});
afterAll(() => ctx.close());

/**
 * The database's fingerprint, but for the keys' last_used_at: using a key writes it (at most once a minute), which
 * is bookkeeping of the caller's own key, not a change to company A.
 */
async function fingerprint() {
  const digest = await ctx.database.db.execute<{ digest: string }>(sql`
    select md5(coalesce(string_agg(t::text, '|' order by t::text), '')) as digest
    from (select id, company_id, access_id, name, prefix, secret_hash, created_by_user_id, created_at, expires_at,
                 revoked_at from api_keys) t`);
  return { ...(await databaseFingerprint(ctx.database)), api_keys: String(digest.rows[0]?.digest) };
}

describe('tenant isolation', () => {
  it('answers 404 to a user of another company, and to its key, on every route that takes an id, and changes nothing', async () => {
    const { team, values } = await fixtures(ctx);
    const operations = (await listOperations(ctx)).filter(
      (operation) => operation.path.includes('{') && !operation.public && !NOT_TENANT_SCOPED.has(operation.operationId),
    );
    expect(operations.length).toBeGreaterThan(5);
    const outsiderKey = await roleKey(ctx, team, 'outsider');

    const before = await fingerprint();
    const filesBefore = storedFiles(ctx);
    const failures: string[] = [];
    for (const operation of operations) {
      for (const [caller, token] of [
        ['outsider', team.outsider.token],
        ["outsider's key", outsiderKey],
      ] as const) {
        const { url, ...request } = await requestFor(ctx, operation, values, failures);
        const response = await call(ctx.app, operation.method, url, { token, ...request });
        // API.md: a key never reaches user-scoped routes (`/users/…`), nor those of the signed-in user.
        const userRoute =
          operation.permission === undefined ||
          operation.path.startsWith('/api/v1/users/') ||
          KEY_REFUSED_COMPANY_ROUTES.has(operation.operationId);
        const keyOnUserRoute = token === outsiderKey && userRoute;
        const expected = keyOnUserRoute ? '403 api_key_not_allowed' : '404';
        const got = keyOnUserRoute ? `${response.statusCode} ${response.body_json.code}` : `${response.statusCode}`;
        if (got !== expected) {
          failures.push(`${operation.method} ${url} (${operation.operationId}) answered ${caller} ${got}`);
        }
      }
    }
    expect(failures).toEqual([]);
    expect(await fingerprint()).toEqual(before);
    expect(storedFiles(ctx)).toEqual(filesBefore);
    expect(filesBefore.filter((file) => file.endsWith('.png'))).toHaveLength(2);
  });
});
