import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, call, type TestContext } from '../helpers/app.ts';
import { fixtures, listOperations, requestFor, storedFiles } from '../helpers/route-fixtures.ts';
import { databaseFingerprint } from '../helpers/snapshot.ts';

/**
 * The tenant-isolation matrix, driven by the route table (the OpenAPI document generated from every route):
 * for each route whose path takes an id, a user of another company gets 404, and the database is unchanged.
 *
 * To plug a new resource in, see test/helpers/route-fixtures.ts (a fixture per path parameter, a body, a file);
 * list a route in NOT_TENANT_SCOPED only if its ids are global (reference data, public look-ups).
 * Stored files (avatars) must be unchanged too.
 */

/** Routes whose path ids are not a tenant's resources. */
const NOT_TENANT_SCOPED = new Set(['getAccess']);

let ctx: TestContext;
beforeAll(async () => {
  ctx = await buildTestApp();
});
afterAll(() => ctx.close());

describe('tenant isolation', () => {
  it('answers 404 to a user of another company on every route that takes an id, and changes nothing', async () => {
    const { team, values } = await fixtures(ctx);
    const operations = (await listOperations(ctx)).filter(
      (operation) => operation.path.includes('{') && !operation.public && !NOT_TENANT_SCOPED.has(operation.operationId),
    );
    expect(operations.length).toBeGreaterThan(5);

    const before = await databaseFingerprint(ctx.database);
    const filesBefore = storedFiles(ctx);
    const failures: string[] = [];
    for (const operation of operations) {
      const { url, ...request } = await requestFor(ctx, operation, values, failures);
      const response = await call(ctx.app, operation.method, url, { token: team.outsider.token, ...request });
      if (response.statusCode !== 404) {
        failures.push(`${operation.method} ${url} (${operation.operationId}) answered ${response.statusCode}`);
      }
    }
    expect(failures).toEqual([]);
    expect(await databaseFingerprint(ctx.database)).toEqual(before);
    expect(storedFiles(ctx)).toEqual(filesBefore);
    expect(filesBefore.filter((file) => file.endsWith('.png'))).toHaveLength(2);
  });
});
