import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, call, type Response, type TestContext } from '../helpers/app.ts';
import { accessId, companyWithTeam, PASSWORD } from '../helpers/factories.ts';
import { waitForMail } from '../helpers/outbox.ts';

let ctx: TestContext;
beforeAll(async () => {
  ctx = await buildTestApp();
});
afterAll(() => ctx.close());

const FORBIDDEN = [
  /password_?hash/i,
  /token_?version/i,
  /\$argon2/,
  /code_?hash/i,
  /token_?hash/i,
  /secret_?hash/i,
  /superadmin/i,
];

describe('secrets never leave the API', () => {
  it('no response carries a password hash, a token version or a reset token', async () => {
    const responses: Response[] = [];
    const record = async (promise: Promise<Response>) => {
      const response = await promise;
      responses.push(response);
      return response;
    };
    const { company, admin, agent } = await companyWithTeam(ctx);
    await record(call(ctx.app, 'GET', '/api/v1/users/validate_jwt', { token: admin.token }));
    await record(call(ctx.app, 'GET', `/api/v1/users/${agent.id}`, { token: admin.token }));
    await record(call(ctx.app, 'GET', '/api/v1/users?count=true', { token: admin.token }));
    await record(call(ctx.app, 'GET', `/api/v1/users/find_by_email?email=${agent.email}`, { token: admin.token }));
    await record(call(ctx.app, 'PATCH', `/api/v1/users/${agent.id}`, { token: agent.token, body: { lang: 'fr' } }));
    await record(call(ctx.app, 'GET', `/api/v1/users/${agent.id}/user_access`, { token: admin.token }));
    await record(
      call(ctx.app, 'PUT', `/api/v1/users/${agent.id}/user_access/${agent.userAccessId}`, {
        token: admin.token,
        body: { access_id: await accessId(ctx, 'manager') },
      }),
    );
    await record(call(ctx.app, 'GET', '/api/v1/companies', { token: admin.token }));
    await record(call(ctx.app, 'GET', `/api/v1/companies/${company.id}`, { token: admin.token }));
    // An API key's secret is in its creation answer only: never listed, shown, or echoed to the key itself (keys are
    // managed by people; the key reads its company).
    const keys = `/api/v1/companies/${company.id}/api_keys`;
    const created = await call(ctx.app, 'POST', keys, {
      token: admin.token,
      body: { name: 'Integration', access_id: await accessId(ctx, 'admin') },
    });
    const apiKeySecret = created.body_json.secret as string;
    expect(apiKeySecret).toMatch(/^lsk_/);
    await record(call(ctx.app, 'GET', keys, { token: admin.token }));
    await record(call(ctx.app, 'GET', `${keys}/${created.body_json.api_key.id}`, { token: admin.token }));
    await record(call(ctx.app, 'GET', `/api/v1/companies/${company.id}`, { token: apiKeySecret }));
    await record(call(ctx.app, 'POST', '/api/v1/users/login', { body: { email: agent.email, password: PASSWORD } }));
    await record(call(ctx.app, 'POST', '/api/v1/users/reset_password', { body: { email: agent.email } }));
    const mail = await waitForMail(ctx, agent.email);
    const resetToken = /\n\n([A-Za-z0-9_-]{40,})\n\n/.exec(mail.text)![1]!;
    await record(
      call(ctx.app, 'PUT', '/api/v1/users/reset_password', { body: { token: resetToken, password: 'fresh password' } }),
    );
    await record(call(ctx.app, 'GET', '/openapi.json'));

    expect(responses.every((response) => response.statusCode < 300)).toBe(true);
    for (const response of responses) {
      const body = response.body;
      for (const pattern of FORBIDDEN) expect(body, `${response.raw.req.url}`).not.toMatch(pattern);
      expect(body).not.toContain(resetToken);
      expect(body).not.toContain(apiKeySecret.slice(4));
    }
  });
});
