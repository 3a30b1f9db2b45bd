import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { legalTermAcceptances, legalTerms, users } from '../../src/db/schema/index.ts';
import { buildTestApp, call, type Json, type TestContext } from '../helpers/app.ts';
import { companyWithTeam, createUser, PASSWORD, type TestUser } from '../helpers/factories.ts';

let ctx: TestContext;
let terms: { tos: Json; privacy: Json };
beforeAll(async () => {
  ctx = await buildTestApp();
  const current = await call(ctx.app, 'GET', '/api/v1/legal_terms/current');
  const byKind = (kind: string) => current.body_json.legal_terms.find((term: Json) => term.kind === kind);
  terms = { tos: byKind('terms_of_service'), privacy: byKind('privacy') };
});
afterAll(() => ctx.close());

const accept = (user: TestUser, legalTermId: number, headers: Record<string, string> = {}, userId = user.id) =>
  call(ctx.app, 'POST', `/api/v1/users/${userId}/legal_terms`, {
    token: user.token,
    body: { legal_term_id: legalTermId },
    headers,
  });

const showUser = async (user: TestUser) =>
  (await call(ctx.app, 'GET', `/api/v1/users/${user.id}`, { token: user.token })).body_json.user as Json;

/** A new token for an existing user (after the test clock moved past the old token's expiry). */
async function login(user: TestUser): Promise<TestUser> {
  const response = await call(ctx.app, 'POST', '/api/v1/users/login', {
    body: { email: user.email, password: PASSWORD },
  });
  return { ...user, token: response.body_json.token as string };
}

describe('legal terms (public)', () => {
  it('lists the current version of each kind, without a token', async () => {
    const response = await call(ctx.app, 'GET', '/api/v1/legal_terms/current');
    expect(response.statusCode).toBe(200);
    const list = response.body_json.legal_terms as Json[];
    expect(list.map((term) => term.kind).sort()).toEqual(['privacy', 'terms_of_service']);
    for (const term of list) {
      expect(Object.keys(term)).toEqual(['id', 'kind', 'version', 'title', 'body', 'published_at']);
      expect(term.published_at).toMatch(/^\d{4}-\d{2}-\d{2}T/);
    }
  });

  it('shows one version by id; unknown ids are 404, malformed ones 422', async () => {
    const response = await call(ctx.app, 'GET', `/api/v1/legal_terms/${terms.tos.id}`);
    expect(response.statusCode).toBe(200);
    expect(response.body_json.legal_term).toEqual(terms.tos);
    expect((await call(ctx.app, 'GET', '/api/v1/legal_terms/999999')).statusCode).toBe(404);
    expect((await call(ctx.app, 'GET', '/api/v1/legal_terms/abc')).statusCode).toBe(422);
  });
});

describe('approve T&C', () => {
  it('records the acceptance with time, IP and user agent, and flips the user flag once every kind is accepted', async () => {
    const user = await createUser(ctx);
    expect((await showUser(user)).legal_terms_accepted).toBe(false);

    const first = await accept(user, terms.tos.id, { 'user-agent': 'LeadsyTest/1.0' });
    expect(first.statusCode).toBe(201);
    const acceptance = first.body_json.legal_term_acceptance;
    expect(Object.keys(acceptance)).toEqual([
      'id',
      'legal_term_id',
      'kind',
      'version',
      'accepted_at',
      'ip',
      'user_agent',
    ]);
    expect(acceptance).toMatchObject({
      legal_term_id: terms.tos.id,
      kind: 'terms_of_service',
      version: terms.tos.version,
      ip: '127.0.0.1',
      user_agent: 'LeadsyTest/1.0',
    });
    expect(Math.abs(Date.parse(acceptance.accepted_at) - ctx.clock.now().getTime())).toBeLessThan(60_000);
    expect((await showUser(user)).legal_terms_accepted).toBe(false);

    expect((await accept(user, terms.privacy.id)).statusCode).toBe(201);
    const shown = await showUser(user);
    expect(shown.legal_terms_accepted).toBe(true);
    expect(Object.keys(shown).slice(0, 11)).toEqual([
      'id',
      'first_name',
      'last_name',
      'email',
      'status',
      'lang',
      'theme',
      'currency',
      'birthdate',
      'full_name',
      'avatar_route',
    ]);
  });

  it('answers 200 with the first acceptance when the same version is accepted again', async () => {
    const user = await createUser(ctx);
    const first = await accept(user, terms.tos.id, { 'user-agent': 'first' });
    const again = await accept(user, terms.tos.id, { 'user-agent': 'second' });
    expect(again.statusCode).toBe(200);
    expect(again.body_json.legal_term_acceptance).toEqual(first.body_json.legal_term_acceptance);
    const rows = await ctx.database.db
      .select()
      .from(legalTermAcceptances)
      .where(eq(legalTermAcceptances.userId, user.id));
    expect(rows).toHaveLength(1);
  });

  it('cuts a long user agent to 512 characters', async () => {
    const user = await createUser(ctx);
    const response = await accept(user, terms.privacy.id, { 'user-agent': 'x'.repeat(2000) });
    expect(response.statusCode).toBe(201);
    expect(response.body_json.legal_term_acceptance.user_agent).toHaveLength(512);
  });

  it('answers 404 for an unknown version and 422 for a bad body', async () => {
    const user = await createUser(ctx);
    expect((await accept(user, 999_999)).statusCode).toBe(404);
    const missing = await call(ctx.app, 'POST', `/api/v1/users/${user.id}/legal_terms`, {
      token: user.token,
      body: {},
    });
    expect(missing.statusCode).toBe(422);
    expect(missing.body_json.errors).toMatchObject([{ field: 'legal_term_id', code: 'required' }]);
    const extra = await call(ctx.app, 'POST', `/api/v1/users/${user.id}/legal_terms`, {
      token: user.token,
      body: { legal_term_id: terms.tos.id, accepted_at: '2020-01-01T00:00:00Z' },
    });
    expect(extra.statusCode).toBe(422);
    expect(extra.body_json.errors).toMatchObject([{ field: 'accepted_at', code: 'unknown_field' }]);
  });

  it('is for oneself only: 401 without a token, 403 for a visible user, 404 for an invisible one', async () => {
    const team = await companyWithTeam(ctx);
    const anonymous = await call(ctx.app, 'POST', `/api/v1/users/${team.agent.id}/legal_terms`, {
      body: { legal_term_id: terms.tos.id },
    });
    expect(anonymous.statusCode).toBe(401);
    // The admin can see the agent (a member of their company), but cannot accept for them.
    expect((await accept(team.admin, terms.tos.id, {}, team.agent.id)).statusCode).toBe(403);
    expect((await accept(team.outsider, terms.tos.id, {}, team.agent.id)).statusCode).toBe(404);
    const staff = await createUser(ctx, { superadmin: true });
    expect((await accept(staff, terms.tos.id, {}, team.agent.id)).statusCode).toBe(403);
    const rows = await ctx.database.db
      .select()
      .from(legalTermAcceptances)
      .where(eq(legalTermAcceptances.userId, team.agent.id));
    expect(rows).toEqual([]);
  });

  it('gives every user of a list the flag', async () => {
    const team = await companyWithTeam(ctx);
    await accept(team.agent, terms.tos.id);
    await accept(team.agent, terms.privacy.id);
    const response = await call(ctx.app, 'GET', '/api/v1/users?limit=100', { token: team.admin.token });
    expect(response.statusCode).toBe(200);
    const flags = Object.fromEntries(
      (response.body_json.users as Json[]).map((user) => [user.id, user.legal_terms_accepted]),
    );
    expect(flags).toEqual({ [team.admin.id]: false, [team.manager.id]: false, [team.agent.id]: true });
  });
});

describe('onboarding', () => {
  const complete = (user: TestUser, body: unknown, userId = user.id) =>
    call(ctx.app, 'PUT', `/api/v1/users/${userId}/onboarding`, { token: user.token, body });

  it('stores the completion time once and answers the user', async () => {
    const user = await createUser(ctx);
    expect((await showUser(user)).onboarding_completed_at).toBeNull();
    const response = await complete(user, { completed: true });
    expect(response.statusCode).toBe(200);
    const completedAt = response.body_json.user.onboarding_completed_at as string;
    expect(Math.abs(Date.parse(completedAt) - ctx.clock.now().getTime())).toBeLessThan(60_000);
    expect(response.body_json.user).toMatchObject({ id: user.id, legal_terms_accepted: false });

    const again = await complete(user, { completed: true });
    expect(again.statusCode).toBe(200);
    expect(again.body_json.user.onboarding_completed_at).toBe(completedAt);
    expect((await showUser(user)).onboarding_completed_at).toBe(completedAt);
  });

  it('refuses completed:false, a missing flag and unknown fields (422)', async () => {
    const user = await createUser(ctx);
    for (const body of [{ completed: false }, {}, { completed: true, onboarding_completed_at: null }]) {
      expect((await complete(user, body)).statusCode).toBe(422);
    }
    const [row] = await ctx.database.db.select().from(users).where(eq(users.id, user.id));
    expect(row!.onboardingCompletedAt).toBeNull();
  });

  it('is for oneself only: 401, 403 for a visible user, 404 for an invisible one', async () => {
    const team = await companyWithTeam(ctx);
    const anonymous = await call(ctx.app, 'PUT', `/api/v1/users/${team.agent.id}/onboarding`, {
      body: { completed: true },
    });
    expect(anonymous.statusCode).toBe(401);
    expect((await complete(team.manager, { completed: true }, team.agent.id)).statusCode).toBe(403);
    expect((await complete(team.outsider, { completed: true }, team.agent.id)).statusCode).toBe(404);
    expect((await complete(team.agent, { completed: true }, 999_999)).statusCode).toBe(404);
    const [row] = await ctx.database.db.select().from(users).where(eq(users.id, team.agent.id));
    expect(row!.onboardingCompletedAt).toBeNull();
  });
});

// Moves the test clock: keep last in this file.
describe('a new version', () => {
  it('is scheduled until its publication time, then becomes current and must be accepted again', async () => {
    const user = await createUser(ctx);
    await accept(user, terms.tos.id);
    await accept(user, terms.privacy.id);
    const late = await createUser(ctx);
    const day = 86_400_000;
    const [next] = await ctx.database.db
      .insert(legalTerms)
      .values({
        kind: 'terms_of_service',
        version: 'next',
        title: 'Leadsy Terms of Service',
        body: 'New terms.',
        publishedAt: new Date(ctx.clock.now().getTime() + 10 * day),
      })
      .returning();

    // Scheduled: invisible, not current, not acceptable.
    expect((await call(ctx.app, 'GET', `/api/v1/legal_terms/${next!.id}`)).statusCode).toBe(404);
    const before = await call(ctx.app, 'GET', '/api/v1/legal_terms/current');
    expect(before.body_json.legal_terms.map((term: Json) => term.id)).not.toContain(next!.id);
    expect((await accept(user, next!.id)).statusCode).toBe(404);

    ctx.clock.advance(11 * day);
    const relogged = await login(user);
    const after = await call(ctx.app, 'GET', '/api/v1/legal_terms/current');
    expect(after.body_json.legal_terms.map((term: Json) => term.id).sort()).toEqual(
      [next!.id, terms.privacy.id].sort(),
    );
    expect((await showUser(relogged)).legal_terms_accepted).toBe(false);

    // The superseded version stays readable but can no longer be accepted.
    expect((await call(ctx.app, 'GET', `/api/v1/legal_terms/${terms.tos.id}`)).statusCode).toBe(200);
    const superseded = await accept(await login(late), terms.tos.id);
    expect(superseded.statusCode).toBe(422);
    expect(superseded.body_json.code).toBe('legal_term_superseded');

    expect((await accept(relogged, next!.id)).statusCode).toBe(201);
    expect((await showUser(relogged)).legal_terms_accepted).toBe(true);
  });
});
