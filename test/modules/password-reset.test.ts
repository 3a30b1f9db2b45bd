import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { passwordResets } from '../../src/db/schema/index.ts';
import { buildTestApp, call, type TestContext } from '../helpers/app.ts';
import { createUser, PASSWORD, uniqueEmail } from '../helpers/factories.ts';
import { mailCount, waitForMail } from '../helpers/outbox.ts';

let ctx: TestContext;
beforeAll(async () => {
  ctx = await buildTestApp();
});
afterAll(() => ctx.close());

const requestReset = (email: string) => call(ctx.app, 'POST', '/api/v1/users/reset_password', { body: { email } });
const confirm = (token: string, password: string) =>
  call(ctx.app, 'PUT', '/api/v1/users/reset_password', { body: { token, password } });

function tokenFrom(text: string): string {
  const match = /\n\n([A-Za-z0-9_-]{40,})\n\n/.exec(text);
  if (!match?.[1]) throw new Error('no token in the mail');
  return match[1];
}

describe('password reset', () => {
  it('answers 202 the same way for known and unknown addresses, and mails only the known one', async () => {
    const user = await createUser(ctx);
    const unknownEmail = uniqueEmail();
    const known = await requestReset(user.email.toUpperCase());
    const unknown = await requestReset(unknownEmail);
    expect(known.statusCode).toBe(202);
    expect(unknown.statusCode).toBe(202);
    expect(known.body).toBe(unknown.body);
    await waitForMail(ctx, user.email);
    expect(await mailCount(ctx, unknownEmail)).toBe(0);
  });

  it('resets with the mailed token once, revoking earlier JWTs and other reset tokens', async () => {
    const user = await createUser(ctx);
    await requestReset(user.email);
    const firstToken = tokenFrom((await waitForMail(ctx, user.email)).text);
    await requestReset(user.email);
    for (let i = 0; i < 100 && (await mailCount(ctx, user.email)) < 2; i++) await new Promise((r) => setTimeout(r, 20));
    const secondToken = tokenFrom((await waitForMail(ctx, user.email)).text);
    expect(secondToken).not.toBe(firstToken);

    const reset = await confirm(secondToken, 'brand new password');
    expect(reset.statusCode).toBe(200);
    expect(reset.body_json.user.email).toBe(user.email);

    expect((await call(ctx.app, 'GET', '/api/v1/users/validate_jwt', { token: user.token })).statusCode).toBe(401);
    expect((await confirm(secondToken, 'another password')).statusCode).toBe(422);
    expect((await confirm(firstToken, 'another password')).statusCode).toBe(422);
    const oldLogin = await call(ctx.app, 'POST', '/api/v1/users/login', {
      body: { email: user.email, password: PASSWORD },
    });
    expect(oldLogin.statusCode).toBe(401);
    const newLogin = await call(ctx.app, 'POST', '/api/v1/users/login', {
      body: { email: user.email, password: 'brand new password' },
    });
    expect(newLogin.statusCode).toBe(200);
  });

  it('stores only a hash of the token, and refuses it once expired', async () => {
    const user = await createUser(ctx);
    await requestReset(user.email);
    const token = tokenFrom((await waitForMail(ctx, user.email)).text);
    const rows = await ctx.database.db.select().from(passwordResets).where(eq(passwordResets.userId, user.id));
    expect(rows.map((row) => row.tokenHash)).not.toContain(token);

    ctx.clock.advance(ctx.config.passwordResetTtlSeconds * 1000 + 1000);
    try {
      const expired = await confirm(token, 'brand new password');
      expect(expired.statusCode).toBe(422);
      expect(expired.body_json.errors[0]).toMatchObject({ field: 'token', code: 'invalid_token' });
    } finally {
      ctx.clock.advance(-(ctx.config.passwordResetTtlSeconds * 1000 + 1000));
    }
  });

  it('validates the new password', async () => {
    const response = await confirm('x'.repeat(43), 'short');
    expect(response.statusCode).toBe(422);
    expect(response.body_json.errors.map((e: { field: string }) => e.field)).toEqual(['password']);
  });
});
