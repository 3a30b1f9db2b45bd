import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, call, type TestContext } from '../helpers/app.ts';
import { companyWithTeam, createUser, member, PASSWORD, uniqueEmail } from '../helpers/factories.ts';

let ctx: TestContext;
beforeAll(async () => {
  ctx = await buildTestApp();
});
afterAll(() => ctx.close());

const signup = (body: Record<string, unknown>) => call(ctx.app, 'POST', '/api/v1/users', { body });

describe('sign-up', () => {
  it('creates a user with a normalized email and answers the user JSON, seed keys first', async () => {
    const email = uniqueEmail('Jane').replace('jane', 'JaNe');
    const response = await signup({ first_name: 'Jane', last_name: 'Doe', email, password: 'longenough' });
    expect(response.statusCode).toBe(201);
    const { user } = response.body_json;
    expect(Object.keys(user).slice(0, 11)).toEqual([
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
    expect(user).toMatchObject({
      email: email.toLowerCase(),
      status: 'active',
      lang: 'en',
      theme: 'system',
      currency: 'USD',
      birthdate: null,
      full_name: 'Jane Doe',
      avatar_route: null,
    });
  });

  it('lists every invalid field at once', async () => {
    const response = await signup({
      first_name: '',
      email: 'not-an-email',
      password: 'short',
      theme: 'neon',
      currency: 'usd',
      birthdate: '2020-13-45',
      superadmin: true,
    });
    expect(response.statusCode).toBe(422);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    const fields = response.body_json.errors.map((e: { field: string }) => e.field).sort();
    expect(fields).toEqual(
      ['birthdate', 'currency', 'email', 'first_name', 'last_name', 'password', 'superadmin', 'theme'].sort(),
    );
  });

  it('refuses an unknown currency and a password over 128 characters, without truncating', async () => {
    const base = { first_name: 'A', last_name: 'B', email: uniqueEmail() };
    const currency = await signup({ ...base, password: 'longenough', currency: 'XYZ' });
    expect(currency.statusCode).toBe(422);
    expect(currency.body_json.errors[0]).toMatchObject({ field: 'currency', code: 'unknown_currency' });
    expect((await signup({ ...base, password: 'x'.repeat(129) })).statusCode).toBe(422);

    const long = 'p'.repeat(128);
    expect((await signup({ ...base, password: long })).statusCode).toBe(201);
    const truncated = await call(ctx.app, 'POST', '/api/v1/users/login', {
      body: { email: base.email, password: long.slice(0, 72) },
    });
    expect(truncated.statusCode).toBe(401);
  });

  it('answers 409 for an address already registered, whatever its case', async () => {
    const email = uniqueEmail();
    await signup({ first_name: 'A', last_name: 'B', email, password: 'longenough' });
    const again = await signup({ first_name: 'A', last_name: 'B', email: email.toUpperCase(), password: 'longenough' });
    expect(again.statusCode).toBe(409);
    expect(again.body_json.code).toBe('email_taken');
  });
});

describe('login and validate_jwt', () => {
  it('signs in and validates the token', async () => {
    const email = uniqueEmail();
    await signup({ first_name: 'A', last_name: 'B', email, password: 'longenough' });
    const login = await call(ctx.app, 'POST', '/api/v1/users/login', {
      body: { email: email.toUpperCase(), password: 'longenough' },
    });
    expect(login.statusCode).toBe(200);
    expect(login.body_json).toMatchObject({ token_type: 'Bearer', user: { email } });
    expect(Date.parse(login.body_json.expires_at)).toBeGreaterThan(Date.now());
    const validate = await call(ctx.app, 'GET', '/api/v1/users/validate_jwt', { token: login.body_json.token });
    expect(validate.statusCode).toBe(200);
    expect(validate.body_json).toMatchObject({ valid: true, expires_at: login.body_json.expires_at, user: { email } });
  });

  it('gives one answer for an unknown email and a wrong password', async () => {
    const user = await createUser(ctx);
    const wrong = await call(ctx.app, 'POST', '/api/v1/users/login', { body: { email: user.email, password: 'nope' } });
    const unknown = await call(ctx.app, 'POST', '/api/v1/users/login', {
      body: { email: uniqueEmail(), password: PASSWORD },
    });
    expect(wrong.statusCode).toBe(401);
    expect(unknown.statusCode).toBe(401);
    const strip = (body: Record<string, unknown>) => ({ ...body, request_id: undefined });
    expect(strip(wrong.body_json)).toEqual(strip(unknown.body_json));
  });

  it('rejects expired, tampered, foreign and missing tokens with 401', async () => {
    const user = await createUser(ctx);
    const [header, payload, signature] = user.token.split('.');
    const tampered = `${header}.${Buffer.from(JSON.stringify({ sub: '1', ver: 0 })).toString('base64url')}.${signature}`;
    const none = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${payload}.`;
    for (const token of [tampered, none, 'garbage']) {
      const response = await call(ctx.app, 'GET', '/api/v1/users/validate_jwt', { token });
      expect(response.statusCode, token).toBe(401);
    }
    expect((await call(ctx.app, 'GET', '/api/v1/users/validate_jwt')).statusCode).toBe(401);
    ctx.clock.advance(ctx.config.jwtTtlSeconds * 1000 + 1000);
    try {
      const expired = await call(ctx.app, 'GET', '/api/v1/users/validate_jwt', { token: user.token });
      expect(expired.statusCode).toBe(401);
    } finally {
      ctx.clock.advance(-(ctx.config.jwtTtlSeconds * 1000 + 1000));
    }
  });
});

describe('find, list, show', () => {
  it('finds by email for admins and managers only', async () => {
    const { admin, manager, agent } = await companyWithTeam(ctx);
    for (const caller of [admin, manager]) {
      const found = await call(ctx.app, 'GET', `/api/v1/users/find_by_email?email=${agent.email.toUpperCase()}`, {
        token: caller.token,
      });
      expect(found.statusCode).toBe(200);
      expect(found.body_json.user.id).toBe(agent.id);
    }
    const byAgent = await call(ctx.app, 'GET', `/api/v1/users/find_by_email?email=${admin.email}`, {
      token: agent.token,
    });
    expect(byAgent.statusCode).toBe(403);
    const missing = await call(ctx.app, 'GET', `/api/v1/users/find_by_email?email=${uniqueEmail()}`, {
      token: admin.token,
    });
    expect(missing.statusCode).toBe(404);
    const invalid = await call(ctx.app, 'GET', '/api/v1/users/find_by_email?email=nope', { token: admin.token });
    expect(invalid.statusCode).toBe(422);
  });

  it('finds only people the caller can already see; any other address answers exactly like an unknown one', async () => {
    const { admin, manager, outsider, otherCompany } = await companyWithTeam(ctx);
    const stranger = await createUser(ctx);
    const staff = await createUser(ctx, { superadmin: true });
    const find = (email: string, token: string) =>
      call(ctx.app, 'GET', `/api/v1/users/find_by_email?email=${encodeURIComponent(email)}`, { token });
    // The outsider administers a company of their own, which used to be enough to look anyone up.
    const unknown = await find(uniqueEmail(), outsider.token);
    for (const email of [stranger.email, admin.email, staff.email]) {
      const hidden = await find(email, outsider.token);
      expect(hidden.statusCode, email).toBe(404);
      const { request_id: _a, ...body } = hidden.body_json;
      const { request_id: _b, ...unknownBody } = unknown.body_json;
      expect(body).toEqual(unknownBody);
      expect(hidden.headers['content-type']).toBe(unknown.headers['content-type']);
    }
    // Yourself, and members of companies you manage (invite anyone else by email).
    expect((await find(outsider.email, outsider.token)).body_json.user.id).toBe(outsider.id);
    expect((await find(admin.email, manager.token)).body_json.user.id).toBe(admin.id);
    const colleague = await member(ctx, otherCompany.id, 'agent');
    expect((await find(colleague.email, outsider.token)).statusCode).toBe(200);
    // Platform staff find anyone.
    const byStaff = await find(stranger.email, staff.token);
    expect(byStaff.statusCode).toBe(200);
    expect(byStaff.body_json.user.id).toBe(stranger.id);
  });

  it('lists the users of managed companies with keyset pages, searchable', async () => {
    const { admin, manager, agent, outsider } = await companyWithTeam(ctx);
    const first = await call(ctx.app, 'GET', '/api/v1/users?limit=2&count=true', { token: admin.token });
    expect(first.statusCode).toBe(200);
    expect(first.body_json.meta).toMatchObject({ limit: 2, total: 3 });
    const second = await call(ctx.app, 'GET', `/api/v1/users?limit=2&cursor=${first.body_json.meta.next_cursor}`, {
      token: admin.token,
    });
    expect(second.body_json.meta.next_cursor).toBeNull();
    const ids = [...first.body_json.users, ...second.body_json.users].map((u: { id: number }) => u.id);
    expect(ids.sort()).toEqual([admin.id, manager.id, agent.id].sort());
    expect(ids).not.toContain(outsider.id);

    const search = await call(ctx.app, 'GET', `/api/v1/users?q=${agent.email.slice(0, 12)}`, { token: admin.token });
    expect(search.body_json.users.map((u: { id: number }) => u.id)).toEqual([agent.id]);
    const wildcard = await call(ctx.app, 'GET', '/api/v1/users?q=%25', { token: admin.token });
    expect(wildcard.body_json.users).toEqual([]);

    const byAgent = await call(ctx.app, 'GET', '/api/v1/users', { token: agent.token });
    expect(byAgent.body_json.users).toEqual([]);
    const badCursor = await call(ctx.app, 'GET', '/api/v1/users?cursor=nonsense', { token: admin.token });
    expect(badCursor.statusCode).toBe(422);
  });

  it('shows a user to self, and to admins and managers of a shared company only', async () => {
    const { admin, manager, agent, outsider } = await companyWithTeam(ctx);
    expect((await call(ctx.app, 'GET', `/api/v1/users/${agent.id}`, { token: agent.token })).statusCode).toBe(200);
    expect((await call(ctx.app, 'GET', `/api/v1/users/${agent.id}`, { token: admin.token })).statusCode).toBe(200);
    expect((await call(ctx.app, 'GET', `/api/v1/users/${agent.id}`, { token: manager.token })).statusCode).toBe(200);
    expect((await call(ctx.app, 'GET', `/api/v1/users/${admin.id}`, { token: agent.token })).statusCode).toBe(404);
    expect((await call(ctx.app, 'GET', `/api/v1/users/${agent.id}`, { token: outsider.token })).statusCode).toBe(404);
  });
});

describe('update', () => {
  it('accepts a partial body on PUT and PATCH', async () => {
    const user = await createUser(ctx);
    const put = await call(ctx.app, 'PUT', `/api/v1/users/${user.id}`, {
      token: user.token,
      body: { theme: 'dark', lang: 'es-ES' },
    });
    expect(put.statusCode).toBe(200);
    expect(put.body_json.user).toMatchObject({ theme: 'dark', lang: 'es-ES', first_name: 'Test' });
    const patch = await call(ctx.app, 'PATCH', `/api/v1/users/${user.id}`, {
      token: user.token,
      body: { birthdate: '1985-02-03', currency: 'EUR' },
    });
    expect(patch.body_json.user).toMatchObject({ theme: 'dark', birthdate: '1985-02-03', currency: 'EUR' });
  });

  it('refuses fields the caller may not set', async () => {
    const user = await createUser(ctx);
    const own = await call(ctx.app, 'PATCH', `/api/v1/users/${user.id}`, {
      token: user.token,
      body: { status: 'inactive' },
    });
    expect(own.statusCode).toBe(422);
    for (const body of [{ superadmin: true }, { id: 5 }, { token_version: 3 }, {}]) {
      const response = await call(ctx.app, 'PATCH', `/api/v1/users/${user.id}`, { token: user.token, body });
      expect(response.statusCode, JSON.stringify(body)).toBe(422);
    }
  });

  it('needs the current password to change the password, and revokes older tokens', async () => {
    const user = await createUser(ctx);
    const without = await call(ctx.app, 'PATCH', `/api/v1/users/${user.id}`, {
      token: user.token,
      body: { password: 'a new password' },
    });
    expect(without.statusCode).toBe(422);
    expect(without.body_json.errors[0].field).toBe('current_password');
    const changed = await call(ctx.app, 'PATCH', `/api/v1/users/${user.id}`, {
      token: user.token,
      body: { password: 'a new password', current_password: PASSWORD },
    });
    expect(changed.statusCode).toBe(200);
    expect((await call(ctx.app, 'GET', '/api/v1/users/validate_jwt', { token: user.token })).statusCode).toBe(401);
    const login = await call(ctx.app, 'POST', '/api/v1/users/login', {
      body: { email: user.email, password: 'a new password' },
    });
    expect(login.statusCode).toBe(200);
  });

  it('lets only the user change their profile: admins get 403, outsiders 404', async () => {
    const { admin, agent, outsider } = await companyWithTeam(ctx);
    const byAdmin = await call(ctx.app, 'PATCH', `/api/v1/users/${agent.id}`, {
      token: admin.token,
      body: { first_name: 'X' },
    });
    expect(byAdmin.statusCode).toBe(403);
    const byOutsider = await call(ctx.app, 'PATCH', `/api/v1/users/${agent.id}`, {
      token: outsider.token,
      body: { first_name: 'X' },
    });
    expect(byOutsider.statusCode).toBe(404);
  });

  it('lets platform staff deactivate a user, whose tokens stop working at once', async () => {
    const staff = await createUser(ctx, { superadmin: true });
    const user = await createUser(ctx);
    const response = await call(ctx.app, 'PATCH', `/api/v1/users/${user.id}`, {
      token: staff.token,
      body: { status: 'inactive' },
    });
    expect(response.statusCode).toBe(200);
    expect(response.body_json.user.status).toBe('inactive');
    expect((await call(ctx.app, 'GET', '/api/v1/users/validate_jwt', { token: user.token })).statusCode).toBe(401);
    const login = await call(ctx.app, 'POST', '/api/v1/users/login', {
      body: { email: user.email, password: PASSWORD },
    });
    expect(login.statusCode).toBe(401);
  });

  it('refuses an email already taken by someone else', async () => {
    const user = await createUser(ctx);
    const other = await createUser(ctx);
    const response = await call(ctx.app, 'PATCH', `/api/v1/users/${user.id}`, {
      token: user.token,
      body: { email: other.email, current_password: PASSWORD },
    });
    expect(response.statusCode).toBe(409);
  });
});
