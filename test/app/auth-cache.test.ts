import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, call, type TestContext } from '../helpers/app.ts';
import { cacheProbes, until } from '../helpers/cache-probes.ts';
import {
  accessId,
  companyWithTeam,
  createCompany,
  createUser,
  grant,
  member,
  PASSWORD,
  subscribe,
} from '../helpers/factories.ts';

/**
 * The principal and access-chain cache (src/modules/authz/authz.cache.ts): it serves repeated requests, and every
 * change that revokes a token or an access — through the API or by hand in SQL — is seen within a second.
 */

let ctx: TestContext;
beforeAll(async () => {
  ctx = await buildTestApp();
  await until(() => ctx.app.authzCache.stats().enabled, 5_000);
});
afterAll(() => ctx.close());

const { status, warm, becomes, hits } = cacheProbes(() => ctx);
const validate = '/api/v1/users/validate_jwt';

describe('authorization cache', () => {
  it('turns on once its listener hears the probe', () => {
    expect(ctx.app.authzCache.stats().enabled).toBe(true);
  });

  it('serves repeated requests without the database, and a rolled-back change drops nothing', async () => {
    const { company, agent } = await companyWithTeam(ctx);
    const url = `/api/v1/companies/${company.id}`;
    await warm(agent, url);
    await warm(agent, validate);
    const { invalidations } = ctx.app.authzCache.stats();
    await ctx.database.db
      .transaction(async (tx) => {
        await tx.execute(sql`update users set token_version = token_version + 1 where id = ${agent.id}`);
        await tx.execute(sql`delete from user_accesses where user_id = ${agent.id}`);
        throw new Error('rollback');
      })
      .catch(() => {});
    // A committed change of someone else, heard: notifications come in commit order, so the rolled-back one would
    // have come first, had it come at all.
    const bystander = await createUser(ctx);
    await ctx.database.db.execute(sql`update users set token_version = token_version + 1 where id = ${bystander.id}`);
    await until(() => ctx.app.authzCache.stats().invalidations > invalidations, 1_000, 'the bystander notification');
    const before = hits();
    expect(await status(agent.token, url)).toBe(200);
    expect(await status(agent.token, validate)).toBe(200);
    expect(hits()).toBe(before + 3);
    expect(ctx.app.authzCache.stats().invalidations).toBe(invalidations + 1);
  });

  it('answers only grants from memory: a newer token or a new access is read again, never refused', async () => {
    const { company } = await companyWithTeam(ctx);
    const user = await createUser(ctx);
    const url = `/api/v1/companies/${company.id}`;
    await warm(user, validate);
    expect(await status(user.token, url)).toBe(404);
    const agentAccess = await accessId(ctx, 'agent');
    // With the triggers off, nothing tells the cache: only the rule "a refusal is read again" can let these through.
    await ctx.database.db.transaction(async (tx) => {
      await tx.execute(sql`alter table users disable trigger users_authz_update`);
      await tx.execute(sql`alter table user_accesses disable trigger user_accesses_authz_insert_delete`);
      await tx.execute(sql`update users set token_version = token_version + 1 where id = ${user.id}`);
      await tx.execute(sql`insert into user_accesses (user_id, company_id, access_id)
        values (${user.id}, ${company.id}, ${agentAccess})`);
      await tx.execute(sql`alter table users enable trigger users_authz_update`);
      await tx.execute(sql`alter table user_accesses enable trigger user_accesses_authz_insert_delete`);
    });
    // Unnotified, the cache still holds the old row: the old token passes from memory.
    expect(await status(user.token, validate)).toBe(200);
    const login = await call(ctx.app, 'POST', '/api/v1/users/login', {
      body: { email: user.email, password: PASSWORD },
    });
    const renewed = { ...user, token: login.body_json.token as string };
    expect(await status(renewed.token, validate)).toBe(200);
    expect(await status(renewed.token, url)).toBe(200);
    // That read stored the current row: now the old token is refused.
    expect(await status(user.token, validate)).toBe(401);
  });

  it('refuses the old token at once after a password change', async () => {
    const user = await createUser(ctx);
    await warm(user, validate);
    const changed = await call(ctx.app, 'PATCH', `/api/v1/users/${user.id}`, {
      token: user.token,
      body: { password: 'an entirely new passphrase', current_password: PASSWORD },
    });
    expect(changed.statusCode, changed.body).toBe(200);
    await becomes(user, validate, 401);
  });

  it('refuses a deactivated user at once, in a company route too', async () => {
    const { company, agent } = await companyWithTeam(ctx);
    const staff = await createUser(ctx, { superadmin: true });
    const url = `/api/v1/companies/${company.id}`;
    await warm(agent, url);
    const deactivated = await call(ctx.app, 'PATCH', `/api/v1/users/${agent.id}`, {
      token: staff.token,
      body: { status: 'inactive' },
    });
    expect(deactivated.statusCode, deactivated.body).toBe(200);
    await becomes(agent, url, 401);
    await becomes(agent, validate, 401);
  });

  it('sees an access removed', async () => {
    const { company, admin, agent } = await companyWithTeam(ctx);
    const url = `/api/v1/companies/${company.id}`;
    await warm(agent, url);
    const removed = await call(ctx.app, 'DELETE', `/api/v1/users/${agent.id}/user_access/${agent.userAccessId}`, {
      token: admin.token,
    });
    expect(removed.statusCode, removed.body).toBe(204);
    await becomes(agent, url, 404);
  });

  it('sees an access downgraded', async () => {
    const { company, admin, manager } = await companyWithTeam(ctx);
    const url = `/api/v1/companies/${company.id}/users`;
    await warm(manager, url);
    const changed = await call(ctx.app, 'PUT', `/api/v1/users/${manager.id}/user_access/${manager.userAccessId}`, {
      token: admin.token,
      body: { access_id: await accessId(ctx, 'agent') },
    });
    expect(changed.statusCode, changed.body).toBe(200);
    await becomes(manager, url, 403);
  });

  it('sees a token version bumped by hand in SQL', async () => {
    const { company, agent } = await companyWithTeam(ctx);
    const url = `/api/v1/companies/${company.id}`;
    await warm(agent, url);
    await warm(agent, validate);
    await ctx.database.db.execute(sql`update users set token_version = token_version + 1 where id = ${agent.id}`);
    await becomes(agent, url, 401);
    await becomes(agent, validate, 401);
  });

  it('sees an access granted by hand in SQL to someone who saw 404', async () => {
    const { company } = await companyWithTeam(ctx);
    const newcomer = await createUser(ctx);
    const url = `/api/v1/companies/${company.id}`;
    expect(await status(newcomer.token, url)).toBe(404);
    await grant(ctx, newcomer, company.id, 'agent');
    await becomes(newcomer, url, 200);
  });

  it('sees a company detached from its parent: the inherited access ends', async () => {
    const owner = await createUser(ctx);
    const parent = await createCompany(ctx, owner);
    await subscribe(ctx, parent.id);
    const child = await createCompany(ctx, owner, { parent_company_id: parent.id });
    const inheritor = await member(ctx, parent.id, 'manager');
    const url = `/api/v1/companies/${child.id}`;
    await warm(inheritor, url);
    await ctx.database.db.execute(sql`update companies set parent_company_id = null where id = ${child.id}`);
    await becomes(inheritor, url, 404);
  });
});
