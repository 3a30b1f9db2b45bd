import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, buildApp } from '../../src/app.ts';
import { connectPostgres, type Database } from '../../src/db/client.ts';
import { appendEvents } from '../../src/modules/outbox/outbox.repository.ts';
import { buildTestApp, call, type Json, type TestContext } from '../helpers/app.ts';
import { accessId, companyWithTeam, uniqueEmail } from '../helpers/factories.ts';

/**
 * The live event stream (API.md "Integrations", GET …/events): Server-Sent Events read with fetch() from a real
 * listening server, each read with a deadline; every stream a test opens is closed by it.
 */

type Message = { id?: string; event?: string; data?: string; comment?: string };

type Stream = {
  status: number;
  headers: Headers;
  /** The next message (an event or a comment line), or undefined if none came within `ms`. */
  next(ms?: number): Promise<Message | undefined>;
  /** The next event (comments skipped) within `ms`; fails the test when none comes. */
  event(ms?: number): Promise<Message & { body: Json }>;
  /** Events that arrive within `ms` (none more expected after them). */
  drain(ms: number): Promise<(Message & { body: Json })[]>;
  /** Resolves true once the server ended the response (within `ms`). */
  ended(ms: number): Promise<boolean>;
  close(): void;
};

const open: Stream[] = [];

async function listen(app: App): Promise<string> {
  await app.listen({ port: 0, host: '127.0.0.1' });
  return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
}

/** Opens a stream with fetch(); `headers` as sent (Last-Event-ID). */
async function connect(base: string, path: string, token: string, headers: Record<string, string> = {}) {
  const controller = new AbortController();
  const response = await fetch(`${base}${path}`, {
    headers: { authorization: `Bearer ${token}`, ...headers },
    signal: controller.signal,
  });
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  let done = false;
  let reading: Promise<void> | undefined;
  // One read in flight at a time, kept across deadlines: a read that timed out is still the next one.
  const pull = () => {
    reading ??= reader.read().then(
      (chunk) => {
        reading = undefined;
        if (chunk.done) done = true;
        else buffer += decoder.decode(chunk.value, { stream: true });
      },
      () => {
        reading = undefined;
        done = true;
      },
    );
    return reading;
  };
  const within = (ms: number) => new Promise<'late'>((resolve) => setTimeout(() => resolve('late'), ms));
  const parse = (block: string): Message => {
    const message: Message = {};
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) message.comment = line.slice(1).trim();
      const match = /^(id|event|data): ?(.*)$/.exec(line);
      if (match) message[match[1] as 'id' | 'event' | 'data'] = match[2];
    }
    return message;
  };
  const stream: Stream = {
    status: response.status,
    headers: response.headers,
    async next(ms = 5000) {
      const deadline = Date.now() + ms;
      for (;;) {
        const end = buffer.indexOf('\n\n');
        if (end >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          return parse(block);
        }
        if (done) return undefined;
        const left = deadline - Date.now();
        if (left <= 0 || (await Promise.race([pull(), within(left)])) === 'late') return undefined;
      }
    },
    async event(ms = 5000) {
      const deadline = Date.now() + ms;
      for (;;) {
        const message = await stream.next(Math.max(1, deadline - Date.now()));
        if (!message) throw new Error(`no event within ${ms} ms`);
        if (message.event) return { ...message, body: JSON.parse(message.data!) as Json };
      }
    },
    async drain(ms) {
      const events: (Message & { body: Json })[] = [];
      const deadline = Date.now() + ms;
      for (;;) {
        const message = await stream.next(Math.max(1, deadline - Date.now()));
        if (!message) return events;
        if (message.event) events.push({ ...message, body: JSON.parse(message.data!) as Json });
      }
    },
    async ended(ms) {
      const deadline = Date.now() + ms;
      while (!done && Date.now() < deadline) {
        buffer = '';
        await Promise.race([pull(), within(deadline - Date.now())]);
      }
      return done;
    },
    close() {
      controller.abort();
      reader.cancel().catch(() => {});
    },
  };
  open.push(stream);
  // The first line says the stream is open: what happens after it is on the stream.
  if (response.status === 200) expect((await stream.next())?.comment).toBe('connected');
  return stream;
}

let ctx: TestContext;
let base: string;
beforeAll(async () => {
  ctx = await buildTestApp({ EVENT_STREAM_HEARTBEAT_MS: '300' });
  base = await listen(ctx.app);
});
/**
 * After a client aborts a stream, fetch() opens a spare connection that never carries a request, and Node keeps
 * such a connection through a close until REQUEST_TIMEOUT_MS: with every stream closed, nothing else is on them.
 */
async function closeApp(app: App) {
  app.server.closeAllConnections();
  await app.close();
}

afterAll(async () => {
  for (const stream of open) stream.close();
  ctx.app.server.closeAllConnections();
  await ctx.close();
});

type Team = Awaited<ReturnType<typeof companyWithTeam>>;
const eventsPath = (t: Team, query = '') => `/api/v1/companies/${t.company.id}/events${query}`;

async function createLead(app: App, t: Team, body: Json = {}): Promise<Json> {
  const response = await call(app, 'POST', `/api/v1/companies/${t.company.id}/leads`, {
    token: t.admin.token,
    body: { email: uniqueEmail('lead'), ...body },
  });
  expect(response.statusCode, response.body).toBe(201);
  return response.body_json.lead as Json;
}

describe('the event stream', () => {
  it('sends each change live as id, event and the webhook body, with text/event-stream headers', async () => {
    const t = await companyWithTeam(ctx);
    const stream = await connect(base, eventsPath(t), t.admin.token);
    expect(stream.status).toBe(200);
    expect(stream.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(stream.headers.get('cache-control')).toBe('no-store');
    expect(stream.headers.get('x-request-id')).toBeTruthy();
    const lead = await createLead(ctx.app, t, { assigned_user_access_id: t.agent.userAccessId });
    const created = await stream.event();
    expect(created.id).toMatch(/^evt_[1-9][0-9]*$/);
    expect(created.event).toBe('lead.created');
    expect(Object.keys(created.body)).toEqual(['type', 'timestamp', 'data']);
    expect(created.body.type).toBe('lead.created');
    expect(Date.parse(created.body.timestamp)).not.toBeNaN();
    // The lead exactly as the API answered it, key for key, in the same order.
    expect(JSON.stringify(created.body.data)).toBe(JSON.stringify(lead));
    const assigned = await stream.event();
    expect(assigned.event).toBe('lead.assigned');
    expect(Number(assigned.id!.slice(4))).toBeGreaterThan(Number(created.id!.slice(4)));
    stream.close();
  });

  it('resumes after Last-Event-ID: the missed events in order, none twice, then live; the query parameter too', async () => {
    const t = await companyWithTeam(ctx);
    const first = await connect(base, eventsPath(t), t.admin.token);
    await createLead(ctx.app, t);
    const seen = await first.event();
    first.close();
    // Missed while disconnected.
    const missed = [];
    for (let i = 0; i < 3; i++) missed.push((await createLead(ctx.app, t)).id);
    const again = await connect(base, eventsPath(t), t.admin.token, { 'last-event-id': seen.id! });
    const replayed = [await again.event(), await again.event(), await again.event()];
    expect(replayed.map((event) => event.body.data.id)).toEqual(missed);
    const live = await createLead(ctx.app, t);
    const next = await again.event();
    expect(next.body.data.id).toBe(live.id);
    expect(await again.drain(400)).toEqual([]);
    again.close();

    // The query parameter, for clients that cannot set headers.
    const byQuery = await connect(base, eventsPath(t, `?last_event_id=${replayed[1]!.id}`), t.admin.token);
    expect((await byQuery.event()).id).toBe(replayed[2]!.id);
    expect((await byQuery.event()).id).toBe(next.id);
    byQuery.close();
  });

  it('follow=false: the stored events after Last-Event-ID, then the response ends', async () => {
    const t = await companyWithTeam(ctx);
    const stream = await connect(base, eventsPath(t), t.admin.token);
    await createLead(ctx.app, t);
    const mark = await stream.event();
    stream.close();
    const a = await createLead(ctx.app, t);
    const b = await createLead(ctx.app, t);
    const response = await call(ctx.app, 'GET', eventsPath(t, '?follow=false'), {
      token: t.admin.token,
      headers: { 'last-event-id': mark.id! },
    });
    expect(response.statusCode).toBe(200);
    const ids = [...response.body.matchAll(/^data: (.*)$/gm)].map((m) => (JSON.parse(m[1]!) as Json).data.id);
    expect(ids).toEqual([a.id, b.id]);
  });

  it('refuses a Last-Event-ID that is malformed or not one of this company’s events (422), before streaming', async () => {
    const t = await companyWithTeam(ctx);
    const other = await companyWithTeam(ctx);
    const stream = await connect(base, eventsPath(other), other.admin.token);
    await createLead(ctx.app, other);
    const foreign = await stream.event();
    stream.close();
    for (const id of ['garbage', 'evt_0', 'evt_99999999999', foreign.id!]) {
      const response = await call(ctx.app, 'GET', eventsPath(t), {
        token: t.admin.token,
        headers: { 'last-event-id': id },
      });
      expect(response.statusCode, id).toBe(422);
      expect(response.headers['content-type']).toMatch(/problem\+json/);
      expect(response.body_json.errors[0]).toMatchObject({ field: 'Last-Event-ID', code: 'unknown_event' });
    }
    const byQuery = await call(ctx.app, 'GET', eventsPath(t, '?last_event_id=evt_x'), { token: t.admin.token });
    expect(byQuery.body_json.errors[0]).toMatchObject({ field: 'last_event_id' });
  });

  it("another company's stream is 404; a tenant's stream never shows another company's events", async () => {
    const t = await companyWithTeam(ctx);
    const other = await companyWithTeam(ctx);
    const refused = await call(ctx.app, 'GET', eventsPath(t, '?follow=false'), { token: t.outsider.token });
    expect(refused.statusCode).toBe(404);
    const stream = await connect(base, eventsPath(t), t.admin.token);
    await createLead(ctx.app, other);
    const own = await createLead(ctx.app, t);
    const event = await stream.event();
    expect(event.body.data.id).toBe(own.id);
    expect(event.body.data.company_id).toBe(t.company.id);
    stream.close();
  });

  it('agents see only the events of their own leads; managers see everything; webhook.ping never', async () => {
    const t = await companyWithTeam(ctx);
    const agent = await connect(base, eventsPath(t), t.agent.token);
    const manager = await connect(base, eventsPath(t), t.manager.token);
    const others = await createLead(ctx.app, t);
    await appendEvents(ctx.database.db, t.company.id, [{ type: 'webhook.ping', data: { webhook_id: 1 } }]);
    const mine = await createLead(ctx.app, t, { assigned_user_access_id: t.agent.userAccessId });
    const note = await call(ctx.app, 'POST', `/api/v1/companies/${t.company.id}/leads/${mine.id}/notes`, {
      token: t.agent.token,
      body: { body: 'Mine' },
    });
    expect(note.statusCode).toBe(201);
    const reassign = await call(ctx.app, 'PATCH', `/api/v1/companies/${t.company.id}/leads/${others.id}`, {
      token: t.admin.token,
      body: { first_name: 'Still not yours' },
    });
    expect(reassign.statusCode).toBe(200);
    const agentSees = await agent.drain(800);
    expect(agentSees.map((event) => [event.event, event.body.data.lead_id ?? event.body.data.id])).toEqual([
      ['lead.created', mine.id],
      ['lead.assigned', mine.id],
      ['note.created', mine.id],
    ]);
    const managerSees = await manager.drain(800);
    expect(managerSees.map((event) => event.event)).toEqual([
      'lead.created',
      'lead.created',
      'lead.assigned',
      'note.created',
      'lead.updated',
    ]);
    agent.close();
    manager.close();
  });

  it('ends when its caller loses the access, and narrows when the access becomes an agent’s (at the next heartbeat)', async () => {
    const t = await companyWithTeam(ctx);
    const agent = await connect(base, eventsPath(t), t.agent.token);
    const manager = await connect(base, eventsPath(t), t.manager.token);
    const removed = await call(ctx.app, 'DELETE', `/api/v1/users/${t.agent.id}/user_access/${t.agent.userAccessId}`, {
      token: t.admin.token,
    });
    expect(removed.statusCode, removed.body).toBe(204);
    expect(await agent.ended(3000)).toBe(true);

    const demoted = await call(ctx.app, 'PUT', `/api/v1/users/${t.manager.id}/user_access/${t.manager.userAccessId}`, {
      token: t.admin.token,
      body: { access_id: await accessId(ctx, 'agent') },
    });
    expect(demoted.statusCode, demoted.body).toBe(200);
    // Two heartbeats: the check that runs at the first has answered by the second.
    for (let beats = 0; beats < 2; ) if ((await manager.next(2000))?.comment === 'heartbeat') beats++;
    await createLead(ctx.app, t);
    const own = await createLead(ctx.app, t, { assigned_user_access_id: t.manager.userAccessId });
    const seen = await manager.drain(800);
    expect(seen.map((event) => event.body.data.id)).toEqual([own.id, own.id]);
    manager.close();
  });

  it('a client that reads slowly (its socket full for a second) still gets every event once and in order', async () => {
    const t = await companyWithTeam(ctx);
    const first = await connect(base, eventsPath(t), t.admin.token);
    await createLead(ctx.app, t);
    const mark = await first.event();
    first.close();
    // 2,000 events of 2 kB: far more than the socket's buffers hold.
    const filler = 'x'.repeat(2000);
    const items = Array.from({ length: 2000 }, (_, i) => ({ type: 'lead.updated' as const, data: { i, filler } }));
    await appendEvents(ctx.database.db, t.company.id, items);
    const slow = await connect(base, eventsPath(t), t.admin.token, { 'last-event-id': mark.id! });
    // Nothing read for a while: the buffers fill and the server stops writing.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const seen: number[] = [];
    while (seen.length < items.length) {
      const event = await slow.event(10_000);
      seen.push(event.body.data.i as number);
    }
    expect(seen).toEqual(items.map((_, i) => i));
    expect(await slow.drain(300)).toEqual([]);
    slow.close();
  }, 60_000);

  it('sends a comment line at every heartbeat while nothing happens', async () => {
    const t = await companyWithTeam(ctx);
    const stream = await connect(base, eventsPath(t), t.agent.token);
    const first = await stream.next(2000);
    const second = await stream.next(2000);
    expect([first?.comment, second?.comment]).toEqual(['heartbeat', 'heartbeat']);
    stream.close();
  });
});

describe('several API processes', () => {
  it('a lead created through one app reaches a stream opened on another app on the same database', async () => {
    // On PostgreSQL the second app has its own pool and its own LISTEN connection, as another node would; on the
    // embedded database both share the one in-process database.
    const database: Database = ctx.databaseUrl ? connectPostgres(ctx.databaseUrl, { max: 4 }) : ctx.database;
    const other = await buildApp({ config: ctx.config, database, clock: ctx.clock, logger: false });
    try {
      const otherBase = await listen(other);
      const t = await companyWithTeam(ctx);
      const stream = await connect(otherBase, eventsPath(t), t.admin.token);
      const lead = await createLead(ctx.app, t);
      const event = await stream.event(5000);
      expect(event.body.data).toEqual(lead);
    } finally {
      // The server ends the stream as it closes; the client is closed after it (an abort first would leave fetch's
      // spare connection on the closing server).
      await closeApp(other);
      for (const stream of open) stream.close();
      if (database !== ctx.database) await database.close();
    }
  }, 60_000);

  it('with REDIS_URL: wake-ups go through Redis after commit, and a stream on another app gets the lead', async () => {
    const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
    const prefix = `leadsy-test-${randomBytes(4).toString('hex')}:`;
    const config = { ...ctx.config, redisUrl, redisKeyPrefix: prefix };
    const database: Database = ctx.databaseUrl ? connectPostgres(ctx.databaseUrl, { max: 4 }) : ctx.database;
    const writer = await buildApp({ config, database: ctx.database, clock: ctx.clock, logger: false });
    const reader = await buildApp({ config, database, clock: ctx.clock, logger: false });
    const watch = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
    try {
      const heard: string[] = [];
      watch.on('message', (_channel: string, message: string) => heard.push(message));
      await watch.subscribe(`${prefix}events`);
      const readerBase = await listen(reader);
      const t = await companyWithTeam(ctx);
      const stream = await connect(readerBase, eventsPath(t), t.admin.token);
      const lead = await createLead(writer, t);
      const event = await stream.event(5000);
      expect(event.body.data).toEqual(lead);
      // Published by the writer once its transaction committed: the company's id, nothing else.
      const deadline = Date.now() + 3000;
      while (!heard.includes(String(t.company.id)) && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 20));
      expect(heard).toContain(String(t.company.id));
      // A change that rolls back publishes nothing.
      heard.length = 0;
      const refused = await call(writer, 'POST', `/api/v1/companies/${t.company.id}/leads`, {
        token: t.admin.token,
        body: { email: uniqueEmail(), external_id: 'dup' },
      });
      expect(refused.statusCode).toBe(201);
      const clash = await call(writer, 'POST', `/api/v1/companies/${t.company.id}/leads`, {
        token: t.admin.token,
        body: { email: uniqueEmail(), external_id: 'dup' },
      });
      expect(clash.statusCode).toBe(409);
      expect((await stream.event(5000)).body.data.external_id).toBe('dup');
      expect(await stream.drain(500)).toEqual([]);
      expect(heard).toEqual([String(t.company.id)]);
    } finally {
      await closeApp(reader);
      await writer.close();
      for (const stream of open) stream.close();
      watch.disconnect();
      if (database !== ctx.database) await database.close();
    }
  }, 60_000);

  it('closing the app ends its open streams at once', async () => {
    const other = await buildApp({ config: ctx.config, database: ctx.database, clock: ctx.clock, logger: false });
    const otherBase = await listen(other);
    const t = await companyWithTeam(ctx);
    const stream = await connect(otherBase, eventsPath(t), t.admin.token);
    const started = Date.now();
    await other.close();
    expect(Date.now() - started).toBeLessThan(2000);
    expect(await stream.ended(2000)).toBe(true);
    stream.close();
  }, 60_000);
});
