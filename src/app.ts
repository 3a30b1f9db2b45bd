import { randomUUID } from 'node:crypto';
import cors from '@fastify/cors';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Config } from './config.ts';
import type { Database } from './db/client.ts';
import { createJobRunner, type JobHandlers, type JobRunner } from './jobs/runner.ts';
import { type Clock, systemClock } from './lib/clock.ts';
import { createStorage, type Storage } from './lib/storage/index.ts';
import { apiKeysRoutes } from './modules/api-keys/api-keys.routes.ts';
import { appointmentsRoutes } from './modules/appointments/appointments.routes.ts';
import { authRoutes } from './modules/auth/auth.routes.ts';
import { avatarsRoutes } from './modules/avatars/avatars.routes.ts';
import { campaignsRoutes } from './modules/campaigns/campaigns.routes.ts';
import { companiesRoutes } from './modules/companies/companies.routes.ts';
import { companyUsersRoutes } from './modules/company-users/company-users.routes.ts';
import { cyclesRoutes } from './modules/cycles/cycles.routes.ts';
import { emailVerificationRoutes } from './modules/email-verification/email-verification.routes.ts';
import { eventsRoutes } from './modules/events/events.routes.ts';
import { registerEventSchemas } from './modules/events/events.schemas.ts';
import { importsRoutes } from './modules/imports/imports.routes.ts';
import { invitationsRoutes } from './modules/invitations/invitations.routes.ts';
import { leadNotesRoutes } from './modules/leads/lead-notes.routes.ts';
import { leadsRoutes } from './modules/leads/leads.routes.ts';
import { legalTermsRoutes } from './modules/legal-terms/legal-terms.routes.ts';
import { membershipsRoutes } from './modules/memberships/memberships.routes.ts';
import { oidcRoutes } from './modules/oidc/oidc.routes.ts';
import { questionsRoutes } from './modules/questions/questions.routes.ts';
import { referenceRoutes } from './modules/reference/reference.routes.ts';
import { sourcesRoutes } from './modules/sources/sources.routes.ts';
import { systemRoutes } from './modules/system/system.routes.ts';
import { territoriesRoutes } from './modules/territories/territories.routes.ts';
import { userAccessesRoutes } from './modules/user-accesses/user-accesses.routes.ts';
import { userProvidersRoutes } from './modules/user-providers/user-providers.routes.ts';
import { usersRoutes } from './modules/users/users.routes.ts';
import { webhooksRoutes } from './modules/webhooks/webhooks.routes.ts';
import { registerAuth } from './plugins/auth.ts';
import { registerCacheControl } from './plugins/cache-control.ts';
import { registerConditionalRequests } from './plugins/conditional.ts';
import { registerDocs } from './plugins/docs.ts';
import { clientErrorHandler, frameworkErrors, registerErrorHandling } from './plugins/errors.ts';
import { registerIdempotency } from './plugins/idempotency.ts';
import { registerLocation } from './plugins/location.ts';
import { createLogging, loggerOptions } from './plugins/logging.ts';
import { createMetrics, registerMetrics } from './plugins/metrics.ts';
import { registerRateLimits, trustProxyOption } from './plugins/rate-limits.ts';
import { registerSecurityHeaders } from './plugins/security-headers.ts';
import { registerDraining } from './plugins/shutdown.ts';
import { registerValidation } from './plugins/validation.ts';
import { createServices, metricsReaders } from './services.ts';

export type AppDeps = {
  config: Config & { jwtSecret: string };
  database: Database;
  clock?: Clock;
  logger?: FastifyBaseLogger | boolean | { level: string };
  /** Defaults to the driver the configuration names (createStorage). */
  storage?: Storage;
  /** Extra job kinds, merged over the registry (createJobHandlers): for tests and embedders. */
  jobHandlers?: JobHandlers;
};

export type App = FastifyInstance;

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The composition root: core plugins, the error handler, the docs, and one register line per module. */
export async function buildApp(deps: AppDeps) {
  const { config, database } = deps;
  const clock = deps.clock ?? systemClock;
  const logging = createLogging();
  const app = Fastify({
    ...loggerOptions(deps.logger, config.logLevel, logging),
    bodyLimit: config.bodyLimitBytes,
    // A request, body included, is cut at REQUEST_TIMEOUT_MS, and so is a socket idle that long. Fastify's
    // requestTimeout alone is set on the server after Node created it: a body sent a byte a second then ran to
    // Node's 60 s headers timeout, checked every 30 s (~90 s). Given at creation, and checked every tenth of the
    // timeout (at most 1 s), the cut comes on time.
    requestTimeout: config.requestTimeoutMs,
    connectionTimeout: config.requestTimeoutMs,
    http: {
      requestTimeout: config.requestTimeoutMs,
      headersTimeout: config.requestTimeoutMs,
      connectionsCheckingInterval: Math.min(1000, Math.max(100, Math.floor(config.requestTimeoutMs / 10))),
    },
    // Node's and the router's own refusals as problem+json too (src/plugins/errors.ts).
    clientErrorHandler,
    frameworkErrors,
    requestIdHeader: false,
    // The client's address behind a load balancer (TRUST_PROXY), for rate limits and logs; off by default.
    trustProxy: trustProxyOption(config.trustProxy),
    // Requests arriving while the server closes get problem+json 503 from src/plugins/shutdown.ts, not Fastify's JSON.
    return503OnClosing: false,
    // A well-formed inbound x-request-id is kept so a trace spans services; anything else is replaced.
    genReqId: (request) => {
      const inbound = request.headers['x-request-id'];
      return typeof inbound === 'string' && REQUEST_ID.test(inbound) ? inbound : randomUUID();
    },
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 256 },
  }).withTypeProvider<TypeBoxTypeProvider>();

  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  logging.register(app);
  registerCacheControl(app);
  registerErrorHandling(app);
  registerValidation(app);

  const storage = deps.storage ?? createStorage(config);
  if (!deps.storage) app.addHook('onClose', async () => storage.close?.());
  // The runner is made below, once the services that queue jobs exist; requests wake it through this.
  let jobs: JobRunner | undefined;
  const metrics = createMetrics({
    database,
    clock,
    read: metricsReaders(database.db),
  });
  const services = createServices({
    config,
    database,
    clock,
    storage,
    log: app.log,
    notifyJobs: () => jobs?.notify(),
    telemetry: metrics.telemetry,
  });
  const { authzCache } = services;
  app.decorate('authzCache', authzCache);
  app.addHook('onReady', async () => authzCache.start());
  app.addHook('onClose', () => authzCache.close());

  registerSecurityHeaders(app);
  await app.register(cors, {
    origin: config.corsOrigins.includes('*') ? true : [...config.corsOrigins],
    exposedHeaders: [
      'x-request-id',
      'ratelimit-limit',
      'ratelimit-remaining',
      'ratelimit-reset',
      'retry-after',
      // Not CORS-safelisted: a browser client could not read where a 201 put its resource, or that it was a replay.
      'location',
      'idempotent-replayed',
      // The validator a client sends back in If-Match / If-None-Match.
      'etag',
    ],
    // A strict preflight answers an OPTIONS without CORS headers with a plain-text 400, outside problem+json; an
    // OPTIONS is harmless, so it gets the plain 204 (with CORS headers only for an allowed origin).
    strictPreflight: false,
  });
  registerDraining(app);
  await registerRateLimits(app, config);
  registerAuth(app, { tokens: services.tokens, authz: services.authz });
  // After auth: its If-Match check runs once the caller is authenticated and authorized.
  registerConditionalRequests(app);
  await registerDocs(app, config);
  registerEventSchemas(app);
  // After authentication: a key is claimed once the caller is known and allowed, and stores the Location set here.
  registerLocation(app);
  registerIdempotency(app, { service: services.idempotency });
  registerMetrics(app, { token: config.metricsToken, metrics });

  const { users, companies } = services;
  await app.register(systemRoutes, { database });
  await app.register(referenceRoutes, { service: services.reference });
  await app.register(authRoutes, { service: services.auth, users, rateLimit: config.authRateLimit });
  await app.register(emailVerificationRoutes, {
    service: services.verification,
    users,
    rateLimit: config.authRateLimit,
  });
  await app.register(usersRoutes, { service: users, rateLimit: config.authRateLimit });
  await app.register(companiesRoutes, { service: companies });
  await app.register(userAccessesRoutes, { service: services.userAccesses });
  await app.register(legalTermsRoutes, { service: services.legalTerms });
  await app.register(membershipsRoutes, { service: services.memberships });
  await app.register(invitationsRoutes, { service: services.invitations, clock, rateLimit: config.authRateLimit });
  await app.register(companyUsersRoutes, { service: services.companyUsers });
  await app.register(userProvidersRoutes, { service: services.userProviders });
  await app.register(oidcRoutes, { service: services.oidc, users, rateLimit: config.authRateLimit });
  await app.register(importsRoutes, { service: services.imports });
  await app.register(avatarsRoutes, { service: services.avatars, companies });
  await app.register(sourcesRoutes, { service: services.sources });
  await app.register(cyclesRoutes, { service: services.cycles, companies });
  await app.register(territoriesRoutes, { service: services.territories });
  await app.register(campaignsRoutes, { service: services.campaigns });
  await app.register(questionsRoutes, { service: services.questions, campaignQuestions: services.campaignQuestions });
  await app.register(leadsRoutes, { service: services.leads, notes: services.notes });
  await app.register(leadNotesRoutes, { service: services.notes });
  await app.register(appointmentsRoutes, { service: services.appointments });
  await app.register(eventsRoutes, {
    service: services.events,
    heartbeatMs: config.eventStreamHeartbeatMs,
    log: app.log,
  });
  // Open event streams end as the close begins: they would otherwise hold it until their clients leave.
  app.addHook('preClose', async () => services.events.hub.close());
  await app.register(webhooksRoutes, { service: services.webhooks });
  await app.register(apiKeysRoutes, { service: services.apiKeys });

  // The embedded shape's worker: it runs in this process unless WORKER=off (then only `worker` processes run jobs).
  jobs = createJobRunner({
    db: database.db,
    handlers: { ...services.jobs, ...deps.jobHandlers },
    clock,
    logger: app.log,
    concurrency: config.workerConcurrency,
    leaseMs: config.jobLeaseMs,
    // SHUTDOWN_GRACE_MS, as for requests; a job still running after it is released for another worker.
    stopTimeoutMs: config.shutdownGraceMs,
    observe: metrics.observeJob,
  });
  if (config.worker === 'on') {
    const runner = jobs;
    app.addHook('onReady', async () => runner.start());
    // Recurring work is a job that queues its next run; a worker process's API makes sure it exists.
    app.addHook('onReady', async () => services.ensureRecurringJobs());
    // Started in preClose and awaited in onClose: jobs wind down while in-flight requests finish, not after them,
    // and before storage and the database go away.
    let stopping: Promise<void> | undefined;
    app.addHook('preClose', async () => {
      stopping = runner.stop();
    });
    app.addHook('onClose', async () => stopping);
  }

  await app.ready();
  return app;
}
