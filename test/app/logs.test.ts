import { DrizzleQueryError } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogging } from '../../src/plugins/logging.ts';
import { buildTestApp, call, type Json, type TestContext } from '../helpers/app.ts';
import { accessId, createUser, PASSWORD, subscribe, uniqueEmail } from '../helpers/factories.ts';
import { waitForMail } from '../helpers/outbox.ts';

let ctx: TestContext;
const lines: string[] = [];
beforeAll(async () => {
  ctx = await buildTestApp({}, { logLines: lines });
});
afterAll(() => ctx.close());

/** The one long base64url run of a mail: the token it carries, whatever the wording around it. */
function tokenIn(text: string): string {
  const token = /[A-Za-z0-9_-]{40,}/.exec(text)?.[0];
  if (!token) throw new Error('no token in the mail');
  return token;
}

const logged = () => lines.map((line) => JSON.parse(line) as Json);

async function expectStatus(promise: Promise<{ statusCode: number; body: string }>, status: number) {
  const response = await promise;
  expect(response.statusCode, response.body).toBe(status);
  return response as Awaited<ReturnType<typeof call>>;
}

async function signupAndLogin(email: string, password: string): Promise<string> {
  const body = { first_name: 'Logan', last_name: 'Quiet', email, password };
  await expectStatus(call(ctx.app, 'POST', '/api/v1/users', { body }), 201);
  const login = await expectStatus(call(ctx.app, 'POST', '/api/v1/users/login', { body: { email, password } }), 200);
  return login.body_json.token as string;
}

describe('the request log', () => {
  it('holds none of the secrets or personal data a whole flow used', async () => {
    const adminEmail = uniqueEmail('logadmin');
    const inviteeEmail = uniqueEmail('loginvitee');
    const adminPassword = 'admin password that must not be logged';
    const inviteePassword = 'invitee password that must not be logged';
    const newPassword = 'reset password that must not be logged';
    const searchTerm = 'zebrafinchsearch';

    const adminToken = await signupAndLogin(adminEmail, adminPassword);
    const company = (
      await expectStatus(
        call(ctx.app, 'POST', '/api/v1/companies', { token: adminToken, body: { name: 'Quiet Logs Inc' } }),
        201,
      )
    ).body_json.company as Json;
    await subscribe(ctx, company.id);
    const invitation = await expectStatus(
      call(ctx.app, 'POST', `/api/v1/companies/${company.id}/invitations`, {
        token: adminToken,
        body: { email: inviteeEmail, access_id: await accessId(ctx, 'agent') },
      }),
      201,
    );
    const code = invitation.body_json.invitation.code as string;
    await expectStatus(call(ctx.app, 'GET', `/api/v1/invitations/${code}`), 200);
    const inviteeToken = await signupAndLogin(inviteeEmail, inviteePassword);
    const accepted = await call(ctx.app, 'POST', `/api/v1/invitations/${code}/accept`, { token: inviteeToken });
    expect(accepted.statusCode, accepted.body).toBeLessThan(300);

    await expectStatus(call(ctx.app, 'GET', `/api/v1/users?q=${searchTerm}&limit=5`, { token: adminToken }), 200);
    const found = await call(ctx.app, 'GET', `/api/v1/users/find_by_email?email=${encodeURIComponent(inviteeEmail)}`, {
      token: adminToken,
    });
    expect([200, 404]).toContain(found.statusCode);

    // A user with no mail yet, so the newest mail to them is the reset mail.
    const resetUser = await createUser(ctx);
    const reset = { body: { email: resetUser.email } };
    await expectStatus(call(ctx.app, 'POST', '/api/v1/users/reset_password', reset), 202);
    const resetToken = tokenIn((await waitForMail(ctx, resetUser.email)).text);
    await expectStatus(
      call(ctx.app, 'PUT', '/api/v1/users/reset_password', { body: { token: resetToken, password: newPassword } }),
      200,
    );

    const feed = (await expectStatus(call(ctx.app, 'POST', '/api/v1/appointments/feed', { token: adminToken }), 201))
      .body_json.feed as Json;
    await expectStatus(call(ctx.app, 'GET', `/api/v1/appointments.ics?token=${feed.token}`), 200);

    // Mistyped paths: no route, so no template; the raw path must not be logged either.
    await expectStatus(call(ctx.app, 'POST', `/api/v1/invitations/${code}/acept`, { token: inviteeToken }), 404);
    await expectStatus(call(ctx.app, 'GET', `/api/v1/user/find_by_email?email=${inviteeEmail}`), 404);
    // This one matches /api/v1/users/:user_id, which logs its template and no token (401 before validation).
    await call(ctx.app, 'GET', `/api/v1/users/find_by_emial?email=${inviteeEmail}`);
    await expectStatus(call(ctx.app, 'GET', `/api/v1/appointmentz.ics?token=${feed.token}`), 404);

    const secrets = {
      code,
      feedToken: feed.token as string,
      resetToken,
      adminEmail,
      inviteeEmail,
      resetEmail: resetUser.email,
      searchTerm,
      adminPassword,
      inviteePassword,
      newPassword,
      factoryPassword: PASSWORD,
      adminToken,
      inviteeToken,
      resetUserToken: resetUser.token,
    };
    const text = lines.join('');
    expect(lines.length).toBeGreaterThan(20);
    for (const [name, secret] of Object.entries(secrets)) {
      expect(text.includes(secret), `${name} is in the log`).toBe(false);
      expect(text.includes(encodeURIComponent(secret)), `${name} (URL-encoded) is in the log`).toBe(false);
    }

    const urls = logged()
      .map((line) => line.req?.url as string | undefined)
      .filter(Boolean);
    expect(urls).toContain('/api/v1/invitations/:code/accept');
    expect(urls).toContain('/api/v1/users?q=[redacted]&limit=5');
    expect(urls).toContain('/api/v1/users/find_by_email?email=[redacted]');
    expect(urls).toContain('/api/v1/invitations/[redacted]/[redacted]');
    expect(urls).toContain('/api/v1/[redacted]/find_by_email?email=[redacted]');
    expect(urls).toContain('/api/v1/users/:user_id?email=[redacted]');
    expect(urls).toContain(`/api/v1/companies/:company_id/invitations`);
  });

  it('keeps numeric ids, harmless query values and the known segments of a mistyped path', async () => {
    const user = await createUser(ctx);
    lines.length = 0;
    await call(ctx.app, 'GET', `/api/v1/users/${user.id}?sort=-created_at&count=true&limit=abc${user.token}`, {
      token: user.token,
    });
    await call(ctx.app, 'GET', `/api/v1/users/${user.id}/nothing-here/${user.email}?${user.email}=1`);
    const requests = logged()
      .filter((line) => line.msg === 'incoming request')
      .map((line) => line.req as Json);
    expect(requests[0]).toMatchObject({
      method: 'GET',
      url: '/api/v1/users/:user_id?sort=-created_at&count=true&limit=[redacted]',
      params: { user_id: String(user.id) },
    });
    expect(requests[1]).toMatchObject({
      url: `/api/v1/users/${user.id}/[redacted]/[redacted]?[redacted]=[redacted]`,
    });
    expect(lines.join('')).not.toContain(user.email);
    expect(lines.join('')).not.toContain(user.token);
  });
});

describe('the error serializer', () => {
  it('keeps the SQL, the codes and the causes of a failed query, never its values or an address', () => {
    const cause = Object.assign(new Error('duplicate key value violates unique constraint "users_email_unique"'), {
      code: '23505',
      detail: 'Key (email)=(ann.secret@example.com) already exists.',
    });
    const failed = new DrizzleQueryError(
      'insert into "users" ("email") values ($1)',
      ['ann.secret@example.com'],
      cause,
    );
    const smtp = Object.assign(new Error('Recipient address rejected: <bob.secret@example.com>'), {
      rejected: ['bob.secret@example.com'],
      response: '550 5.1.1 <bob.secret@example.com>: no such user',
    });
    const { serializers } = createLogging();
    const query = serializers.err(failed);
    expect(query.message).toBe(
      'Failed query: insert into "users" ("email") values ($1): duplicate key value violates unique constraint ' +
        '"users_email_unique"',
    );
    expect(query.stack).toContain('at ');
    expect(query.query).toBe('insert into "users" ("email") values ($1)');
    const text = JSON.stringify([query, serializers.err(cause), serializers.err(smtp)]);
    expect(text).toContain('23505');
    expect(text).not.toContain('ann.secret');
    expect(text).not.toContain('bob.secret');
  });
});
