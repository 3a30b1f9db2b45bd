import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { invitations, memberships, users } from '../../src/db/schema/index.ts';
import { sha256 } from '../../src/lib/secrets.ts';
import { buildTestApp, call, type Json, type Response, type TestContext } from '../helpers/app.ts';
import {
  accessId,
  companyWithTeam,
  createCompany,
  createUser,
  grant,
  PASSWORD,
  subscribe,
  type TestUser,
  uniqueEmail,
} from '../helpers/factories.ts';
import { mailCount, waitForMail } from '../helpers/outbox.ts';

const DAY = 86_400_000;
const INVITATION_KEYS = ['id', 'company', 'email', 'access', 'invited_by', 'status', 'expires_at', 'created_at'];

let ctx: TestContext;
beforeAll(async () => {
  ctx = await buildTestApp();
});
afterAll(() => ctx.close());

const url = (companyId: number) => `/api/v1/companies/${companyId}/invitations`;

async function invite(token: string, companyId: number, email: string, access: 'admin' | 'manager' | 'agent') {
  return call(ctx.app, 'POST', url(companyId), {
    token,
    body: { email, access_id: await accessId(ctx, access) },
  });
}

/** Invites and returns the 201's invitation (with its code). */
async function invited(
  token: string,
  companyId: number,
  email = uniqueEmail('invitee'),
  access: 'admin' | 'manager' | 'agent' = 'agent',
) {
  const response = await invite(token, companyId, email, access);
  expect(response.statusCode, response.body).toBe(201);
  return response.body_json.invitation as Json;
}

/** A fresh token: after the clock moves past the JWT lifetime, earlier tokens are expired. */
async function relogin(user: TestUser): Promise<TestUser> {
  const login = await call(ctx.app, 'POST', '/api/v1/users/login', { body: { email: user.email, password: PASSWORD } });
  expect(login.statusCode).toBe(200);
  return { ...user, token: login.body_json.token as string };
}

const lookup = (code: string) => call(ctx.app, 'GET', `/api/v1/invitations/${code}`);
const accept = (token: string, code: string) => call(ctx.app, 'POST', `/api/v1/invitations/${code}/accept`, { token });

/** What a client can tell apart in a problem answer (the request id differs by design). */
const problemOf = (response: Response) => {
  const { request_id: _ignored, ...rest } = response.body_json;
  return { http_status: response.statusCode, content_type: response.headers['content-type'], ...rest };
};

describe('POST /api/v1/companies/{company_id}/invitations', () => {
  it('201: an admin invites with any access; the code is shown once, stored hashed, and emailed', async () => {
    const { company, admin } = await companyWithTeam(ctx);
    const email = uniqueEmail('Jane.Doe');
    const before = Date.now();
    const response = await invite(admin.token, company.id, email.toUpperCase(), 'manager');

    expect(response.statusCode).toBe(201);
    const invitation = response.body_json.invitation;
    expect(Object.keys(invitation)).toEqual([...INVITATION_KEYS, 'code']);
    expect(invitation).toMatchObject({
      company: { id: company.id, name: company.name, avatar_route: null },
      email: email.toLowerCase(),
      access: { id: await accessId(ctx, 'manager'), code: 'manager', name: 'Manager' },
      invited_by: { id: admin.id, full_name: 'Test User' },
      status: 'pending',
    });
    // ≥ 128 random bits: randomToken() is 32 bytes in base64url.
    expect(invitation.code).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const ttl = Date.parse(invitation.expires_at) - before;
    expect(ttl).toBeGreaterThanOrEqual(7 * DAY - 1000);
    expect(ttl).toBeLessThanOrEqual(7 * DAY + 60_000);

    const [row] = await ctx.database.db.select().from(invitations).where(eq(invitations.id, invitation.id));
    expect(row!.codeHash).toBe(sha256(invitation.code));
    expect(JSON.stringify(row)).not.toContain(invitation.code);

    const mail = await waitForMail(ctx, email.toLowerCase());
    expect(mail.subject).toContain(company.name);
    expect(mail.text).toContain('Test User');
    expect(mail.text).toContain('Manager');
    expect(mail.text).toContain(invitation.code);
    expect(mail.text).toContain(`http://leadsy.test/invitations/${invitation.code}`);
  });

  it('managers invite agents only (403 for manager or admin access)', async () => {
    const { company, manager } = await companyWithTeam(ctx);
    expect((await invite(manager.token, company.id, uniqueEmail(), 'agent')).statusCode).toBe(201);
    for (const access of ['manager', 'admin'] as const) {
      const response = await invite(manager.token, company.id, uniqueEmail(), access);
      expect(response.statusCode).toBe(403);
      expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    }
  });

  it('403 for an agent, 404 for an outsider, 401 without a token', async () => {
    const { company, agent, outsider } = await companyWithTeam(ctx);
    expect((await invite(agent.token, company.id, uniqueEmail(), 'agent')).statusCode).toBe(403);
    expect((await invite(outsider.token, company.id, uniqueEmail(), 'agent')).statusCode).toBe(404);
    const anonymous = await call(ctx.app, 'POST', url(company.id), { body: { email: uniqueEmail(), access_id: 1 } });
    expect(anonymous.statusCode).toBe(401);
  });

  it('404 for an unknown access; 422 for an invalid body', async () => {
    const { company, admin } = await companyWithTeam(ctx);
    const unknown = await call(ctx.app, 'POST', url(company.id), {
      token: admin.token,
      body: { email: uniqueEmail(), access_id: 999_999 },
    });
    expect(unknown.statusCode).toBe(404);
    const bad = await call(ctx.app, 'POST', url(company.id), {
      token: admin.token,
      body: { email: 'not-an-email', access_id: 0, code: 'chosen' },
    });
    expect(bad.statusCode).toBe(422);
    expect(bad.body_json.code).toBe('validation_failed');
  });

  it('422 already_member for an address that already has an access in the company', async () => {
    const { company, admin, agent } = await companyWithTeam(ctx);
    const response = await invite(admin.token, company.id, agent.email.toUpperCase(), 'manager');
    expect(response.statusCode).toBe(422);
    expect(response.body_json.code).toBe('already_member');
    expect(response.body_json.errors).toEqual([expect.objectContaining({ field: 'email', code: 'already_member' })]);
  });

  it('re-inviting a pending address replaces its code: the old one stops working', async () => {
    const { company, admin } = await companyWithTeam(ctx);
    const email = uniqueEmail();
    const first = await invited(admin.token, company.id, email);
    const second = await invited(admin.token, company.id, email.toUpperCase(), 'manager');

    expect(second.code).not.toBe(first.code);
    expect((await lookup(first.code)).statusCode).toBe(404);
    expect((await lookup(second.code)).statusCode).toBe(200);
    const list = await call(ctx.app, 'GET', url(company.id), { token: admin.token });
    const forEmail = list.body_json.invitations.filter((row: Json) => row.email === email);
    expect(forEmail).toEqual([
      expect.objectContaining({ id: second.id, access: expect.objectContaining({ code: 'manager' }) }),
    ]);
    const deleteOld = await call(ctx.app, 'DELETE', `${url(company.id)}/${first.id}`, { token: admin.token });
    expect(deleteOld.statusCode).toBe(404);
  });

  it('a manager cannot replace an invitation with an access they may not give (403, old code kept)', async () => {
    const { company, admin, manager } = await companyWithTeam(ctx);
    const email = uniqueEmail();
    const byAdmin = await invited(admin.token, company.id, email, 'manager');
    const response = await invite(manager.token, company.id, email, 'agent');
    expect(response.statusCode).toBe(403);
    expect((await lookup(byAdmin.code)).statusCode).toBe(200);
  });
});

describe('the plan limit (free plan: 3 seats; pending invitations take one)', () => {
  it('refuses the invitation that would cross max_users, and counts a replacement once', async () => {
    const owner = await createUser(ctx);
    const company = await createCompany(ctx, owner); // no subscription: the free plan, the owner takes seat 1
    const a = await invited(owner.token, company.id);
    const b = await invited(owner.token, company.id);

    const third = await invite(owner.token, company.id, uniqueEmail(), 'agent');
    expect(third.statusCode).toBe(422);
    expect(third.body_json.code).toBe('plan_limit_reached');
    const pendingNow = await call(ctx.app, 'GET', url(company.id), { token: owner.token });
    expect(pendingNow.body_json.invitations.map((row: Json) => row.id)).toEqual([a.id, b.id]);

    // Re-inviting a pending address does not take a second seat.
    const replaced = await invited(owner.token, company.id, a.email);
    // Accepting turns the held seat into a member: still full, and accepting is not refused.
    const invitee = await createUser(ctx, { email: b.email });
    expect((await accept(invitee.token, b.code)).statusCode).toBe(201);
    expect((await invite(owner.token, company.id, uniqueEmail(), 'agent')).statusCode).toBe(422);
    // Deleting frees the seat.
    const removed = await call(ctx.app, 'DELETE', `${url(company.id)}/${replaced.id}`, { token: owner.token });
    expect(removed.statusCode).toBe(204);
    expect((await invite(owner.token, company.id, uniqueEmail(), 'agent')).statusCode).toBe(201);
  });
});

describe('GET /api/v1/companies/{company_id}/invitations', () => {
  it('lists pending invitations only, without codes, keyset paginated', async () => {
    const { company, admin, manager } = await companyWithTeam(ctx);
    const kept = [await invited(admin.token, company.id), await invited(manager.token, company.id)];
    const deleted = await invited(admin.token, company.id);
    await call(ctx.app, 'DELETE', `${url(company.id)}/${deleted.id}`, { token: admin.token });
    const acceptedOne = await invited(admin.token, company.id);
    const invitee = await createUser(ctx, { email: acceptedOne.email });
    expect((await accept(invitee.token, acceptedOne.code)).statusCode).toBe(201);
    const last = await invited(admin.token, company.id);

    const all = await call(ctx.app, 'GET', `${url(company.id)}?count=true`, { token: manager.token });
    expect(all.statusCode).toBe(200);
    expect(all.body_json.invitations.map((row: Json) => row.id)).toEqual([kept[0]!.id, kept[1]!.id, last.id]);
    expect(all.body_json.meta).toEqual({ next_cursor: null, limit: 25, total: 3 });
    for (const row of all.body_json.invitations) {
      expect(Object.keys(row)).toEqual(INVITATION_KEYS);
      expect(row.status).toBe('pending');
    }
    expect(all.body).not.toContain(kept[0]!.code);
    expect(all.body_json.invitations[1].invited_by).toEqual({ id: manager.id, full_name: 'Test User' });

    const page1 = await call(ctx.app, 'GET', `${url(company.id)}?limit=2`, { token: admin.token });
    expect(page1.body_json.invitations).toHaveLength(2);
    const page2 = await call(
      ctx.app,
      'GET',
      `${url(company.id)}?limit=2&cursor=${page1.body_json.meta.next_cursor as string}`,
      { token: admin.token },
    );
    expect(page2.body_json.invitations.map((row: Json) => row.id)).toEqual([last.id]);
    expect(page2.body_json.meta.next_cursor).toBeNull();
  });

  it('403 for an agent, 404 for an outsider, 401 without a token, 422 for a bad cursor', async () => {
    const { company, admin, agent, outsider } = await companyWithTeam(ctx);
    expect((await call(ctx.app, 'GET', url(company.id), { token: agent.token })).statusCode).toBe(403);
    expect((await call(ctx.app, 'GET', url(company.id), { token: outsider.token })).statusCode).toBe(404);
    expect((await call(ctx.app, 'GET', url(company.id))).statusCode).toBe(401);
    const bad = await call(ctx.app, 'GET', `${url(company.id)}?cursor=nonsense`, { token: admin.token });
    expect(bad.statusCode).toBe(422);
  });
});

describe('DELETE /api/v1/companies/{company_id}/invitations/{invitation_id}', () => {
  it('204: the invitation disappears and its code stops working', async () => {
    const { company, admin } = await companyWithTeam(ctx);
    const invitation = await invited(admin.token, company.id);
    const response = await call(ctx.app, 'DELETE', `${url(company.id)}/${invitation.id}`, { token: admin.token });
    expect(response.statusCode).toBe(204);
    expect(response.body).toBe('');
    expect((await lookup(invitation.code)).statusCode).toBe(404);
    const list = await call(ctx.app, 'GET', url(company.id), { token: admin.token });
    expect(list.body_json.invitations).toEqual([]);
    const again = await call(ctx.app, 'DELETE', `${url(company.id)}/${invitation.id}`, { token: admin.token });
    expect(again.statusCode).toBe(404);
  });

  it('managers delete agent invitations only; agents may not delete', async () => {
    const { company, admin, manager, agent } = await companyWithTeam(ctx);
    const forAgent = await invited(admin.token, company.id);
    const forManager = await invited(admin.token, company.id, uniqueEmail(), 'manager');
    const denied = await call(ctx.app, 'DELETE', `${url(company.id)}/${forManager.id}`, { token: manager.token });
    expect(denied.statusCode).toBe(403);
    const byAgent = await call(ctx.app, 'DELETE', `${url(company.id)}/${forAgent.id}`, { token: agent.token });
    expect(byAgent.statusCode).toBe(403);
    const allowed = await call(ctx.app, 'DELETE', `${url(company.id)}/${forAgent.id}`, { token: manager.token });
    expect(allowed.statusCode).toBe(204);
  });

  it("404 for an unknown id and for another company's invitation, even through the caller's own company", async () => {
    const { company, admin, outsider, otherCompany } = await companyWithTeam(ctx);
    const invitation = await invited(admin.token, company.id);
    const viaOwn = await call(ctx.app, 'DELETE', `${url(otherCompany.id)}/${invitation.id}`, {
      token: outsider.token,
    });
    expect(viaOwn.statusCode).toBe(404);
    const direct = await call(ctx.app, 'DELETE', `${url(company.id)}/${invitation.id}`, { token: outsider.token });
    expect(direct.statusCode).toBe(404);
    const unknown = await call(ctx.app, 'DELETE', `${url(company.id)}/999999`, { token: admin.token });
    expect(unknown.statusCode).toBe(404);
    expect((await lookup(invitation.code)).statusCode).toBe(200);
  });
});

describe('GET /api/v1/invitations?email=', () => {
  it('shows the address owner their pending invitations, across companies, without codes', async () => {
    const first = await companyWithTeam(ctx);
    const second = await companyWithTeam(ctx);
    const invitee = await createUser(ctx, { emailVerifiedAt: new Date() });
    const a = await invited(first.admin.token, first.company.id, invitee.email);
    const b = await invited(second.admin.token, second.company.id, invitee.email, 'manager');

    const response = await call(ctx.app, 'GET', `/api/v1/invitations?email=${invitee.email.toUpperCase()}`, {
      token: invitee.token,
    });
    expect(response.statusCode).toBe(200);
    const rows = response.body_json.invitations;
    expect(rows.map((row: Json) => row.id)).toEqual([a.id, b.id]);
    expect(Object.keys(rows[0])).toEqual(INVITATION_KEYS);
    expect(rows[1].company).toEqual({ id: second.company.id, name: second.company.name, avatar_route: null });
    expect(rows[1].access).toMatchObject({ code: 'manager' });
    expect(response.body).not.toContain(a.code);
    expect(response.body_json.meta).toEqual({ next_cursor: null, limit: 25 });
  });

  it('403 to an owner whose address is not verified: typing an address into a profile proves nothing', async () => {
    const { company, admin } = await companyWithTeam(ctx);
    const squatter = await createUser(ctx);
    // The email change waits for the new mailbox: it does not take the address, nor its invitations.
    const victim = uniqueEmail('victim');
    await invited(admin.token, company.id, victim);
    const changed = await call(ctx.app, 'PATCH', `/api/v1/users/${squatter.id}`, {
      token: squatter.token,
      body: { email: victim, current_password: PASSWORD },
    });
    expect(changed.statusCode).toBe(200);
    expect(changed.body_json.user).toMatchObject({ email: squatter.email, pending_email: victim });
    const byPending = await call(ctx.app, 'GET', `/api/v1/invitations?email=${victim}`, { token: squatter.token });
    expect(byPending.statusCode).toBe(403);

    // Even the account's own address, unverified, lists nothing.
    await invited(admin.token, company.id, squatter.email);
    const own = await call(ctx.app, 'GET', `/api/v1/invitations?email=${squatter.email}`, { token: squatter.token });
    expect(own.statusCode).toBe(403);
  });

  it('403 for anyone but the owner (staff excepted), 401 without a token, 422 without an email', async () => {
    const { company, admin } = await companyWithTeam(ctx);
    const email = uniqueEmail();
    await invited(admin.token, company.id, email);
    const other = await call(ctx.app, 'GET', `/api/v1/invitations?email=${email}`, { token: admin.token });
    expect(other.statusCode).toBe(403);
    const staff = await createUser(ctx, { superadmin: true });
    const byStaff = await call(ctx.app, 'GET', `/api/v1/invitations?email=${email}`, { token: staff.token });
    expect(byStaff.statusCode).toBe(200);
    expect(byStaff.body_json.invitations).toHaveLength(1);
    expect((await call(ctx.app, 'GET', `/api/v1/invitations?email=${email}`)).statusCode).toBe(401);
    expect((await call(ctx.app, 'GET', '/api/v1/invitations', { token: admin.token })).statusCode).toBe(422);
  });
});

describe('GET /api/v1/invitations/{code} (public)', () => {
  it('shows only the company name and avatar, the access, the masked email and the expiry', async () => {
    const { company, admin } = await companyWithTeam(ctx);
    const invitation = await invited(admin.token, company.id, `jane.doe.${Date.now()}@example.com`);
    const response = await lookup(invitation.code);
    expect(response.statusCode).toBe(200);
    expect(response.body_json).toEqual({
      invitation: {
        company: { name: company.name, avatar_route: null },
        access: { code: 'agent', name: 'Sales agent' },
        email: `j${'*'.repeat(invitation.email.split('@')[0].length - 1)}@example.com`,
        expires_at: invitation.expires_at,
      },
    });
  });

  it('unknown, malformed, deleted, used and expired codes all answer the same 404', async () => {
    const { company, admin } = await companyWithTeam(ctx);
    const deleted = await invited(admin.token, company.id);
    await call(ctx.app, 'DELETE', `${url(company.id)}/${deleted.id}`, { token: admin.token });
    const used = await invited(admin.token, company.id);
    const invitee = await createUser(ctx, { email: used.email });
    expect((await accept(invitee.token, used.code)).statusCode).toBe(201);
    const expiring = await invited(admin.token, company.id);
    ctx.clock.advance(8 * DAY);

    const answers = [
      await lookup('A'.repeat(43)),
      await lookup('x'),
      await lookup(deleted.code),
      await lookup(used.code),
      await lookup(expiring.code),
    ];
    const expected = problemOf(answers[0]!);
    expect(expected).toMatchObject({
      http_status: 404,
      status: 404,
      content_type: expect.stringMatching(/^application\/problem\+json/),
    });
    for (const answer of answers) expect(problemOf(answer)).toEqual(expected);
  });
});

describe('POST /api/v1/invitations/{code}/accept', () => {
  it('201: the invited user joins with the invited access, in the user_access shape; single use', async () => {
    const { company, admin } = await companyWithTeam(ctx);
    const invitee = await createUser(ctx);
    const invitation = await invited(admin.token, company.id, invitee.email, 'manager');

    const response = await accept(invitee.token, invitation.code);
    expect(response.statusCode).toBe(201);
    const ua = response.body_json.user_access;
    expect(Object.keys(ua)).toEqual(['id', 'primary', 'company', 'access', 'user']);
    expect(ua).toMatchObject({
      primary: true,
      company: { id: company.id, name: company.name, default: false, parent_company_id: null },
      access: { code: 'manager', name: 'Manager' },
      user: { id: invitee.id, email: invitee.email },
    });
    const members = await call(ctx.app, 'GET', `/api/v1/users/${invitee.id}/user_access`, { token: invitee.token });
    expect(members.body_json.user_accesses.map((row: Json) => row.company.id)).toEqual([company.id]);

    expect((await accept(invitee.token, invitation.code)).statusCode).toBe(404);
    expect((await lookup(invitation.code)).statusCode).toBe(404);
    const [row] = await ctx.database.db.select().from(invitations).where(eq(invitations.id, invitation.id));
    expect(row!.acceptedByUserId).toBe(invitee.id);
  });

  it('the optional body chooses whether the new access becomes primary; unknown fields are 422', async () => {
    const first = await companyWithTeam(ctx);
    const second = await companyWithTeam(ctx);
    const invitee = await createUser(ctx, { emailVerifiedAt: new Date() });
    const a = await invited(first.admin.token, first.company.id, invitee.email);
    const b = await invited(second.admin.token, second.company.id, invitee.email);
    const post = (code: string, body: Json) =>
      call(ctx.app, 'POST', `/api/v1/invitations/${code}/accept`, { token: invitee.token, body });

    expect((await post(a.code, { primary: 'yes' })).statusCode).toBe(422);
    expect((await post(a.code, { company_id: 1 })).statusCode).toBe(422);
    expect((await post(a.code, {})).body_json.user_access.primary).toBe(true);
    expect((await post(b.code, { primary: true })).body_json.user_access.primary).toBe(true);
    const rows = await call(ctx.app, 'GET', `/api/v1/users/${invitee.id}/user_access`, { token: invitee.token });
    const primaries = rows.body_json.user_accesses.filter((row: Json) => row.primary);
    expect(primaries.map((row: Json) => row.company.id)).toEqual([second.company.id]);
  });

  it('single use under concurrency: of two simultaneous accepts, one wins', async () => {
    const { company, admin } = await companyWithTeam(ctx);
    const invitee = await createUser(ctx);
    const invitation = await invited(admin.token, company.id, invitee.email);
    const answers = await Promise.all([accept(invitee.token, invitation.code), accept(invitee.token, invitation.code)]);
    expect(answers.map((answer) => answer.statusCode).sort()).toEqual([201, 404]);
  });

  it("404 for a code sent to someone else's address (nothing changes); 401 without a token", async () => {
    const { company, admin, outsider } = await companyWithTeam(ctx);
    const invitation = await invited(admin.token, company.id);
    const response = await accept(outsider.token, invitation.code);
    expect(response.statusCode).toBe(404);
    expect(problemOf(response)).toEqual(problemOf(await accept(outsider.token, 'B'.repeat(43))));
    expect((await call(ctx.app, 'POST', `/api/v1/invitations/${invitation.code}/accept`)).statusCode).toBe(401);
    expect((await lookup(invitation.code)).statusCode).toBe(200);
  });

  it('422 already_member when the invitee got an access meanwhile; the invitation stays pending', async () => {
    const { company, admin } = await companyWithTeam(ctx);
    const invitee = await createUser(ctx);
    const invitation = await invited(admin.token, company.id, invitee.email);
    await grant(ctx, invitee, company.id, 'agent');
    const response = await accept(invitee.token, invitation.code);
    expect(response.statusCode).toBe(422);
    expect(response.body_json.code).toBe('already_member');
    expect((await lookup(invitation.code)).statusCode).toBe(200);
  });

  it('an expired code answers 404 to look-up and accept; re-inviting the address works', async () => {
    const team = await companyWithTeam(ctx);
    const invitee = await createUser(ctx);
    const invitation = await invited(team.admin.token, team.company.id, invitee.email);
    ctx.clock.advance(8 * DAY);
    const fresh = await relogin(invitee);
    const admin = await relogin(team.admin);

    expect((await lookup(invitation.code)).statusCode).toBe(404);
    expect((await accept(fresh.token, invitation.code)).statusCode).toBe(404);
    const list = await call(ctx.app, 'GET', url(team.company.id), { token: admin.token });
    expect(list.body_json.invitations).toEqual([]);
    // The expired row is still "open" for the unique index: re-inviting must replace it, not collide.
    const again = await invited(admin.token, team.company.id, invitee.email);
    expect((await accept(fresh.token, again.code)).statusCode).toBe(201);
  });
});

describe('POST /api/v1/users with invitation_code', () => {
  const signup = (body: Json) => call(ctx.app, 'POST', '/api/v1/users', { body });
  const base = { first_name: 'New', last_name: 'Member', password: 'longenough' };

  it('201: the new user joins the company with the invited access, in one step', async () => {
    const { company, admin } = await companyWithTeam(ctx);
    const email = uniqueEmail();
    const invitation = await invited(admin.token, company.id, email, 'manager');
    const response = await signup({ ...base, email: email.toUpperCase(), invitation_code: invitation.code });
    expect(response.statusCode, response.body).toBe(201);
    const user = response.body_json.user;
    expect(user.email).toBe(email);

    const login = await call(ctx.app, 'POST', '/api/v1/users/login', { body: { email, password: 'longenough' } });
    const token = login.body_json.token as string;
    const accesses = await call(ctx.app, 'GET', `/api/v1/users/${user.id}/user_access`, { token });
    expect(accesses.body_json.user_accesses).toEqual([
      expect.objectContaining({ primary: true, company: expect.objectContaining({ id: company.id }) }),
    ]);
    expect(accesses.body_json.user_accesses[0].access.code).toBe('manager');
    expect((await lookup(invitation.code)).statusCode).toBe(404);
  });

  it('422 on invitation_code for another address, or an unknown, used or expired code; no user is created', async () => {
    const { company, admin } = await companyWithTeam(ctx);
    const invitation = await invited(admin.token, company.id);
    const used = await invited(admin.token, company.id);
    expect((await signup({ ...base, email: used.email, invitation_code: used.code })).statusCode).toBe(201);
    const expiring = await invited(admin.token, company.id);
    ctx.clock.advance(8 * DAY);

    const attempts = [
      { email: uniqueEmail(), invitation_code: invitation.code },
      { email: uniqueEmail(), invitation_code: 'C'.repeat(43) },
      { email: uniqueEmail(), invitation_code: used.code },
      { email: expiring.email, invitation_code: expiring.code },
    ];
    for (const attempt of attempts) {
      const response = await signup({ ...base, ...attempt });
      expect(response.statusCode).toBe(422);
      expect(response.body_json.errors).toEqual([expect.objectContaining({ field: 'invitation_code' })]);
      const rows = await ctx.database.db.select().from(users).where(eq(users.email, attempt.email));
      expect(rows).toEqual([]);
    }
  });
});

describe('rate limit of the public look-up', () => {
  it('429 problem+json with Retry-After once the per-minute budget is spent', async () => {
    const limited = await buildTestApp({ AUTH_RATE_LIMIT: '3' });
    try {
      for (let i = 0; i < 3; i++) {
        const response = await call(limited.app, 'GET', `/api/v1/invitations/${'D'.repeat(43)}`);
        expect(response.statusCode).toBe(404);
        expect(response.headers['ratelimit-limit']).toBe('3');
        expect(response.headers['ratelimit-remaining']).toBe(String(2 - i));
      }
      const response = await call(limited.app, 'GET', `/api/v1/invitations/${'D'.repeat(43)}`);
      expect(response.statusCode).toBe(429);
      expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(response.body_json).toMatchObject({ status: 429, code: 'rate_limited' });
      expect(Number(response.headers['retry-after'])).toBeGreaterThan(0);
      expect(response.headers['ratelimit-remaining']).toBe('0');
      expect(response.headers['ratelimit-reset']).toBeDefined();
    } finally {
      await limited.close();
    }
  });
});

describe('daily invitation budget (a plan’s max_invitations_per_day)', () => {
  it('caps what a company sends, and what one inviter sends across companies, for 24 hours; refused ones mail nothing', async () => {
    const code = `tiny-${Date.now()}`;
    await ctx.database.db.insert(memberships).values({
      code,
      name: 'Tiny',
      priceCents: 0,
      currency: 'USD',
      interval: 'month',
      maxUsers: 50,
      maxInvitationsPerDay: 3,
      active: false,
    });
    const admin = await createUser(ctx);
    const first = await createCompany(ctx, admin);
    const second = await createCompany(ctx, admin);
    await subscribe(ctx, first.id, code);
    await subscribe(ctx, second.id, code);

    for (let n = 0; n < 3; n++) await invited(admin.token, first.id);
    const email = uniqueEmail('over');
    const refused = await invite(admin.token, first.id, email, 'agent');
    expect(refused.statusCode).toBe(429);
    expect(refused.body_json.code).toBe('invitation_budget');
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(86_000);
    expect(await mailCount(ctx, email)).toBe(0);

    // Another company of the same inviter: the inviter's own budget is spent too.
    const elsewhere = await invite(admin.token, second.id, uniqueEmail('over'), 'agent');
    expect(elsewhere.statusCode).toBe(429);
    expect(elsewhere.body_json.detail).toMatch(/^You sent 3 invitations/);

    ctx.clock.advance(DAY + 1000);
    const fresh = await relogin(admin);
    expect((await invite(fresh.token, first.id, email, 'agent')).statusCode).toBe(201);
    expect(await mailCount(ctx, email)).toBe(1);
  });
});

describe('accepting an invitation proves the mailbox', () => {
  it('marks the invitee’s address verified', async () => {
    const { company, admin } = await companyWithTeam(ctx);
    const invitee = await createUser(ctx);
    const before = await call(ctx.app, 'GET', '/api/v1/users/validate_jwt', { token: invitee.token });
    expect(before.body_json.user.email_verified).toBe(false);
    const invitation = await invited(admin.token, company.id, invitee.email);
    expect((await accept(invitee.token, invitation.code)).statusCode).toBe(201);
    const after = await call(ctx.app, 'GET', '/api/v1/users/validate_jwt', { token: invitee.token });
    expect(after.body_json.user.email_verified).toBe(true);
  });
});
