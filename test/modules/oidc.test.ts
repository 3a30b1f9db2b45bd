import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { count, eq } from 'drizzle-orm';
import { exportJWK, generateKeyPair, type JWTPayload, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.ts';
import { ConfigError, loadConfig } from '../../src/config.ts';
import { userProviders, users } from '../../src/db/schema/index.ts';
import { buildTestApp, call, type Json, type TestContext } from '../helpers/app.ts';
import { companyWithTeam, createUser, PASSWORD, uniqueEmail } from '../helpers/factories.ts';
import { databaseFingerprint } from '../helpers/snapshot.ts';

const CLIENT_ID = 'leadsy-test';
type Keys = Awaited<ReturnType<typeof generateKeyPair>>;

/** A local OpenID provider: discovery document and JWKS over real HTTP, keys made here. */
async function startProvider() {
  const keys = await generateKeyPair('RS256');
  const jwk = { ...(await exportJWK(keys.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
  const hits = { discovery: 0, jwks: 0 };
  let issuer = '';
  const server: Server = createServer((request, response) => {
    const send = (body: unknown) =>
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    if (request.url === '/.well-known/openid-configuration') {
      hits.discovery++;
      send({ issuer, jwks_uri: `${issuer}/jwks`, id_token_signing_alg_values_supported: ['RS256'] });
    } else if (request.url === '/jwks') {
      hits.jwks++;
      send({ keys: [jwk] });
    } else {
      response.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { issuer, keys, hits, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

let provider: Awaited<ReturnType<typeof startProvider>>;
let ctx: TestContext;
beforeAll(async () => {
  provider = await startProvider();
  ctx = await buildTestApp({ OIDC_ISSUER: provider.issuer, OIDC_CLIENT_ID: CLIENT_ID });
});
afterAll(async () => {
  await ctx.close();
  await provider.close();
});

type Sign = {
  key?: Keys['privateKey'] | Uint8Array;
  alg?: string;
  kid?: string;
  issuer?: string;
  audience?: string | string[];
  expiresAt?: number;
};

const now = () => Math.floor(Date.now() / 1000);

function idToken(claims: JWTPayload, options: Sign = {}) {
  return new SignJWT({ email_verified: true, ...claims })
    .setProtectedHeader({ alg: options.alg ?? 'RS256', kid: options.kid ?? 'k1' })
    .setIssuer(options.issuer ?? provider.issuer)
    .setAudience(options.audience ?? CLIENT_ID)
    .setIssuedAt(Math.min(now(), (options.expiresAt ?? now()) - 60))
    .setExpirationTime(options.expiresAt ?? now() + 300)
    .sign(options.key ?? provider.keys.privateKey);
}

const login = (token: string) => call(ctx.app, 'POST', '/api/v1/users/login/oidc', { body: { id_token: token } });
const subject = () => `sub-${randomBytes(6).toString('hex')}`;
const providers = (userId: number, token: string) =>
  call(ctx.app, 'GET', `/api/v1/users/${userId}/providers`, { token });

async function counts() {
  const [u] = await ctx.database.db.select({ n: count() }).from(users);
  const [p] = await ctx.database.db.select({ n: count() }).from(userProviders);
  return { users: Number(u!.n), links: Number(p!.n) };
}

describe('POST /api/v1/users/login/oidc', () => {
  it('creates an active user without a password, links it, and answers like password login', async () => {
    const email = uniqueEmail('new');
    const sub = subject();
    const response = await login(
      await idToken({ sub, email: email.toUpperCase(), given_name: 'Ada', family_name: 'Lovelace' }),
    );
    expect(response.statusCode, response.body).toBe(200);
    expect(Object.keys(response.body_json)).toEqual(['token', 'token_type', 'expires_at', 'user']);
    expect(response.body_json).toMatchObject({
      token_type: 'Bearer',
      user: { email, first_name: 'Ada', last_name: 'Lovelace', full_name: 'Ada Lovelace', status: 'active' },
    });
    const { token, user } = response.body_json;
    const validate = await call(ctx.app, 'GET', '/api/v1/users/validate_jwt', { token });
    expect(validate.statusCode).toBe(200);
    expect(validate.body_json.user.id).toBe(user.id);

    const [row] = await ctx.database.db.select().from(users).where(eq(users.id, user.id));
    expect(row!.passwordHash).toBeNull();
    const links = await ctx.database.db.select().from(userProviders).where(eq(userProviders.userId, user.id));
    expect(links).toMatchObject([{ provider: 'oidc', subject: sub, email }]);
    const listed = await providers(user.id, token);
    expect(listed.statusCode).toBe(200);
    expect(listed.body_json.providers).toEqual([{ provider: 'oidc', email, linked_at: expect.any(String) }]);
    // No password was ever set: password login cannot reach this account.
    const byPassword = await call(ctx.app, 'POST', '/api/v1/users/login', { body: { email, password: PASSWORD } });
    expect(byPassword.statusCode).toBe(401);
  });

  it('takes the names from `name`, else from the email', async () => {
    const fromName = await login(
      await idToken({ sub: subject(), email: uniqueEmail(), name: 'Grace Brewster Hopper' }),
    );
    expect(fromName.body_json.user).toMatchObject({ first_name: 'Grace', last_name: 'Brewster Hopper' });
    const controls = await login(
      await idToken({ sub: subject(), email: uniqueEmail(), given_name: 'A\u0000da\n', family_name: 'K' }),
    );
    expect(controls.body_json.user).toMatchObject({ first_name: 'Ada', last_name: 'K' });
    const email = uniqueEmail('alan');
    const fromEmail = await login(await idToken({ sub: subject(), email }));
    expect(fromEmail.body_json.user).toMatchObject({ first_name: email.split('@')[0], last_name: '' });
  });

  it('links an existing account by verified email, and the next sign-in finds the link', async () => {
    const existing = await createUser(ctx, { emailVerifiedAt: new Date() });
    const before = await providers(existing.id, existing.token);
    expect(before.body_json.providers).toEqual([
      { provider: 'password', email: existing.email, linked_at: expect.any(String) },
    ]);
    const sub = subject();
    const first = await login(await idToken({ sub, email: existing.email.toUpperCase(), given_name: 'Other' }));
    expect(first.statusCode, first.body).toBe(200);
    expect(first.body_json.user).toMatchObject({ id: existing.id, first_name: 'Test' });
    const after = await providers(existing.id, existing.token);
    expect(after.body_json.providers).toEqual([
      before.body_json.providers[0],
      { provider: 'oidc', email: existing.email, linked_at: expect.any(String) },
    ]);
    const [created] = await ctx.database.db.select().from(users).where(eq(users.id, existing.id));
    expect(before.body_json.providers[0].linked_at).toBe(created!.createdAt.toISOString());

    // The address changed at the provider: the (provider, sub) link still decides, and it records the new one.
    const before2 = await counts();
    const changed = uniqueEmail('changed');
    const second = await login(await idToken({ sub, email: changed }));
    expect(second.statusCode).toBe(200);
    expect(second.body_json.user.id).toBe(existing.id);
    expect(await counts()).toEqual(before2);
    const latest = await providers(existing.id, existing.token);
    expect(latest.body_json.providers[1].email).toBe(changed);
  });

  it('claims an account whose address was never verified: the squatter’s password and sessions end', async () => {
    // Pre-account takeover: someone signs up with the victim's address (never verified) and sets up a company.
    const email = uniqueEmail('victim');
    const signup = await call(ctx.app, 'POST', '/api/v1/users', {
      body: { first_name: 'Squatter', last_name: 'X', email, password: 'the squatter password' },
    });
    expect(signup.statusCode).toBe(201);
    expect(signup.body_json.user.email_verified).toBe(false);
    const squatter = await call(ctx.app, 'POST', '/api/v1/users/login', {
      body: { email, password: 'the squatter password' },
    });
    const squatterToken = squatter.body_json.token as string;

    // The victim signs in with a verified identity for that address.
    const victim = await login(await idToken({ sub: subject(), email }));
    expect(victim.statusCode).toBe(200);
    expect(victim.body_json.user).toMatchObject({ id: signup.body_json.user.id, email_verified: true });

    // The squatter's way in is gone: the session and the password alike.
    expect((await call(ctx.app, 'GET', '/api/v1/users/validate_jwt', { token: squatterToken })).statusCode).toBe(401);
    const again = await call(ctx.app, 'POST', '/api/v1/users/login', {
      body: { email, password: 'the squatter password' },
    });
    expect(again.statusCode).toBe(401);
    const linked = await providers(victim.body_json.user.id, victim.body_json.token);
    expect(linked.body_json.providers.map((p: Json) => p.provider)).toEqual(['oidc']);
  });

  it('two concurrent first sign-ins of one identity make one user and one link', async () => {
    const sub = subject();
    const token = await idToken({ sub, email: uniqueEmail('race') });
    const answers = await Promise.all([login(token), login(token), login(token)]);
    expect(answers.map((answer) => answer.statusCode)).toEqual([200, 200, 200]);
    expect(new Set(answers.map((answer) => answer.body_json.user.id)).size).toBe(1);
    const links = await ctx.database.db.select().from(userProviders).where(eq(userProviders.subject, sub));
    expect(links).toHaveLength(1);
  });

  it('fetches the discovery document once and reuses it', async () => {
    await login(await idToken({ sub: subject(), email: uniqueEmail() }));
    await login(await idToken({ sub: subject(), email: uniqueEmail() }));
    expect(provider.hits.discovery).toBe(1);
    expect(provider.hits.jwks).toBeGreaterThanOrEqual(1);
  });

  it('401 problem+json and nothing written for every token it must not trust', async () => {
    const other = await generateKeyPair('RS256');
    const email = uniqueEmail('rejected');
    const claims = { sub: subject(), email };
    const cases: Record<string, Promise<string> | string> = {
      'wrong audience': idToken(claims, { audience: 'someone-else' }),
      'several audiences without azp': idToken(claims, { audience: [CLIENT_ID, 'someone-else'] }),
      'wrong issuer': idToken(claims, { issuer: 'http://127.0.0.1:1' }),
      expired: idToken(claims, { expiresAt: now() - 3600 }),
      'signed by another key': idToken(claims, { key: other.privateKey }),
      'signed by an unknown key id': idToken(claims, { key: other.privateKey, kid: 'k2' }),
      'HS256 with the client id as secret': idToken(claims, { alg: 'HS256', key: new TextEncoder().encode(CLIENT_ID) }),
      'not a JWT': 'not.a.jwt',
      'a control character in sub': idToken({ ...claims, sub: 'sub\u0000x' }),
      'no sub': new SignJWT({ email, email_verified: true })
        .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
        .setIssuer(provider.issuer)
        .setAudience(CLIENT_ID)
        .setIssuedAt()
        .setExpirationTime('5m')
        .sign(provider.keys.privateKey),
      'email not verified': idToken({ ...claims, email_verified: false }),
      'email_verified as a string': idToken({ ...claims, email_verified: 'true' }),
      'no email': idToken({ sub: subject() }),
    };
    const before = await databaseFingerprint(ctx.database);
    for (const [name, token] of Object.entries(cases)) {
      const response = await login(await token);
      expect(response.statusCode, name).toBe(401);
      expect(response.headers['content-type'], name).toMatch(/^application\/problem\+json/);
      const expected = /email|verified/.test(name) ? 'email_not_verified' : 'invalid_id_token';
      expect(response.body_json.code, name).toBe(expected);
    }
    expect(await databaseFingerprint(ctx.database)).toEqual(before);
  });

  it('401 for a deactivated account, linked or not, and links nothing', async () => {
    const user = await createUser(ctx);
    await ctx.database.db.update(users).set({ status: 'inactive' }).where(eq(users.id, user.id));
    const before = await counts();
    const response = await login(await idToken({ sub: subject(), email: user.email }));
    expect(response.statusCode).toBe(401);
    expect(response.body_json.code).toBe('account_inactive');
    expect(await counts()).toEqual(before);

    const sub = subject();
    const linked = await login(await idToken({ sub, email: uniqueEmail() }));
    const id = linked.body_json.user.id as number;
    await ctx.database.db.update(users).set({ status: 'inactive' }).where(eq(users.id, id));
    expect((await login(await idToken({ sub, email: uniqueEmail() }))).statusCode).toBe(401);
  });

  it('422 on a missing or unknown body field', async () => {
    for (const body of [{}, { id_token: '' }, { id_token: 'x', email: 'a@b.c' }]) {
      const response = await call(ctx.app, 'POST', '/api/v1/users/login/oidc', { body });
      expect(response.statusCode).toBe(422);
    }
  });

  it('501 when no provider is configured, 503 when the provider cannot be reached', async () => {
    const build = (oidc: TestContext['config']['oidc']) =>
      buildApp({ config: { ...ctx.config, oidc }, database: ctx.database, clock: ctx.clock, logger: false });
    const token = await idToken({ sub: subject(), email: uniqueEmail() });
    const unconfigured = await build(undefined);
    const unreachable = await build({
      issuer: 'http://127.0.0.1:1',
      clientId: CLIENT_ID,
      jwksUri: undefined,
      providerName: 'oidc',
    });
    try {
      const before = await counts();
      const off = await call(unconfigured, 'POST', '/api/v1/users/login/oidc', { body: { id_token: token } });
      expect(off.statusCode).toBe(501);
      expect(off.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(off.body_json.code).toBe('oidc_not_configured');
      const down = await call(unreachable, 'POST', '/api/v1/users/login/oidc', { body: { id_token: token } });
      expect(down.statusCode).toBe(503);
      expect(down.body_json.code).toBe('oidc_unavailable');
      expect(await counts()).toEqual(before);
    } finally {
      await unconfigured.close();
      await unreachable.close();
    }
  });

  it('uses OIDC_JWKS_URI without discovery when it is set', async () => {
    const direct = await buildApp({
      config: {
        ...ctx.config,
        oidc: {
          issuer: provider.issuer,
          clientId: CLIENT_ID,
          jwksUri: `${provider.issuer}/jwks`,
          providerName: 'corp',
        },
      },
      database: ctx.database,
      clock: ctx.clock,
      logger: false,
    });
    try {
      const discoveries = provider.hits.discovery;
      const email = uniqueEmail('corp');
      const response = await call(direct, 'POST', '/api/v1/users/login/oidc', {
        body: { id_token: await idToken({ sub: subject(), email }) },
      });
      expect(response.statusCode, response.body).toBe(200);
      expect(provider.hits.discovery).toBe(discoveries);
      const listed = await providers(response.body_json.user.id, response.body_json.token);
      expect(listed.body_json.providers).toEqual([{ provider: 'corp', email, linked_at: expect.any(String) }]);
    } finally {
      await direct.close();
    }
  });
});

describe('GET /api/v1/users/{user_id}/providers', () => {
  it('yourself and platform staff 200; a manager who sees the user 403; others 404; no token 401', async () => {
    const team = await companyWithTeam(ctx);
    const staff = await createUser(ctx, { superadmin: true });
    const get = (userId: number, token?: string) =>
      call(ctx.app, 'GET', `/api/v1/users/${userId}/providers`, token ? { token } : {});
    const own = await get(team.agent.id, team.agent.token);
    expect(own.statusCode).toBe(200);
    expect(own.body_json.providers).toEqual([
      { provider: 'password', email: team.agent.email, linked_at: expect.any(String) },
    ]);
    expect((await get(team.agent.id, staff.token)).body_json).toEqual(own.body_json);
    const byManager = await get(team.agent.id, team.manager.token);
    expect(byManager.statusCode).toBe(403);
    expect(byManager.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect((await get(team.agent.id, team.admin.token)).statusCode).toBe(403);
    expect((await get(team.agent.id, team.outsider.token)).statusCode).toBe(404);
    expect((await get(999_999_999, staff.token)).statusCode).toBe(404);
    expect((await get(team.agent.id)).statusCode).toBe(401);
  });

  it('lists every linked identity, oldest first, beside the password', async () => {
    const user = await createUser(ctx, { emailVerifiedAt: new Date() });
    await login(await idToken({ sub: subject(), email: user.email }));
    await ctx.database.db.insert(userProviders).values({
      userId: user.id,
      provider: 'google',
      subject: subject(),
      email: user.email,
      linkedAt: new Date(Date.now() + 1000),
    });
    const response = await providers(user.id, user.token);
    expect(response.body_json.providers.map((p: Json) => p.provider)).toEqual(['password', 'oidc', 'google']);
  });
});

describe('OIDC settings', () => {
  it('are off by default, and need the issuer and the client id together', () => {
    expect(loadConfig({}).oidc).toBeUndefined();
    expect(loadConfig({ OIDC_ISSUER: 'https://id.example.com', OIDC_CLIENT_ID: 'app' }).oidc).toEqual({
      issuer: 'https://id.example.com',
      clientId: 'app',
      jwksUri: undefined,
      providerName: 'oidc',
    });
    const bad = [
      { OIDC_ISSUER: 'https://id.example.com' },
      { OIDC_CLIENT_ID: 'app' },
      { OIDC_ISSUER: 'ftp://id.example.com', OIDC_CLIENT_ID: 'app' },
      { OIDC_ISSUER: 'https://id.example.com', OIDC_CLIENT_ID: 'app', OIDC_JWKS_URI: 'not a url' },
      { OIDC_ISSUER: 'https://id.example.com', OIDC_CLIENT_ID: 'app', OIDC_PROVIDER_NAME: 'password' },
      { OIDC_ISSUER: 'https://id.example.com', OIDC_CLIENT_ID: 'app', OIDC_PROVIDER_NAME: 'Big Name' },
    ];
    for (const env of bad) {
      expect(() => loadConfig(env), JSON.stringify(env)).toThrow(ConfigError);
      expect(() => loadConfig(env)).toThrow(/OIDC_/);
    }
  });
});
