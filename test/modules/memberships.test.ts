import { randomBytes } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { invitations, memberships, subscriptions } from '../../src/db/schema/index.ts';
import { addMonths } from '../../src/modules/memberships/memberships.service.ts';
import { buildTestApp, call, type Json, type TestContext } from '../helpers/app.ts';
import {
  accessId,
  companyWithTeam,
  createCompany,
  createUser,
  grant,
  member,
  PASSWORD,
  type TestUser,
  uniqueEmail,
} from '../helpers/factories.ts';
import { databaseFingerprint } from '../helpers/snapshot.ts';

let ctx: TestContext;
let plans: Record<string, Json>;
beforeAll(async () => {
  // Subscription mechanics are tested with self-service on; the default (staff attach paid plans) has its own app.
  ctx = await buildTestApp({ PLAN_SELF_SERVICE: 'true' });
  const list = await call(ctx.app, 'GET', '/api/v1/memberships');
  plans = Object.fromEntries((list.body_json.memberships as Json[]).map((plan) => [plan.code, plan]));
});
afterAll(() => ctx.close());

const DAY = 86_400_000;

const attach = (user: TestUser, companyId: number, membershipId: number) =>
  call(ctx.app, 'POST', `/api/v1/companies/${companyId}/membership`, {
    token: user.token,
    body: { membership_id: membershipId },
  });
const cancel = (user: TestUser, companyId: number) =>
  call(ctx.app, 'DELETE', `/api/v1/companies/${companyId}/membership`, { token: user.token });
const current = (user: TestUser, companyId: number) =>
  call(ctx.app, 'GET', `/api/v1/companies/${companyId}/membership`, { token: user.token });
const companyPlan = async (user: TestUser, companyId: number) =>
  (await call(ctx.app, 'GET', `/api/v1/companies/${companyId}`, { token: user.token })).body_json.company.membership;

/** Grants `user` an access through the API (where the seat limit is enforced). */
const grantThroughApi = async (admin: TestUser, user: TestUser, companyId: number) =>
  call(ctx.app, 'POST', `/api/v1/users/${user.id}/user_access`, {
    token: admin.token,
    body: { company_id: companyId, access_id: await accessId(ctx, 'agent') },
  });

/** A pending invitation, written directly (the invitations module is tested on its own). */
async function pendingInvitation(companyId: number, expiresInMs = 7 * DAY) {
  const [row] = await ctx.database.db
    .insert(invitations)
    .values({
      companyId,
      email: uniqueEmail('invited'),
      accessId: await accessId(ctx, 'agent'),
      codeHash: randomBytes(32).toString('hex'),
      expiresAt: new Date(ctx.clock.now().getTime() + expiresInMs),
    })
    .returning();
  return row!;
}

async function login(user: TestUser): Promise<TestUser> {
  const response = await call(ctx.app, 'POST', '/api/v1/users/login', {
    body: { email: user.email, password: PASSWORD },
  });
  return { ...user, token: response.body_json.token as string };
}

/** A company on the free plan, administered by a new user, who also runs a second company (`home`). */
async function freeCompany() {
  const admin = await createUser(ctx);
  const company = await createCompany(ctx, admin);
  const home = await createCompany(ctx, admin);
  // A person the admin may grant an access to: a member of a company they administer (consent to membership).
  const colleague = async () => {
    const user = await createUser(ctx);
    await grant(ctx, user, home.id, 'agent');
    return user;
  };
  return { admin, company, colleague };
}

describe('plans (public)', () => {
  it('lists the plans on offer, cheapest first, without a token', async () => {
    const response = await call(ctx.app, 'GET', '/api/v1/memberships');
    expect(response.statusCode).toBe(200);
    const list = response.body_json.memberships as Json[];
    expect(list.map((plan) => plan.code)).toEqual(['free', 'team', 'business', 'enterprise']);
    expect(Object.keys(list[0]!)).toEqual([
      'id',
      'code',
      'name',
      'price_cents',
      'currency',
      'interval',
      'max_users',
      'max_leads_per_month',
      'max_invitations_per_day',
      'max_storage_bytes',
    ]);
    expect(list[0]).toMatchObject({
      code: 'free',
      price_cents: 0,
      interval: 'month',
      max_users: 3,
      max_invitations_per_day: 20,
      max_storage_bytes: 100 * 1024 * 1024,
    });
    expect(list[3]).toMatchObject({ code: 'enterprise', interval: 'year', max_users: null, max_storage_bytes: null });
  });

  it('shows one plan; unknown ids are 404, malformed ones 422', async () => {
    const response = await call(ctx.app, 'GET', `/api/v1/memberships/${plans.team!.id}`);
    expect(response.statusCode).toBe(200);
    expect(response.body_json.membership).toEqual(plans.team);
    expect((await call(ctx.app, 'GET', '/api/v1/memberships/999999')).statusCode).toBe(404);
    expect((await call(ctx.app, 'GET', '/api/v1/memberships/0')).statusCode).toBe(422);
  });
});

describe('company membership', () => {
  it('shows the implicit free plan without a subscription, to every member', async () => {
    const { admin, company } = await freeCompany();
    const agent = await member(ctx, company.id, 'agent');
    for (const user of [admin, agent]) {
      const response = await current(user, company.id);
      expect(response.statusCode).toBe(200);
      expect(response.body_json).toEqual({ subscription: null, membership: plans.free });
    }
    expect(company.membership).toEqual(plans.free);
    expect((await call(ctx.app, 'GET', `/api/v1/companies/${company.id}/membership`)).statusCode).toBe(401);
    const stranger = await createUser(ctx);
    expect((await current(stranger, company.id)).statusCode).toBe(404);
  });

  it('attaches a plan for one period from now and shows it in the company JSON', async () => {
    const { admin, company } = await freeCompany();
    const response = await attach(admin, company.id, plans.team!.id);
    expect(response.statusCode).toBe(201);
    const { subscription } = response.body_json;
    expect(Object.keys(subscription)).toEqual([
      'id',
      'company_id',
      'status',
      'membership',
      'current_period_start',
      'current_period_end',
      'canceled_at',
    ]);
    expect(subscription).toMatchObject({
      company_id: company.id,
      status: 'active',
      membership: plans.team,
      canceled_at: null,
    });
    const start = new Date(subscription.current_period_start);
    expect(Math.abs(start.getTime() - ctx.clock.now().getTime())).toBeLessThan(60_000);
    expect(subscription.current_period_end).toBe(addMonths(start, 1).toISOString());

    expect((await current(admin, company.id)).body_json).toEqual({ subscription, membership: plans.team });
    expect(await companyPlan(admin, company.id)).toEqual(plans.team);
  });

  it('gives a yearly plan a one-year period', async () => {
    const { admin, company } = await freeCompany();
    const response = await attach(admin, company.id, plans.enterprise!.id);
    expect(response.statusCode).toBe(201);
    const { subscription } = response.body_json;
    expect(subscription.current_period_end).toBe(
      addMonths(new Date(subscription.current_period_start), 12).toISOString(),
    );
  });

  it('replaces the current subscription when the plan changes; the same plan again changes nothing', async () => {
    const { admin, company } = await freeCompany();
    const first = (await attach(admin, company.id, plans.team!.id)).body_json.subscription;
    const second = await attach(admin, company.id, plans.business!.id);
    expect(second.statusCode).toBe(201);
    expect(second.body_json.subscription).toMatchObject({ status: 'active', membership: { code: 'business' } });
    expect(second.body_json.subscription.id).not.toBe(first.id);

    const rows = await ctx.database.db.select().from(subscriptions).where(eq(subscriptions.companyId, company.id));
    const old = rows.find((row) => row.id === first.id)!;
    expect(old.status).toBe('ended');
    expect(old.endedAt).not.toBeNull();
    expect(rows.filter((row) => row.status !== 'ended')).toHaveLength(1);

    const same = await attach(admin, company.id, plans.business!.id);
    expect(same.statusCode).toBe(200);
    expect(same.body_json.subscription).toEqual(second.body_json.subscription);
    expect(await companyPlan(admin, company.id)).toEqual(plans.business);
  });

  it('lists companies with their plans', async () => {
    const { admin, company } = await freeCompany();
    const other = await createCompany(ctx, admin);
    await attach(admin, other.id, plans.team!.id);
    const response = await call(ctx.app, 'GET', '/api/v1/companies', { token: admin.token });
    const byId = Object.fromEntries((response.body_json.companies as Json[]).map((c) => [c.id, c.membership]));
    expect(byId).toMatchObject({ [company.id]: plans.free, [other.id]: plans.team });
  });

  it('refuses attach to non-admins (403), strangers (404), without a token (401), for unknown or bad plans', async () => {
    const team = await companyWithTeam(ctx);
    const before = await databaseFingerprint(ctx.database);
    expect((await attach(team.manager, team.company.id, plans.team!.id)).statusCode).toBe(403);
    expect((await attach(team.agent, team.company.id, plans.team!.id)).statusCode).toBe(403);
    expect((await attach(team.outsider, team.company.id, plans.team!.id)).statusCode).toBe(404);
    const anonymous = await call(ctx.app, 'POST', `/api/v1/companies/${team.company.id}/membership`, {
      body: { membership_id: plans.team!.id },
    });
    expect(anonymous.statusCode).toBe(401);
    expect((await attach(team.admin, team.company.id, 999_999)).statusCode).toBe(404);
    const invalid = await call(ctx.app, 'POST', `/api/v1/companies/${team.company.id}/membership`, {
      token: team.admin.token,
      body: { membership_id: plans.team!.id, status: 'active' },
    });
    expect(invalid.statusCode).toBe(422);
    expect(invalid.body_json.errors).toMatchObject([{ field: 'status', code: 'unknown_field' }]);
    expect(await databaseFingerprint(ctx.database)).toEqual(before);
  });

  it('refuses a plan no longer offered (422 membership_unavailable)', async () => {
    const [retired] = await ctx.database.db
      .insert(memberships)
      .values({ code: 'legacy', name: 'Legacy', priceCents: 900, currency: 'USD', interval: 'month', active: false })
      .returning();
    const list = await call(ctx.app, 'GET', '/api/v1/memberships');
    expect((list.body_json.memberships as Json[]).map((plan) => plan.code)).not.toContain('legacy');
    expect((await call(ctx.app, 'GET', `/api/v1/memberships/${retired!.id}`)).statusCode).toBe(200);
    const { admin, company } = await freeCompany();
    const response = await attach(admin, company.id, retired!.id);
    expect(response.statusCode).toBe(422);
    expect(response.body_json.code).toBe('membership_unavailable');
  });
});

describe('plan limits', () => {
  it('refuses a 4th seat on the free plan (pending invitations count) and writes nothing', async () => {
    const { admin, company, colleague } = await freeCompany();
    await member(ctx, company.id, 'agent');
    const invitation = await pendingInvitation(company.id);
    const candidate = await colleague();

    const before = await databaseFingerprint(ctx.database);
    const refused = await grantThroughApi(admin, candidate, company.id);
    expect(refused.statusCode).toBe(422);
    expect(refused.body_json).toMatchObject({
      code: 'plan_limit_reached',
      errors: [{ field: 'max_users', code: 'plan_limit_reached' }],
    });
    expect(await databaseFingerprint(ctx.database)).toEqual(before);

    // The invitation withdrawn, the third seat is free again; the next one is not.
    await ctx.database.db
      .update(invitations)
      .set({ deletedAt: ctx.clock.now() })
      .where(eq(invitations.id, invitation.id));
    expect((await grantThroughApi(admin, candidate, company.id)).statusCode).toBe(201);
    expect((await grantThroughApi(admin, await colleague(), company.id)).statusCode).toBe(422);
  });

  it('does not count an expired invitation', async () => {
    const { admin, company, colleague } = await freeCompany();
    await member(ctx, company.id, 'agent');
    await pendingInvitation(company.id, -DAY);
    expect((await grantThroughApi(admin, await colleague(), company.id)).statusCode).toBe(201);
  });

  it('refuses a plan smaller than the seats in use (422 plan_limit_reached), changing nothing', async () => {
    const team = await companyWithTeam(ctx); // admin, manager, agent on the business plan
    await pendingInvitation(team.company.id);
    const before = await databaseFingerprint(ctx.database);
    const response = await attach(team.admin, team.company.id, plans.free!.id);
    expect(response.statusCode).toBe(422);
    expect(response.body_json).toMatchObject({
      code: 'plan_limit_reached',
      errors: [{ field: 'membership_id', code: 'plan_limit_reached' }],
    });
    expect(await databaseFingerprint(ctx.database)).toEqual(before);
    // Exactly at the limit fits.
    const small = await freeCompany();
    await member(ctx, small.company.id, 'agent');
    await member(ctx, small.company.id, 'agent');
    expect((await attach(small.admin, small.company.id, plans.free!.id)).statusCode).toBe(201);
  });
});

describe('addMonths', () => {
  it('keeps the day of the month, or the last day of a shorter month', () => {
    expect(addMonths(new Date('2026-01-31T10:00:00Z'), 1).toISOString()).toBe('2026-02-28T10:00:00.000Z');
    expect(addMonths(new Date('2028-01-31T10:00:00Z'), 1).toISOString()).toBe('2028-02-29T10:00:00.000Z');
    expect(addMonths(new Date('2026-11-15T00:00:00Z'), 2).toISOString()).toBe('2027-01-15T00:00:00.000Z');
    expect(addMonths(new Date('2026-02-28T00:00:00Z'), 12).toISOString()).toBe('2027-02-28T00:00:00.000Z');
  });
});

// These move the test clock (tokens are renewed with `login`): keep them last in this file.
describe('over time', () => {
  it('keeps a canceled plan until its period end, then falls back to the free plan and its limits', async () => {
    const { company, colleague, ...fresh } = await freeCompany();
    let admin = fresh.admin;
    const attached = (await attach(admin, company.id, plans.team!.id)).body_json.subscription;
    await member(ctx, company.id, 'agent');
    await member(ctx, company.id, 'agent');

    const canceled = await cancel(admin, company.id);
    expect(canceled.statusCode).toBe(200);
    expect(canceled.body_json.subscription).toMatchObject({
      id: attached.id,
      status: 'canceled',
      current_period_end: attached.current_period_end,
    });
    expect(canceled.body_json.subscription.canceled_at).not.toBeNull();
    // Canceling again answers the same subscription.
    expect((await cancel(admin, company.id)).body_json).toEqual(canceled.body_json);

    // Still on the team plan until the period ends: a 4th member fits.
    expect((await current(admin, company.id)).body_json).toEqual({
      subscription: canceled.body_json.subscription,
      membership: plans.team,
    });
    expect((await grantThroughApi(admin, await colleague(), company.id)).statusCode).toBe(201);

    ctx.clock.advance(32 * DAY);
    admin = await login(admin);
    expect((await current(admin, company.id)).body_json).toEqual({ subscription: null, membership: plans.free });
    expect(await companyPlan(admin, company.id)).toEqual(plans.free);
    const refused = await grantThroughApi(admin, await colleague(), company.id);
    expect(refused.statusCode).toBe(422);
    expect(refused.body_json.code).toBe('plan_limit_reached');
    expect((await cancel(admin, company.id)).statusCode).toBe(404);

    // Subscribing again ends the lapsed row at its own period end.
    expect((await attach(admin, company.id, plans.business!.id)).statusCode).toBe(201);
    const [old] = await ctx.database.db.select().from(subscriptions).where(eq(subscriptions.id, attached.id));
    expect(old!.status).toBe('ended');
    expect(old!.endedAt!.toISOString()).toBe(attached.current_period_end);
  });

  it('renews an active subscription: the period shown is the one containing now', async () => {
    const { company, ...fresh } = await freeCompany();
    let admin = fresh.admin;
    const attached = (await attach(admin, company.id, plans.team!.id)).body_json.subscription;
    const start = new Date(attached.current_period_start);
    ctx.clock.advance(40 * DAY);
    admin = await login(admin);
    const response = await current(admin, company.id);
    expect(response.body_json.subscription).toMatchObject({
      id: attached.id,
      status: 'active',
      current_period_start: addMonths(start, 1).toISOString(),
      current_period_end: addMonths(start, 2).toISOString(),
    });
    expect(response.body_json.membership).toEqual(plans.team);
    // Canceling keeps the plan until the end of the period in course, not the first one.
    const canceled = await cancel(admin, company.id);
    expect(canceled.body_json.subscription.current_period_end).toBe(addMonths(start, 2).toISOString());
    expect(await companyPlan(admin, company.id)).toEqual(plans.team);
  });

  it('answers 404 to canceling without a subscription, 403 to non-admins, 401 without a token', async () => {
    const { admin, company } = await freeCompany();
    expect((await cancel(admin, company.id)).statusCode).toBe(404);
    await attach(admin, company.id, plans.team!.id);
    const agent = await member(ctx, company.id, 'agent');
    expect((await cancel(agent, company.id)).statusCode).toBe(403);
    expect((await call(ctx.app, 'DELETE', `/api/v1/companies/${company.id}/membership`)).statusCode).toBe(401);
    const rows = await ctx.database.db.select().from(subscriptions).where(eq(subscriptions.companyId, company.id));
    expect(rows.map((row) => row.status)).toEqual(['active']);
  });
});

describe('paid plans without PLAN_SELF_SERVICE (the default)', () => {
  let staffed: TestContext;
  beforeAll(async () => {
    staffed = await buildTestApp();
  });
  afterAll(() => staffed.close());

  it('lets platform staff attach a paid plan, and an admin only move to the free plan or cancel', async () => {
    const admin = await createUser(staffed);
    const company = await createCompany(staffed, admin);
    const staff = await createUser(staffed, { superadmin: true });
    const url = `/api/v1/companies/${company.id}/membership`;
    const post = (user: TestUser, code: string) =>
      call(staffed.app, 'POST', url, { token: user.token, body: { membership_id: plans[code]!.id } });

    const before = await databaseFingerprint(staffed.database);
    const refused = await post(admin, 'team');
    expect(refused.statusCode).toBe(403);
    expect(refused.body_json.code).toBe('payment_required');
    expect(await databaseFingerprint(staffed.database)).toEqual(before);

    expect((await post(staff, 'team')).statusCode).toBe(201);
    expect((await post(admin, 'free')).statusCode).toBe(201);
    expect((await post(staff, 'business')).statusCode).toBe(201);
    const canceled = await call(staffed.app, 'DELETE', url, { token: admin.token });
    expect(canceled.statusCode).toBe(200);
    expect(canceled.body_json.subscription.status).toBe('canceled');
  });
});
