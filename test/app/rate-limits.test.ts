import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import type { InjectOptions } from 'fastify';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, buildApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { buildTestApp, type TestContext } from '../helpers/app.ts';
import { createUser, uniqueEmail } from '../helpers/factories.ts';

/**
 * Issue 12, repro 4: limits were per process and keyed on the socket address, so 3 nodes gave one address 3 times
 * AUTH_RATE_LIMIT, and behind a proxy every client shared one bucket. These run against the machine's Redis
 * (127.0.0.1:6379, started by .ci/run), each test under a key prefix of its own.
 */
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = () => `leadsy-test:${randomBytes(6).toString('hex')}:`;

/** One database for the file; each test builds the API nodes it needs on it, with settings of its own. */
let ctx: TestContext;
const apps: App[] = [];
async function node(env: Record<string, string>, lines?: string[]): Promise<App> {
  const config = { ...loadConfig({ ...baseEnv(ctx), ...env }), jwtSecret: ctx.config.jwtSecret };
  const logger = lines ? ({ level: 'trace', stream: collect(lines) } as { level: string }) : false;
  const app = await buildApp({ config, database: ctx.database, clock: ctx.clock, logger });
  apps.push(app);
  return app;
}

const baseEnv = (context: TestContext) => ({
  LOG_LEVEL: 'silent',
  AUTH_RATE_LIMIT: '100000',
  API_RATE_LIMIT: '100000',
  PUBLIC_URL: context.config.publicUrl,
  DATA_DIR: context.config.dataDir,
  WORKER: 'off',
});

function collect(lines: string[]): Writable {
  return new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
}

let redis: Redis;
beforeAll(async () => {
  ctx = await buildTestApp();
  redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
});
afterAll(async () => {
  for (const app of apps) await app.close();
  await ctx.close();
  redis.disconnect();
});

const badLogin = (app: App, email: string, options: Partial<InjectOptions> = {}) =>
  app.inject({
    method: 'POST',
    url: '/api/v1/users/login',
    payload: { email, password: 'not the password at all' },
    ...options,
  });

describe('shared limits with REDIS_URL', () => {
  it('one login limit for every node: AUTH_RATE_LIMIT=4 over two nodes is 4 a minute, not 8', async () => {
    const keys = prefix();
    const first = await node({ REDIS_URL, REDIS_KEY_PREFIX: keys, AUTH_RATE_LIMIT: '4' });
    const other = await node({ REDIS_URL, REDIS_KEY_PREFIX: keys, AUTH_RATE_LIMIT: '4' });
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) statuses.push((await badLogin(i % 2 === 0 ? first : other, uniqueEmail())).statusCode);
    expect(statuses).toEqual([401, 401, 401, 401, 429, 429, 429, 429]);
    const refused = await badLogin(other, uniqueEmail());
    expect(refused.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(JSON.parse(refused.body)).toMatchObject({ status: 429, code: 'rate_limited' });
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    // The counters are in Redis under this installation's prefix.
    expect(await redis.keys(`${keys}rate:*`)).not.toEqual([]);
  });

  it('one limit per user on authenticated routes, over every node, with RateLimit headers', async () => {
    const keys = prefix();
    const first = await node({ REDIS_URL, REDIS_KEY_PREFIX: keys, API_RATE_LIMIT: '3' });
    const other = await node({ REDIS_URL, REDIS_KEY_PREFIX: keys, API_RATE_LIMIT: '3' });
    const [ana, bea] = [await createUser(ctx), await createUser(ctx)];
    const me = (app: App, token: string) =>
      app.inject({ method: 'GET', url: '/api/v1/users/validate_jwt', headers: { authorization: `Bearer ${token}` } });
    const seen = [];
    for (const app of [first, other, first, other]) {
      const response = await me(app, ana.token);
      seen.push([response.statusCode, response.headers['ratelimit-limit'], response.headers['ratelimit-remaining']]);
    }
    expect(seen).toEqual([
      [200, '3', '2'],
      [200, '3', '1'],
      [200, '3', '0'],
      [429, '3', '0'],
    ]);
    // Another user, same address: a bucket of their own.
    expect((await me(other, bea.token)).statusCode).toBe(200);
    // Routes in a company count in the same bucket (one per user, not per route).
    const company = await first.inject({
      method: 'GET',
      url: '/api/v1/companies/1',
      headers: { authorization: `Bearer ${ana.token}` },
    });
    expect(company.statusCode).toBe(429);
  });

  it('a Redis that cannot be reached does not take the API down: requests go through unlimited', async () => {
    const started = Date.now();
    const app = await node({ REDIS_URL: 'redis://127.0.0.1:1', AUTH_RATE_LIMIT: '2' });
    expect(Date.now() - started).toBeLessThan(10_000);
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await badLogin(app, uniqueEmail())).statusCode);
    expect(statuses).toEqual([401, 401, 401, 401]);
  });
});

describe('without REDIS_URL', () => {
  it('each process counts on its own', async () => {
    const first = await node({ AUTH_RATE_LIMIT: '2' });
    const other = await node({ AUTH_RATE_LIMIT: '2' });
    const statuses: number[] = [];
    for (const app of [first, first, first, other, other, other]) {
      statuses.push((await badLogin(app, uniqueEmail())).statusCode);
    }
    expect(statuses).toEqual([401, 401, 429, 401, 401, 429]);
  });
});

describe('the client address behind a proxy (TRUST_PROXY)', () => {
  const viaProxy = (clientAddress: string, proxy = '10.0.0.2') => ({
    remoteAddress: proxy,
    headers: { 'x-forwarded-for': clientAddress },
  });

  it('off by default: every client behind the proxy shares the proxy’s bucket', async () => {
    const app = await node({ REDIS_URL, REDIS_KEY_PREFIX: prefix(), AUTH_RATE_LIMIT: '2' });
    const statuses = [];
    for (const client of ['203.0.113.1', '203.0.113.2', '203.0.113.3']) {
      statuses.push((await badLogin(app, uniqueEmail(), viaProxy(client))).statusCode);
    }
    expect(statuses).toEqual([401, 401, 429]);
  });

  it('a hop count: each client behind the proxy has its own bucket, and its address is logged', async () => {
    const lines: string[] = [];
    const app = await node({ REDIS_URL, REDIS_KEY_PREFIX: prefix(), AUTH_RATE_LIMIT: '2', TRUST_PROXY: '1' }, lines);
    const statuses = [];
    for (const client of ['203.0.113.1', '203.0.113.1', '203.0.113.1', '203.0.113.2']) {
      statuses.push((await badLogin(app, uniqueEmail(), viaProxy(client))).statusCode);
    }
    expect(statuses).toEqual([401, 401, 429, 401]);
    expect(lines.some((line) => line.includes('"remoteAddress":"203.0.113.2"'))).toBe(true);
  });

  it('addresses: only the listed proxies are believed; a client cannot pick its address by sending the header', async () => {
    const app = await node({
      REDIS_URL,
      REDIS_KEY_PREFIX: prefix(),
      AUTH_RATE_LIMIT: '2',
      TRUST_PROXY: '10.0.0.0/24',
    });
    const statuses = [];
    for (const client of ['198.51.100.1', '198.51.100.2']) {
      statuses.push((await badLogin(app, uniqueEmail(), viaProxy(client))).statusCode);
    }
    // Straight from 192.0.2.9 (not a proxy): its X-Forwarded-For is ignored, every request is 192.0.2.9's.
    for (const spoofed of ['1.1.1.1', '2.2.2.2', '3.3.3.3']) {
      statuses.push((await badLogin(app, uniqueEmail(), viaProxy(spoofed, '192.0.2.9'))).statusCode);
    }
    expect(statuses).toEqual([401, 401, 401, 401, 429]);
  });

  it('refuses TRUST_PROXY=true', () => {
    expect(() => loadConfig({ TRUST_PROXY: 'true' })).toThrow(/TRUST_PROXY/);
  });
});
