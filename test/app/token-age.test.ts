import { createSecretKey } from 'node:crypto';
import { decodeJwt, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, call, type TestContext } from '../helpers/app.ts';
import { createUser, type TestUser } from '../helpers/factories.ts';

let ctx: TestContext;
let user: TestUser;
beforeAll(async () => {
  ctx = await buildTestApp();
  user = await createUser(ctx);
});
afterAll(() => ctx.close());

const TEN_YEARS = 10 * 365 * 86_400;
const nowSeconds = () => Math.floor(ctx.clock.now().getTime() / 1000);

/** A token signed with the server's own secret, issuer and audience: only its times differ from a real one. */
function forge(claims: { iat?: number; exp: number }): Promise<string> {
  const jwt = new SignJWT({ ver: decodeJwt(user.token).ver })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(String(user.id))
    .setIssuer(ctx.config.publicUrl)
    .setAudience('leadsy-api')
    .setExpirationTime(claims.exp);
  if (claims.iat !== undefined) jwt.setIssuedAt(claims.iat);
  return jwt.sign(createSecretKey(Buffer.from(ctx.config.jwtSecret, 'utf8')));
}

const validate = (token: string) => call(ctx.app, 'GET', '/api/v1/users/validate_jwt', { token });

describe('token age', () => {
  it('accepts a token from login', async () => {
    expect((await validate(user.token)).statusCode).toBe(200);
  });

  it('refuses a token issued longer than JWT_TTL ago, whatever its exp', async () => {
    const ttl = ctx.config.jwtTtlSeconds;
    const old = await forge({ iat: nowSeconds() - ttl - 3600, exp: nowSeconds() + TEN_YEARS });
    const response = await validate(old);
    expect(response.statusCode).toBe(401);
    expect(response.body_json.code).toBe('unauthorized');
  });

  it('refuses a token without iat, and one issued in the future', async () => {
    expect((await validate(await forge({ exp: nowSeconds() + 3600 }))).statusCode).toBe(401);
    const future = await forge({ iat: nowSeconds() + 3600, exp: nowSeconds() + 7200 });
    expect((await validate(future)).statusCode).toBe(401);
  });

  it('lets a long-lived token through only until JWT_TTL after its iat, even once cached', async () => {
    const fresh = await forge({ iat: nowSeconds(), exp: nowSeconds() + TEN_YEARS });
    expect((await validate(fresh)).statusCode).toBe(200);
    ctx.clock.advance((ctx.config.jwtTtlSeconds + 120) * 1000);
    expect((await validate(fresh)).statusCode).toBe(401);
  });
});
