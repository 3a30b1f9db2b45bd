import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, call, type Json, type TestContext } from '../helpers/app.ts';
import { accessId, companyWithTeam } from '../helpers/factories.ts';
import { databaseFingerprint } from '../helpers/snapshot.ts';

/**
 * The tenant-isolation matrix, driven by the route table (the OpenAPI document generated from every route):
 * for each route whose path takes an id, a user of another company gets 404, and the database is unchanged.
 *
 * To plug a new resource in:
 * - add the id of a company A resource for each new path parameter to `fixtures` below;
 * - add a valid body to BODIES for each new route whose body has required fields (so that validation passes
 *   and the tenancy check is what answers);
 * - list a route in NOT_TENANT_SCOPED only if its ids are global (reference data, public look-ups).
 */
type Fixtures = Record<string, number | string>;

async function fixtures(ctx: TestContext) {
  const team = await companyWithTeam(ctx);
  const values: Fixtures = {
    company_id: team.company.id,
    user_id: team.agent.id,
    user_access_id: team.agent.userAccessId,
  };
  return { team, values };
}

const BODIES: Record<string, (f: Fixtures, ctx: TestContext) => Promise<Json> | Json> = {
  createUserAccess: async (f, ctx) => ({ company_id: f.company_id, access_id: await accessId(ctx, 'manager') }),
  updateUserAccess: async (_f, ctx) => ({ access_id: await accessId(ctx, 'admin') }),
  updateUser: () => ({ first_name: 'Changed' }),
  patchUser: () => ({ first_name: 'Changed' }),
  updateCompany: () => ({ name: 'Changed' }),
};

/** Routes whose path ids are not a tenant's resources. */
const NOT_TENANT_SCOPED = new Set(['getAccess']);

type Operation = { method: string; path: string; operationId: string; hasRequiredBody: boolean };

function tenantScopedOperations(document: Json): Operation[] {
  const operations: Operation[] = [];
  for (const [path, methods] of Object.entries(document.paths as Record<string, Record<string, Json>>)) {
    if (!path.includes('{')) continue;
    for (const [method, operation] of Object.entries(methods)) {
      if (NOT_TENANT_SCOPED.has(operation.operationId)) continue;
      if (Array.isArray(operation.security) && operation.security.length === 0) continue; // public
      const schema = operation.requestBody?.content?.['application/json']?.schema;
      operations.push({
        method: method.toUpperCase(),
        path,
        operationId: operation.operationId,
        hasRequiredBody: Array.isArray(schema?.required) && schema.required.length > 0,
      });
    }
  }
  return operations;
}

let ctx: TestContext;
beforeAll(async () => {
  ctx = await buildTestApp();
});
afterAll(() => ctx.close());

describe('tenant isolation', () => {
  it('answers 404 to a user of another company on every route that takes an id, and changes nothing', async () => {
    const { team, values } = await fixtures(ctx);
    const document = (await call(ctx.app, 'GET', '/openapi.json')).body_json;
    const operations = tenantScopedOperations(document);
    expect(operations.length).toBeGreaterThan(5);

    const before = await databaseFingerprint(ctx.database);
    const failures: string[] = [];
    for (const operation of operations) {
      const url = operation.path.replace(/\{(\w+)\}/g, (_match, name: string) => {
        if (!(name in values)) failures.push(`${operation.operationId}: no fixture for path parameter "${name}"`);
        return String(values[name] ?? 0);
      });
      const bodyOf = BODIES[operation.operationId];
      if (operation.hasRequiredBody && !bodyOf) failures.push(`${operation.operationId}: no body in BODIES`);
      const body = bodyOf ? await bodyOf(values, ctx) : undefined;
      const response = await call(ctx.app, operation.method, url, { token: team.outsider.token, body });
      if (response.statusCode !== 404) {
        failures.push(`${operation.method} ${url} (${operation.operationId}) answered ${response.statusCode}`);
      }
    }
    expect(failures).toEqual([]);
    expect(await databaseFingerprint(ctx.database)).toEqual(before);
  });
});
