import { once } from 'node:events';
import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import { Redis } from 'ioredis';
import type { Config } from '../config.ts';
import { AppError } from '../lib/errors.ts';
import { callerKey } from './auth.ts';
import { toProblem } from './errors.ts';

type Settings = Pick<Config, 'redisUrl' | 'redisKeyPrefix' | 'apiRateLimit'>;

/** How long a start waits for Redis before serving without shared limits (they resume once it connects). */
const CONNECT_WAIT_MS = 2_000;

/**
 * Rate limits, one store for all of them: Redis when REDIS_URL is set, so every API process counts against the same
 * buckets; otherwise each process's memory (one process: exact; N processes: up to N times the limit).
 * - Routes that declare their own `config.rateLimit` (sign-up, login, resets: AUTH_RATE_LIMIT) count per client IP,
 *   the address TRUST_PROXY resolves (Fastify's `request.ip`).
 * - Every other authenticated route counts per signed-in user (API_RATE_LIMIT a minute), after authentication and
 *   before the body is read.
 * Answers carry RateLimit-Limit/-Remaining/-Reset (draft spec); a refusal is problem+json 429 with Retry-After.
 * Redis failing never fails a request: commands time out fast, the request goes through unlimited
 * (`skipOnError`), and a warning is logged once per outage.
 */
export async function registerRateLimits(app: FastifyInstance, settings: Settings): Promise<void> {
  const redis = settings.redisUrl ? await connectRedis(app, settings.redisUrl) : undefined;
  await app.register(rateLimit, {
    global: false,
    enableDraftSpec: true,
    skipOnError: true,
    ...(redis ? { redis, nameSpace: `${settings.redisKeyPrefix}rate:` } : {}),
    errorResponseBuilder: (_request, context) =>
      new AppError(429, 'rate_limited', 'Too Many Requests', `Rate limit exceeded, retry in ${context.after}.`),
  });
  const perUser = app.rateLimit({
    max: settings.apiRateLimit,
    timeWindow: '1 minute',
    // After the route's onRequest authentication, before the body is parsed.
    hook: 'preParsing',
    keyGenerator: callerKey,
    // The GET an If-Match check reads the current state with (plugins/conditional.ts) is part of the write.
    allowList: (request) => request.preconditionProbe,
  });
  app.addHook('onRoute', (route: RouteOptions) => {
    const policy = route.config?.policy;
    if (policy === undefined || policy === 'public' || route.config?.rateLimit) return;
    route.preParsing = [...toArray(route.preParsing), perUser];
  });
  // Every answer of an authenticated route carries the caller's budget (API.md), including those given before the
  // per-caller hook ran: a 401 from authentication (which runs first) is charged to the client address, the key an
  // anonymous request gets (callerKey), and once that budget is spent the answer is the 429 itself. So guessing
  // tokens is limited like any other use of the API.
  app.addHook('onSend', async (request, reply, payload) => {
    const config = request.routeOptions.config;
    const policy = config?.policy;
    if (policy === undefined || policy === 'public' || config.rateLimit || reply.hasHeader('ratelimit-limit')) {
      return payload;
    }
    try {
      await (perUser as unknown as (request: FastifyRequest, reply: FastifyReply) => Promise<void>)(request, reply);
    } catch (error) {
      if (!(error instanceof AppError)) throw error;
      reply.removeHeader('www-authenticate');
      reply.code(error.status).type('application/problem+json');
      return JSON.stringify(toProblem(error, String(request.id)));
    }
    return payload;
  });
}

async function connectRedis(app: FastifyInstance, url: string): Promise<Redis> {
  const redis = new Redis(url, {
    // Fail fast rather than queue: a rate-limit check must never hold a request while Redis is away.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2_000,
    commandTimeout: 500,
    // Reconnect forever, at most every 2 s.
    retryStrategy: (times) => Math.min(times * 100, 2_000),
  });
  let healthy: boolean | undefined;
  redis.on('ready', () => {
    if (healthy === false) app.log.info('Redis is back: rate limits are shared again');
    healthy = true;
  });
  redis.on('error', (error: Error) => {
    if (healthy === false) return;
    healthy = false;
    app.log.warn({ err: error }, 'Redis unreachable: requests are not rate limited until it is back');
  });
  app.addHook('onClose', async () => {
    redis.disconnect();
  });
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    once(redis, 'ready').catch(() => {}),
    new Promise((resolve) => {
      timer = setTimeout(resolve, CONNECT_WAIT_MS);
    }),
  ]);
  clearTimeout(timer);
  return redis;
}

/**
 * Fastify's `trustProxy` from TRUST_PROXY. A hop count becomes "trust the N nearest hops" (Express's meaning; Fastify
 * 5 ignores a bare number): right only when every connection comes through those proxies, so prefer addresses.
 */
export function trustProxyOption(
  value: Config['trustProxy'],
): false | string[] | ((address: string, hop: number) => boolean) {
  if (value === false) return false;
  if (typeof value === 'number') return (_address, hop) => hop < value;
  return [...value];
}

function toArray<T>(value: T | T[] | undefined): T[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}
