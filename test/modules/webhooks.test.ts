import { and, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { events, jobs, webhookDeliveries, webhookEndpoints } from '../../src/db/schema/index.ts';
import { createJobRunner } from '../../src/jobs/runner.ts';
import { createStorage } from '../../src/lib/storage/index.ts';
import { EVENT_RETENTION_JOB, ensureRetentionJob } from '../../src/modules/webhooks/event-retention.job.ts';
import { createServices } from '../../src/services.ts';
import { buildTestApp, call, type Json, type TestContext } from '../helpers/app.ts';
import { companyWithTeam, PASSWORD } from '../helpers/factories.ts';
import { runJobs } from '../helpers/jobs.ts';
import { multipart } from '../helpers/multipart.ts';
import {
  append,
  deliverUntil,
  leadCreated,
  type Receiver,
  signaturesMatching,
  startReceiver,
} from './webhooks-helpers.ts';

type Team = Awaited<ReturnType<typeof companyWithTeam>>;

const base = (team: Team) => `/api/v1/companies/${team.company.id}/webhooks`;

async function createWebhook(ctx: TestContext, team: Team, body: Json) {
  const response = await call(ctx.app, 'POST', base(team), { token: team.admin.token, body });
  if (response.statusCode !== 201) throw new Error(`webhook creation failed: ${response.body}`);
  return response.body_json as { webhook: Json; secret: string };
}

async function deliveries(ctx: TestContext, team: Team, webhookId: number): Promise<Json[]> {
  const response = await call(ctx.app, 'GET', `${base(team)}/${webhookId}/deliveries?limit=100`, {
    token: team.admin.token,
  });
  expect(response.statusCode).toBe(200);
  return response.body_json.deliveries as Json[];
}

describe('webhooks: configuration', () => {
  it('reads the retry schedule and the other settings, and names a bad value', () => {
    const defaults = loadConfig({});
    expect(defaults.webhookRetryScheduleMs).toEqual([5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36e6, 36e6]);
    expect(defaults.webhookRetryScheduleMs.reduce((a, b) => a + b)).toBeGreaterThanOrEqual(86_400_000);
    expect(defaults).toMatchObject({
      webhookAllowPrivate: false,
      webhookTimeoutMs: 10_000,
      webhookDisableAfterMs: 5 * 86_400_000,
      eventRetentionMs: 30 * 86_400_000,
    });
    expect(loadConfig({ WEBHOOK_RETRY_SCHEDULE: '1s, 2s,500ms' }).webhookRetryScheduleMs).toEqual([1000, 2000, 500]);
    for (const [name, value] of [
      ['WEBHOOK_RETRY_SCHEDULE', '5x'],
      ['WEBHOOK_RETRY_SCHEDULE', '1s,,2s'],
      ['WEBHOOK_RETRY_SCHEDULE', '8d'],
      ['WEBHOOK_TIMEOUT', '0s'],
      ['WEBHOOK_ALLOW_PRIVATE', 'yes'],
      ['EVENT_RETENTION', 'forever'],
      ['WEBHOOK_DISABLE_AFTER', '-1'],
    ]) {
      expect(() => loadConfig({ [name!]: value }), `${name}=${value}`).toThrow(name);
    }
  });
});

describe('webhooks: the API', () => {
  let ctx: TestContext;
  let team: Team;
  beforeAll(async () => {
    ctx = await buildTestApp();
    team = await companyWithTeam(ctx);
  });
  afterAll(() => ctx.close());

  it('creates a webhook with a secret shown once, lists, shows, updates and deletes it', async () => {
    const created = await createWebhook(ctx, team, {
      url: 'https://hooks.example.com/leadsy',
      events: ['lead.created', 'lead.updated'],
      description: 'CRM mirror',
    });
    expect(created.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(Buffer.from(created.secret.slice(6), 'base64')).toHaveLength(32);
    expect(created.webhook).toEqual({
      id: expect.any(Number),
      url: 'https://hooks.example.com/leadsy',
      events: ['lead.created', 'lead.updated'],
      enabled: true,
      description: 'CRM mirror',
      created_at: expect.any(String),
      disabled_reason: null,
    });
    const id = created.webhook.id as number;
    // Sealed at rest: the secret is not in the table.
    const [row] = await ctx.database.db.select().from(webhookEndpoints).where(eq(webhookEndpoints.id, id));
    expect(JSON.stringify(row)).not.toContain(created.secret.slice(6));

    const list = await call(ctx.app, 'GET', base(team), { token: team.admin.token });
    expect(list.statusCode).toBe(200);
    expect(list.body_json.webhooks).toEqual([created.webhook]);
    expect(list.body).not.toContain('whsec_');

    const shown = await call(ctx.app, 'GET', `${base(team)}/${id}`, { token: team.admin.token });
    expect(shown.body_json.webhook).toEqual(created.webhook);

    const patched = await call(ctx.app, 'PATCH', `${base(team)}/${id}`, {
      token: team.admin.token,
      body: { events: ['note.created'], enabled: false, description: null },
    });
    expect(patched.statusCode).toBe(200);
    expect(patched.body_json.webhook).toMatchObject({ events: ['note.created'], enabled: false, description: null });

    const deleted = await call(ctx.app, 'DELETE', `${base(team)}/${id}`, { token: team.admin.token });
    expect(deleted.statusCode).toBe(204);
    expect((await call(ctx.app, 'GET', `${base(team)}/${id}`, { token: team.admin.token })).statusCode).toBe(404);
  });

  it('refuses bad input with 422 naming the field', async () => {
    const cases: [Json, string][] = [
      [{ url: 'https://hooks.example.com', events: [] }, 'events'],
      [{ url: 'https://hooks.example.com', events: ['lead.exploded'] }, 'events'],
      [{ url: 'https://hooks.example.com', events: ['webhook.ping'] }, 'events'],
      [{ url: 'https://hooks.example.com', events: ['lead.created', 'lead.created'] }, 'events'],
      [{ url: 'https://hooks.example.com' }, 'events'],
      [{ url: 'not a url', events: ['lead.created'] }, 'url'],
      [{ url: 'http://hooks.example.com', events: ['lead.created'] }, 'url'],
      [{ url: 'https://127.0.0.1/hook', events: ['lead.created'] }, 'url'],
      [{ url: 'https://10.1.2.3/hook', events: ['lead.created'] }, 'url'],
      [{ url: 'https://169.254.169.254/latest', events: ['lead.created'] }, 'url'],
      [{ url: 'https://[::1]/hook', events: ['lead.created'] }, 'url'],
      [{ url: 'https://[::ffff:127.0.0.1]/hook', events: ['lead.created'] }, 'url'],
      [{ url: 'https://[fd00::1]/hook', events: ['lead.created'] }, 'url'],
      [{ url: 'https://localhost/hook', events: ['lead.created'] }, 'url'],
      [{ url: 'https://printer.local/hook', events: ['lead.created'] }, 'url'],
      [{ url: 'https://2130706433/hook', events: ['lead.created'] }, 'url'],
      [{ url: 'https://user:pw@hooks.example.com/', events: ['lead.created'] }, 'url'],
      [{ url: 'ftp://hooks.example.com/', events: ['lead.created'] }, 'url'],
    ];
    for (const [body, field] of cases) {
      const response = await call(ctx.app, 'POST', base(team), { token: team.admin.token, body });
      expect(response.statusCode, JSON.stringify(body)).toBe(422);
      const fields = (response.body_json.errors as Json[]).map((error) => error.field);
      expect(
        fields.some((name) => name.includes(field)),
        `${JSON.stringify(body)} → ${fields}`,
      ).toBe(true);
    }
    const { webhook } = await createWebhook(ctx, team, { url: 'https://hooks.example.com', events: ['lead.created'] });
    const patch = await call(ctx.app, 'PATCH', `${base(team)}/${webhook.id}`, {
      token: team.admin.token,
      body: { url: 'https://192.168.1.1/' },
    });
    expect(patch.statusCode).toBe(422);
    expect(patch.body_json.errors[0].field).toBe('url');
    const empty = await call(ctx.app, 'PATCH', `${base(team)}/${webhook.id}`, { token: team.admin.token, body: {} });
    expect(empty.statusCode).toBe(422);
  });

  it("answers 404 for another company's webhook and delivery, and 403 to a manager", async () => {
    const { webhook } = await createWebhook(ctx, team, { url: 'https://hooks.example.com', events: ['lead.created'] });
    const ping = await call(ctx.app, 'POST', `${base(team)}/${webhook.id}/ping`, { token: team.admin.token });
    expect(ping.statusCode).toBe(202);
    const deliveryId = ping.body_json.delivery.id as number;
    const other = `/api/v1/companies/${team.otherCompany.id}/webhooks`;
    for (const [method, url] of [
      ['GET', `${other}/${webhook.id}`],
      ['DELETE', `${other}/${webhook.id}`],
      ['GET', `${other}/${webhook.id}/deliveries/${deliveryId}`],
      ['POST', `${other}/${webhook.id}/deliveries/${deliveryId}/retry`],
      ['POST', `${other}/${webhook.id}/ping`],
    ] as const) {
      const response = await call(ctx.app, method, url, { token: team.outsider.token });
      expect(response.statusCode, `${method} ${url}`).toBe(404);
    }
    const manager = await call(ctx.app, 'GET', base(team), { token: team.manager.token });
    expect(manager.statusCode).toBe(403);
  });
});

describe('webhooks: deliveries', () => {
  let ctx: TestContext;
  let team: Team;
  const receivers: Receiver[] = [];
  beforeAll(async () => {
    ctx = await buildTestApp({
      WEBHOOK_ALLOW_PRIVATE: 'true',
      WEBHOOK_RETRY_SCHEDULE: '200ms,400ms',
      WEBHOOK_TIMEOUT: '1s',
    });
    team = await companyWithTeam(ctx);
  });
  afterAll(async () => {
    for (const receiver of receivers) await receiver.close();
    await ctx.close();
  });

  async function receiver(respond?: Parameters<typeof startReceiver>[0]) {
    const started = await startReceiver(respond);
    receivers.push(started);
    return started;
  }

  it('delivers subscribed events in order, signed (Standard Webhooks), retrying with the same webhook-id', async () => {
    // The first two attempts of the first event fail: the later events wait behind it.
    const hook = await receiver((_request, index) => ({ status: index < 2 ? 500 : 200, body: 'ok' }));
    const { webhook, secret } = await createWebhook(ctx, team, { url: hook.url, events: ['lead.created'] });
    hook.secrets.push(secret);
    await append(ctx, team.company.id, [leadCreated(1), { type: 'note.created', data: { id: 9 } }, leadCreated(2)]);
    await append(ctx, team.company.id, [leadCreated(3)]);
    await deliverUntil(ctx, () => hook.received.length >= 5);
    expect(hook.failures).toEqual([]);

    const ids = hook.received.map((request) => request.headers['webhook-id']);
    expect(ids[0]).toMatch(/^evt_\d+$/);
    expect(ids.slice(0, 3)).toEqual([ids[0], ids[0], ids[0]]);
    const bodies = hook.received.map((request) => JSON.parse(request.body));
    expect(bodies.map((body) => body.data.id)).toEqual([1, 1, 1, 2, 3]);
    expect(bodies[0]).toEqual({ type: 'lead.created', timestamp: expect.any(String), data: leadCreated(1).data });
    expect(hook.received[0]!.headers['content-type']).toBe('application/json');
    expect(Number(hook.received[0]!.headers['webhook-timestamp'])).toBeCloseTo(Date.now() / 1000, -2);

    const log = await deliveries(ctx, team, webhook.id);
    expect(log.map((delivery) => delivery.status)).toEqual(['succeeded', 'succeeded', 'succeeded']);
    const first = log.at(-1)!;
    expect(first.event_id).toBe(ids[0]);
    expect(first.event_type).toBe('lead.created');
    expect(first.attempts.map((attempt: Json) => attempt.status_code)).toEqual([500, 500, 200]);
    expect(first.attempts[0]).toMatchObject({ error: 'HTTP 500', duration_ms: expect.any(Number) });
    expect(first.attempts[2]).toMatchObject({ error: null, response_excerpt: 'ok' });
    const shown = await call(ctx.app, 'GET', `${base(team)}/${webhook.id}/deliveries/${first.id}`, {
      token: team.admin.token,
    });
    expect(shown.body_json.delivery).toEqual(first);
  });

  it('gives a delivery up after the schedule and moves on; a retry sends it once more', async () => {
    let failing = true;
    const hook = await receiver(() => ({ status: failing ? 503 : 200 }));
    const { webhook, secret } = await createWebhook(ctx, team, { url: hook.url, events: ['lead.updated'] });
    hook.secrets.push(secret);
    await append(ctx, team.company.id, [{ type: 'lead.updated', data: { id: 1 } }]);
    await deliverUntil(ctx, async () => (await deliveries(ctx, team, webhook.id))[0]?.status === 'failed');
    // The schedule has two delays: three attempts.
    expect(hook.received).toHaveLength(3);
    failing = false;
    await append(ctx, team.company.id, [{ type: 'lead.updated', data: { id: 2 } }]);
    await deliverUntil(ctx, () => hook.received.length === 4);
    const [second, first] = await deliveries(ctx, team, webhook.id);
    expect(second).toMatchObject({ status: 'succeeded' });
    expect(first).toMatchObject({ status: 'failed', next_attempt_at: null });

    const retry = await call(ctx.app, 'POST', `${base(team)}/${webhook.id}/deliveries/${first!.id}/retry`, {
      token: team.admin.token,
    });
    expect(retry.statusCode).toBe(202);
    expect(retry.body_json.delivery.status).toBe('pending');
    await deliverUntil(ctx, () => hook.received.length === 5);
    expect(hook.received[4]!.headers['webhook-id']).toBe(first!.event_id);
    await deliverUntil(ctx, async () => (await deliveries(ctx, team, webhook.id))[1]?.status === 'succeeded');
    expect(hook.failures).toEqual([]);
  });

  it('pings only the endpoint pinged', async () => {
    const pinged = await receiver();
    const other = await receiver();
    const a = await createWebhook(ctx, team, { url: pinged.url, events: ['lead.created'] });
    await createWebhook(ctx, team, { url: other.url, events: ['lead.created'] });
    pinged.secrets.push(a.secret);
    const ping = await call(ctx.app, 'POST', `${base(team)}/${a.webhook.id}/ping`, { token: team.admin.token });
    expect(ping.statusCode).toBe(202);
    expect(ping.body_json.delivery).toMatchObject({ event_type: 'webhook.ping', status: 'pending', attempts: [] });
    await deliverUntil(ctx, () => pinged.received.length === 1);
    await runJobs(ctx);
    expect(other.received).toHaveLength(0);
    const body = JSON.parse(pinged.received[0]!.body);
    expect(body.type).toBe('webhook.ping');
    expect(body.data).toMatchObject({ id: a.webhook.id, url: pinged.url });
    expect(pinged.received[0]!.headers['webhook-id']).toBe(ping.body_json.delivery.event_id);
    expect(pinged.failures).toEqual([]);
  });

  it('signs with both secrets for 24 h after a rotation, then with the new one only', async () => {
    const hook = await receiver();
    const { webhook, secret: old } = await createWebhook(ctx, team, { url: hook.url, events: ['lead.created'] });
    const rotated = await call(ctx.app, 'POST', `${base(team)}/${webhook.id}/rotate_secret`, {
      token: team.admin.token,
    });
    expect(rotated.statusCode).toBe(200);
    const fresh = rotated.body_json.secret as string;
    expect(fresh).toMatch(/^whsec_/);
    expect(fresh).not.toBe(old);
    expect(rotated.body_json.webhook.id).toBe(webhook.id);
    // Each secret on its own verifies the delivery.
    hook.secrets.push(old, fresh);
    await append(ctx, team.company.id, [leadCreated(10)]);
    await deliverUntil(ctx, () => hook.received.length === 1);
    expect(hook.failures).toEqual([]);
    expect(String(hook.received[0]!.headers['webhook-signature']).split(' ')).toHaveLength(2);

    ctx.clock.advance(24 * 3_600_000 + 60_000);
    try {
      hook.secrets.length = 0; // the library's 5-minute tolerance would refuse the moved clock's timestamp
      await append(ctx, team.company.id, [leadCreated(11)]);
      await deliverUntil(ctx, () => hook.received.length === 2);
      expect(signaturesMatching(fresh, hook.received[1]!)).toEqual([true]);
      expect(signaturesMatching(old, hook.received[1]!)).toEqual([false]);
    } finally {
      ctx.clock.advance(-(24 * 3_600_000 + 60_000));
    }
  });

  it('cuts a receiver that answers too slowly, does not follow redirects, reads only a capped excerpt', async () => {
    const slow = await receiver(() => ({ status: 200, delayMs: 5_000 }));
    const redirect = await receiver(() => ({ status: 302, headers: { location: slow.url } }));
    const huge = await receiver(() => ({ status: 500, body: Buffer.alloc(5_000_000, 'x') }));
    const made: Json[] = [];
    for (const target of [slow, redirect, huge]) {
      made.push((await createWebhook(ctx, team, { url: target.url, events: ['appointment.created'] })).webhook);
    }
    await append(ctx, team.company.id, [{ type: 'appointment.created', data: { id: 1 } }]);
    const firstAttempt = async (webhookId: number) => (await deliveries(ctx, team, webhookId))[0]?.attempts[0];
    await deliverUntil(ctx, async () => {
      for (const webhook of made) if (!(await firstAttempt(webhook.id))) return false;
      return true;
    });
    const [timedOut, redirected, big] = await Promise.all(made.map((webhook) => firstAttempt(webhook.id)));
    expect(timedOut.error).toMatch(/timeout/);
    expect(timedOut.duration_ms).toBeGreaterThanOrEqual(900);
    expect(timedOut.duration_ms).toBeLessThan(3_000);
    expect(redirected).toMatchObject({ status_code: 302, error: 'redirect not followed' });
    expect(big.status_code).toBe(500);
    expect(big.response_excerpt.length).toBeLessThanOrEqual(4096);
    // The slow receiver got the redirect's target request only from us, never through the redirect.
    expect(slow.received.every((request) => request.headers['webhook-id'] !== undefined)).toBe(true);
    expect(slow.received.length).toBeLessThanOrEqual(3);
    // Stop retrying these.
    for (const webhook of made) {
      await call(ctx.app, 'DELETE', `${base(team)}/${webhook.id}`, { token: team.admin.token });
    }
  });

  it('never delivers to one endpoint from two workers at once, and keeps the order', async () => {
    const hook = await receiver(() => ({ status: 200, delayMs: 10 }));
    const { webhook, secret } = await createWebhook(ctx, team, { url: hook.url, events: ['lead.assigned'] });
    hook.secrets.push(secret);
    const storage = createStorage(ctx.config);
    const quiet = { info: () => {}, warn: () => {}, error: () => {} };
    const runners = [1, 2].map(() =>
      createJobRunner({
        db: ctx.database.db,
        handlers: createServices({ config: ctx.config, database: ctx.database, clock: ctx.clock, storage, log: quiet })
          .jobs,
        clock: ctx.clock,
        logger: quiet,
        concurrency: 3,
        pollMs: 20,
      }),
    );
    for (const runner of runners) runner.start();
    try {
      for (let i = 1; i <= 30; i++) {
        await append(ctx, team.company.id, [{ type: 'lead.assigned', data: { id: i } }]);
      }
      const deadline = Date.now() + 20_000;
      const settled = async () =>
        (await deliveries(ctx, team, webhook.id)).filter((delivery) => delivery.status === 'succeeded').length === 30;
      while (!(await settled()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    } finally {
      for (const runner of runners) await runner.stop();
      await storage.close?.();
    }
    expect(hook.received.map((request) => JSON.parse(request.body).data.id)).toEqual(
      Array.from({ length: 30 }, (_, i) => i + 1),
    );
    expect(hook.state.maxInFlight).toBe(1);
    expect(hook.failures).toEqual([]);
    expect((await deliveries(ctx, team, webhook.id)).every((delivery) => delivery.status === 'succeeded')).toBe(true);
  });

  it('sends again, with the same webhook-id, a delivery whose worker was lost mid-way, and records it once', async () => {
    let first = true;
    const hook = await receiver(() => {
      if (first) {
        first = false;
        return { status: 200, delayMs: 10_000 }; // the worker is lost while waiting for this answer
      }
      return { status: 200 };
    });
    const { webhook } = await createWebhook(ctx, team, { url: hook.url, events: ['import.completed'] });
    await append(ctx, team.company.id, [{ type: 'import.completed', data: { id: 7 } }]);
    // The lost worker lives an hour in the past: every lease it takes (its job's, the endpoint's) has run out for
    // everyone else, as a dead worker's would, while it is still sending.
    const past = { now: () => new Date(ctx.clock.now().getTime() - 3_600_000) };
    await ctx.database.db
      .update(jobs)
      .set({ runAt: new Date(past.now().getTime() - 60_000) })
      .where(
        and(
          eq(jobs.kind, 'webhooks.deliver'),
          eq(jobs.status, 'queued'),
          sql`${jobs.payload} @> ${JSON.stringify({ webhookId: webhook.id })}::jsonb`,
        ),
      );
    const storage = createStorage(ctx.config);
    const quiet = { info: () => {}, warn: () => {}, error: () => {} };
    const handlers = createServices({
      config: ctx.config,
      database: ctx.database,
      clock: past,
      storage,
      log: quiet,
    }).jobs;
    const lost = createJobRunner({ db: ctx.database.db, handlers, clock: past, logger: quiet, leaseMs: 300 });
    const running = lost.runOnce();
    try {
      // Only the lost worker runs until its request is in.
      const deadline = Date.now() + 5_000;
      while (hook.received.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      // Sent by the lost worker (its clock is an hour behind).
      expect(Number(hook.received[0]?.headers['webhook-timestamp'])).toBeLessThan(Date.now() / 1000 - 3_000);
      // Another worker claims the job whose lease ran out and sends the delivery again; the lost one's lease renewal
      // fails, it stops, and records nothing.
      await deliverUntil(ctx, () => hook.received.length === 2);
      await running;
    } finally {
      await storage.close?.();
    }
    expect(hook.received[1]!.headers['webhook-id']).toBe(hook.received[0]!.headers['webhook-id']);
    const [delivery] = await deliveries(ctx, team, webhook.id);
    expect(delivery).toMatchObject({ status: 'succeeded' });
    expect(delivery!.attempts).toHaveLength(1);
    expect(delivery!.attempts[0]).toMatchObject({ status_code: 200 });
  });

  it('delivers one lead.created per imported row, and a lead made through the API as the API showed it', async () => {
    const own = await companyWithTeam(ctx);
    const hook = await receiver();
    const { secret } = await createWebhook(ctx, own, { url: hook.url, events: ['lead.created'] });
    hook.secrets.push(secret);
    const emails = Array.from({ length: 300 }, (_, i) => `imported.${i}@example.com`);
    const upload = await call(ctx.app, 'POST', `/api/v1/companies/${own.company.id}/imports`, {
      token: own.admin.token,
      ...(await multipart({
        file: { data: Buffer.from(`email\n${emails.join('\n')}\n`), filename: 'leads.csv', type: 'text/csv' },
      })),
    });
    expect(upload.statusCode).toBe(202);
    await deliverUntil(ctx, () => hook.received.length >= 300, 60_000);
    await runJobs(ctx); // a duplicate would come now
    const bodies = hook.received.map((request) => JSON.parse(request.body));
    expect(bodies.every((body) => body.type === 'lead.created')).toBe(true);
    expect(bodies.map((body) => body.data.email).sort()).toEqual([...emails].sort());
    expect(new Set(hook.received.map((request) => request.headers['webhook-id'])).size).toBe(300);

    const created = await call(ctx.app, 'POST', `/api/v1/companies/${own.company.id}/leads`, {
      token: own.admin.token,
      body: { email: 'through.the.api@example.com' },
    });
    expect(created.statusCode).toBe(201);
    await deliverUntil(ctx, () => hook.received.length === 301);
    // The lead as the API answered its creation (a GET adds the lead's notes).
    expect(JSON.parse(hook.received[300]!.body).data).toEqual(created.body_json.lead);
    expect(hook.failures).toEqual([]);
  });

  it('disables an endpoint whose every delivery failed for 5 days, and sends what waited once it is back on', async () => {
    const own = await companyWithTeam(ctx);
    const hook = await receiver(() => ({ status: 500 }));
    const { webhook } = await createWebhook(ctx, own, { url: hook.url, events: ['lead.deleted'] });
    const url = `${base(own)}/${webhook.id}`;
    let token = own.admin.token;
    const shown = async () => (await call(ctx.app, 'GET', url, { token })).body_json.webhook;
    await append(ctx, own.company.id, [{ type: 'lead.deleted', data: { id: 3 } }]);
    await deliverUntil(ctx, () => hook.received.length === 1);
    expect((await shown()).enabled).toBe(true);
    // Five days later (the test clock), the next failure disables it.
    const later = 5 * 86_400_000 + 60_000;
    ctx.clock.advance(later);
    try {
      // A token of five days ago has expired: sign in again.
      const login = await call(ctx.app, 'POST', '/api/v1/users/login', {
        body: { email: own.admin.email, password: PASSWORD },
      });
      token = login.body_json.token;
      await deliverUntil(ctx, async () => (await shown()).enabled === false);
      const disabled = await shown();
      expect(disabled.disabled_reason).toMatch(/failed/);
      const sent = hook.received.length;
      await append(ctx, own.company.id, [{ type: 'lead.deleted', data: { id: 4 } }]);
      await runJobs(ctx);
      expect(hook.received).toHaveLength(sent);
      const ping = await call(ctx.app, 'POST', `${url}/ping`, { token });
      expect(ping.statusCode).toBe(409);
      expect(ping.body_json.code).toBe('webhook_disabled');
      // Turned back on: what waited goes out, in order.
      const enabled = await call(ctx.app, 'PATCH', url, { token, body: { enabled: true } });
      expect(enabled.body_json.webhook).toMatchObject({ enabled: true, disabled_reason: null });
      await deliverUntil(ctx, () => hook.received.some((request) => JSON.parse(request.body).data.id === 4));
    } finally {
      ctx.clock.advance(-later);
    }
  });
});

describe('webhooks: target checks at delivery', () => {
  let ctx: TestContext;
  let team: Team;
  let hook: Receiver;
  beforeAll(async () => {
    ctx = await buildTestApp({ WEBHOOK_RETRY_SCHEDULE: '100ms', WEBHOOK_TIMEOUT: '2s' });
    team = await companyWithTeam(ctx);
    hook = await startReceiver();
  });
  afterAll(async () => {
    await hook.close();
    await ctx.close();
  });

  it('refuses a name that resolves to a private address, and a literal one, without contacting it', async () => {
    const made: number[] = [];
    // Accepted at creation (no network contact then); at delivery the names resolve to loopback.
    for (const host of ['localhost', '127.0.0.1', '[::1]']) {
      const { webhook } = await createWebhook(ctx, team, {
        url: 'https://hooks.example.com/leadsy',
        events: ['lead.created'],
      });
      // As if its DNS now pointed at the loopback interface (a rebinding), or the row predates the rule.
      await ctx.database.db
        .update(webhookEndpoints)
        .set({ url: `https://${host}:${hook.port}/hook` })
        .where(eq(webhookEndpoints.id, webhook.id));
      made.push(webhook.id as number);
    }
    await append(ctx, team.company.id, [leadCreated(1)]);
    await deliverUntil(ctx, async () => {
      for (const id of made) if ((await deliveries(ctx, team, id))[0]?.status !== 'failed') return false;
      return true;
    });
    for (const id of made) {
      const [delivery] = await deliveries(ctx, team, id);
      expect(delivery!.attempts[0].error).toMatch(/^refused/);
      expect(delivery!.attempts[0].status_code).toBeNull();
    }
    expect(hook.received).toHaveLength(0);
  });
});

describe('webhooks: retention', () => {
  let ctx: TestContext;
  beforeAll(async () => {
    ctx = await buildTestApp({ WEBHOOK_ALLOW_PRIVATE: 'true', EVENT_RETENTION: '1d' });
  });
  afterAll(() => ctx.close());

  it('prunes old delivered events with their deliveries, never one a pending delivery needs', async () => {
    const team = await companyWithTeam(ctx);
    let fail = false;
    const hook = await startReceiver(() => ({ status: fail ? 500 : 200 }));
    try {
      const { webhook } = await createWebhook(ctx, team, { url: hook.url, events: ['lead.created'] });
      await append(ctx, team.company.id, [leadCreated(1)]);
      await deliverUntil(ctx, () => hook.received.length === 1);
      fail = true;
      await append(ctx, team.company.id, [leadCreated(2)]);
      await deliverUntil(ctx, async () => (await deliveries(ctx, team, webhook.id))[0]?.attempts.length === 1);
      // Both events are now two days old.
      await ctx.database.db
        .update(events)
        .set({ createdAt: new Date(Date.now() - 2 * 86_400_000) })
        .where(eq(events.companyId, team.company.id));
      // Queued as every process that runs jobs queues it at start (services.ensureRecurringJobs), once only.
      await ensureRetentionJob(ctx.database.db, ctx.clock);
      await ensureRetentionJob(ctx.database.db, ctx.clock);
      const queued = await ctx.database.db.select().from(jobs).where(eq(jobs.kind, EVENT_RETENTION_JOB));
      expect(queued.filter((job) => job.status === 'queued')).toHaveLength(1);
      await ctx.database.db
        .update(jobs)
        .set({ runAt: ctx.clock.now() })
        .where(and(eq(jobs.kind, EVENT_RETENTION_JOB), eq(jobs.status, 'queued')));
      await runJobs(ctx);
      const left = await ctx.database.db.select().from(events).where(eq(events.companyId, team.company.id));
      expect(left.map((event) => [event.type, (event.data as Json).id])).toEqual([['lead.created', 2]]);
      const kept = await ctx.database.db
        .select()
        .from(webhookDeliveries)
        .where(eq(webhookDeliveries.webhookId, webhook.id));
      expect(kept).toHaveLength(1);
      // It queued its next run, a day later.
      const next = await ctx.database.db.select().from(jobs).where(eq(jobs.kind, EVENT_RETENTION_JOB));
      expect(next.filter((job) => job.status === 'queued')).toHaveLength(1);
    } finally {
      await hook.close();
    }
  });
});
