import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobs, users } from '../../src/db/schema/index.ts';
import { buildTestApp, call, type Json, type TestContext } from '../helpers/app.ts';
import { createUser, PASSWORD, type TestUser, uniqueEmail } from '../helpers/factories.ts';
import { runJobs } from '../helpers/jobs.ts';
import { mailCount, tokenFromMail, waitForMail } from '../helpers/outbox.ts';

/**
 * Issue 10's identity rules: verified email, revocation of every credential of an old state, per-account login
 * throttling and reset caps. Each reproduction of the issue is a test here.
 */
let ctx: TestContext;
beforeAll(async () => {
  ctx = await buildTestApp();
});
afterAll(() => ctx.close());

const login = (email: string, password = PASSWORD) =>
  call(ctx.app, 'POST', '/api/v1/users/login', { body: { email, password } });
const me = (token: string) => call(ctx.app, 'GET', '/api/v1/users/validate_jwt', { token });
const verify = (token: string) => call(ctx.app, 'POST', '/api/v1/users/verify_email', { body: { token } });
const resend = (token: string) => call(ctx.app, 'POST', '/api/v1/users/verify_email/resend', { token });
const requestReset = (email: string) => call(ctx.app, 'POST', '/api/v1/users/reset_password', { body: { email } });
const confirmReset = (token: string, password: string) =>
  call(ctx.app, 'PUT', '/api/v1/users/reset_password', { body: { token, password } });
const newFeed = async (user: TestUser) =>
  (await call(ctx.app, 'POST', '/api/v1/appointments/feed', { token: user.token })).body_json.feed.token as string;
const feed = (token: string) => call(ctx.app, 'GET', `/api/v1/appointments.ics?token=${token}`);

async function signUp(email = uniqueEmail('signup')) {
  const response = await call(ctx.app, 'POST', '/api/v1/users', {
    body: { first_name: 'New', last_name: 'Person', email, password: PASSWORD },
  });
  expect(response.statusCode, response.body).toBe(201);
  const token = (await login(email)).body_json.token as string;
  return { id: response.body_json.user.id as number, email, token, user: response.body_json.user as Json };
}

describe('verified email', () => {
  it('sign-up mails a single-use token that verifies the address', async () => {
    const created = await signUp();
    expect(created.user).toMatchObject({ email_verified: false, pending_email: null });
    const token = await tokenFromMail(ctx, created.email);
    const verified = await verify(token);
    expect(verified.statusCode).toBe(200);
    expect(verified.body_json.user).toMatchObject({ id: created.id, email_verified: true });
    expect((await me(created.token)).body_json.user.email_verified).toBe(true);
    // Single use.
    expect((await verify(token)).statusCode).toBe(422);
    // Nothing is left to verify.
    const again = await resend(created.token);
    expect(again.statusCode).toBe(409);
    expect(again.body_json.code).toBe('already_verified');
  });

  it('refuses unknown and expired tokens with 422', async () => {
    expect((await verify('x'.repeat(43))).statusCode).toBe(422);
    const created = await signUp();
    const token = await tokenFromMail(ctx, created.email);
    ctx.clock.advance(25 * 3_600_000);
    const expired = await verify(token);
    expect(expired.statusCode).toBe(422);
    expect(expired.body_json.errors).toEqual([expect.objectContaining({ field: 'token', code: 'invalid_token' })]);
  });

  it('re-sends on request, at most 5 mails an hour per account (429 with Retry-After)', async () => {
    const created = await signUp(); // the sign-up mail is the first of the hour
    for (let n = 0; n < 4; n++) expect((await resend(created.token)).statusCode).toBe(202);
    const refused = await resend(created.token);
    expect(refused.statusCode).toBe(429);
    expect(refused.body_json.code).toBe('verification_budget');
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    expect(await mailCount(ctx, created.email)).toBe(5);
    // Any of the mailed tokens works: the newest here.
    expect((await verify(await tokenFromMail(ctx, created.email))).statusCode).toBe(200);
  });

  it('keeps the old address until the new one is confirmed, then ends every credential of the old state', async () => {
    const user = await createUser(ctx, { emailVerifiedAt: new Date() });
    const feedToken = await newFeed(user);
    const next = uniqueEmail('next');
    const changed = await call(ctx.app, 'PATCH', `/api/v1/users/${user.id}`, {
      token: user.token,
      body: { email: next, current_password: PASSWORD },
    });
    expect(changed.statusCode).toBe(200);
    expect(changed.body_json.user).toMatchObject({ email: user.email, pending_email: next, email_verified: true });
    // Nothing changed yet: the old address still signs in, the session and the feed still work.
    expect((await login(user.email)).statusCode).toBe(200);
    expect((await me(user.token)).statusCode).toBe(200);
    expect((await feed(feedToken)).statusCode).toBe(200);

    const confirmed = await verify(await tokenFromMail(ctx, next));
    expect(confirmed.statusCode).toBe(200);
    expect(confirmed.body_json.user).toMatchObject({ email: next, pending_email: null, email_verified: true });
    expect((await me(user.token)).statusCode).toBe(401);
    expect((await feed(feedToken)).statusCode).toBe(404);
    expect((await login(user.email)).statusCode).toBe(401);
    expect((await login(next)).statusCode).toBe(200);
  });

  it('refuses a confirmation whose address another account took meanwhile (409), and a superseded token (422)', async () => {
    const user = await createUser(ctx);
    const wanted = uniqueEmail('wanted');
    const patch = (email: string) =>
      call(ctx.app, 'PATCH', `/api/v1/users/${user.id}`, {
        token: user.token,
        body: { email, current_password: PASSWORD },
      });
    expect((await patch(wanted)).statusCode).toBe(200);
    const token = await tokenFromMail(ctx, wanted);
    await createUser(ctx, { email: wanted });
    const taken = await verify(token);
    expect(taken.statusCode).toBe(409);
    expect(taken.body_json.code).toBe('email_taken');

    const first = uniqueEmail('first');
    expect((await patch(first)).statusCode).toBe(200);
    const stale = await tokenFromMail(ctx, first);
    expect((await patch(uniqueEmail('second'))).statusCode).toBe(200);
    expect((await verify(stale)).statusCode).toBe(422);
  });
});

describe('revocation', () => {
  it('a password change ends JWTs, calendar feeds and reset tokens asked for before it', async () => {
    const user = await createUser(ctx);
    const feedToken = await newFeed(user);
    await requestReset(user.email);
    const resetToken = await tokenFromMail(ctx, user.email);
    const changed = await call(ctx.app, 'PATCH', `/api/v1/users/${user.id}`, {
      token: user.token,
      body: { password: 'a different passphrase', current_password: PASSWORD },
    });
    expect(changed.statusCode).toBe(200);
    expect((await me(user.token)).statusCode).toBe(401);
    expect((await feed(feedToken)).statusCode).toBe(404);
    expect((await confirmReset(resetToken, 'yet another passphrase')).statusCode).toBe(422);
    expect((await login(user.email, 'a different passphrase')).statusCode).toBe(200);
  });

  it('a reset ends the calendar feeds too, proves the mailbox and lifts a login lock', async () => {
    const user = await createUser(ctx);
    const feedToken = await newFeed(user);
    for (let n = 0; n < 10; n++) await login(user.email, 'wrong guess');
    await requestReset(user.email);
    const reset = await confirmReset(await tokenFromMail(ctx, user.email), 'the new passphrase');
    expect(reset.statusCode).toBe(200);
    expect(reset.body_json.user.email_verified).toBe(true);
    expect((await feed(feedToken)).statusCode).toBe(404);
    expect((await login(user.email, 'the new passphrase')).statusCode).toBe(200);
  });

  it('refuses a deactivated user’s feed and tokens', async () => {
    const user = await createUser(ctx);
    const staff = await createUser(ctx, { superadmin: true });
    const feedToken = await newFeed(user);
    const off = await call(ctx.app, 'PATCH', `/api/v1/users/${user.id}`, {
      token: staff.token,
      body: { status: 'inactive' },
    });
    expect(off.statusCode).toBe(200);
    expect((await me(user.token)).statusCode).toBe(401);
    expect((await feed(feedToken)).statusCode).toBe(404);
    // Reactivated, the old feed stays dead.
    await call(ctx.app, 'PATCH', `/api/v1/users/${user.id}`, { token: staff.token, body: { status: 'active' } });
    expect((await feed(feedToken)).statusCode).toBe(404);
  });
});

describe('per-account login throttling', () => {
  it('backs off after 5 failures and locks after 10, mailing the owner once; answers stay identical', async () => {
    const user = await createUser(ctx);
    const unknown = await login(uniqueEmail('nobody'), 'wrong guess');
    for (let n = 1; n <= 4; n++) expect((await login(user.email, 'wrong guess')).statusCode).toBe(401);
    expect((await login(user.email)).statusCode).toBe(200); // a success clears the count

    // Counted per account, whatever address the guesses come from (the per-IP limit is another layer).
    for (let n = 1; n <= 10; n++) {
      await login(user.email, 'wrong guess');
      ctx.clock.advance(20_000); // past each back-off, so every guess is checked
    }
    const [row] = await ctx.database.db.select().from(users).where(eq(users.id, user.id));
    expect(row!.failedLogins).toBe(10);
    expect(row!.lockedUntil!.getTime()).toBeGreaterThan(ctx.clock.now().getTime() + 14 * 60_000);

    // Locked: the right password answers exactly like a wrong one and like an unknown address.
    const locked = await login(user.email);
    const wrong = await login(user.email, 'wrong guess');
    const strip = (response: { statusCode: number; body_json: Json }) => {
      const { request_id: _id, ...rest } = response.body_json;
      return { status: response.statusCode, ...rest };
    };
    expect(strip(locked)).toEqual(strip(unknown));
    expect(strip(wrong)).toEqual(strip(unknown));
    const lockMail = await waitForMail(ctx, user.email);
    expect(lockMail.subject).toMatch(/paused/);
    expect(await mailCount(ctx, user.email)).toBe(1);

    ctx.clock.advance(15 * 60_000 + 1000);
    expect((await login(user.email)).statusCode).toBe(200);
  });

  it('keeps failures under 100 an hour whatever the attacker does', async () => {
    const user = await createUser(ctx);
    let checked = 0;
    const start = ctx.clock.now().getTime();
    while (ctx.clock.now().getTime() - start < 3_600_000) {
      await login(user.email, 'wrong guess');
      const [row] = await ctx.database.db.select().from(users).where(eq(users.id, user.id));
      checked = row!.failedLogins;
      ctx.clock.advance(30_000);
    }
    expect(checked).toBeLessThan(100);
    expect(checked).toBeGreaterThanOrEqual(10);
  });
});

describe('password reset requests', () => {
  it('queue the same job for known and unknown addresses, and mail an account at most 3 times an hour', async () => {
    const user = await createUser(ctx);
    const before = await ctx.database.db.select().from(jobs).where(eq(jobs.kind, 'password_reset'));
    const known = await requestReset(user.email);
    const unknown = await requestReset(uniqueEmail('nobody'));
    expect(known.body).toBe(unknown.body);
    const after = await ctx.database.db.select().from(jobs).where(eq(jobs.kind, 'password_reset'));
    expect(after.length - before.length).toBe(2);
    // The address waits sealed in the queue.
    expect(JSON.stringify(after.map((job) => job.payload))).not.toContain(user.email);

    for (let n = 0; n < 5; n++) await requestReset(user.email);
    await runJobs(ctx, 200);
    expect(await mailCount(ctx, user.email)).toBe(3);
    ctx.clock.advance(3_600_000 + 1000);
    await requestReset(user.email);
    expect(await mailCount(ctx, user.email)).toBe(4);
  });
});
