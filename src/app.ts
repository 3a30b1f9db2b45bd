import { randomUUID } from 'node:crypto';
import cors from '@fastify/cors';
import helmet from '@fastify/helmet';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Config } from './config.ts';
import type { Database } from './db/client.ts';
import { createJobHandlers } from './jobs/handlers.ts';
import { createJobRunner, type JobHandlers } from './jobs/runner.ts';
import { type Clock, systemClock } from './lib/clock.ts';
import { createStorage, type Storage } from './lib/storage/index.ts';
import { createTokenService } from './lib/tokens.ts';
import { appointmentsRoutes } from './modules/appointments/appointments.routes.ts';
import { createAppointmentsService } from './modules/appointments/appointments.service.ts';
import { authRoutes } from './modules/auth/auth.routes.ts';
import { createAuthService } from './modules/auth/auth.service.ts';
import { createAuthzCache } from './modules/authz/authz.cache.ts';
import { createAuthzService } from './modules/authz/authz.service.ts';
import { avatarsRoutes } from './modules/avatars/avatars.routes.ts';
import { createAvatarsService } from './modules/avatars/avatars.service.ts';
import { campaignsRoutes } from './modules/campaigns/campaigns.routes.ts';
import { createCampaignsService } from './modules/campaigns/campaigns.service.ts';
import { companiesRoutes } from './modules/companies/companies.routes.ts';
import { createCompaniesService } from './modules/companies/companies.service.ts';
import { companyUsersRoutes } from './modules/company-users/company-users.routes.ts';
import { createCompanyUsersService } from './modules/company-users/company-users.service.ts';
import { cyclesRoutes } from './modules/cycles/cycles.routes.ts';
import { createCyclesService } from './modules/cycles/cycles.service.ts';
import { emailVerificationRoutes } from './modules/email-verification/email-verification.routes.ts';
import { createEmailVerificationService } from './modules/email-verification/email-verification.service.ts';
import { importsRoutes } from './modules/imports/imports.routes.ts';
import { createImportsService } from './modules/imports/imports.service.ts';
import { invitationsRoutes } from './modules/invitations/invitations.routes.ts';
import { createInvitationsService } from './modules/invitations/invitations.service.ts';
import { leadNotesRoutes } from './modules/lead-notes/lead-notes.routes.ts';
import { createLeadNotesService } from './modules/lead-notes/lead-notes.service.ts';
import { leadsRoutes } from './modules/leads/leads.routes.ts';
import { createLeadsService } from './modules/leads/leads.service.ts';
import { legalTermsRoutes } from './modules/legal-terms/legal-terms.routes.ts';
import { createLegalTermsService } from './modules/legal-terms/legal-terms.service.ts';
import { createLimitsService } from './modules/limits/limits.service.ts';
import { createMailQueue } from './modules/mail/mail.queue.ts';
import { membershipsRoutes } from './modules/memberships/memberships.routes.ts';
import { createMembershipsService } from './modules/memberships/memberships.service.ts';
import { oidcRoutes } from './modules/oidc/oidc.routes.ts';
import { createOidcService } from './modules/oidc/oidc.service.ts';
import { createCampaignQuestionsService } from './modules/questions/campaign-questions.service.ts';
import { questionsRoutes } from './modules/questions/questions.routes.ts';
import { createQuestionsService } from './modules/questions/questions.service.ts';
import { referenceRoutes } from './modules/reference/reference.routes.ts';
import { createReferenceService } from './modules/reference/reference.service.ts';
import { sourcesRoutes } from './modules/sources/sources.routes.ts';
import { createSourcesService } from './modules/sources/sources.service.ts';
import { systemRoutes } from './modules/system/system.routes.ts';
import { territoriesRoutes } from './modules/territories/territories.routes.ts';
import { createTerritoriesService } from './modules/territories/territories.service.ts';
import { userAccessesRoutes } from './modules/user-accesses/user-accesses.routes.ts';
import { createUserAccessesService } from './modules/user-accesses/user-accesses.service.ts';
import { userProvidersRoutes } from './modules/user-providers/user-providers.routes.ts';
import { createUserProvidersService } from './modules/user-providers/user-providers.service.ts';
import { usersRoutes } from './modules/users/users.routes.ts';
import { createUsersService } from './modules/users/users.service.ts';
import { registerAuth } from './plugins/auth.ts';
import { registerCacheControl } from './plugins/cache-control.ts';
import { registerDocs } from './plugins/docs.ts';
import { clientErrorHandler, frameworkErrors, registerErrorHandling } from './plugins/errors.ts';
import { createLogging, loggerOptions } from './plugins/logging.ts';
import { registerMetrics } from './plugins/metrics.ts';
import { registerRateLimits, trustProxyOption } from './plugins/rate-limits.ts';
import { registerDraining } from './plugins/shutdown.ts';
import { registerValidation } from './plugins/validation.ts';

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

  const tokens = createTokenService({
    secret: config.jwtSecret,
    issuer: config.publicUrl,
    ttlSeconds: config.jwtTtlSeconds,
    clock,
  });
  // Every mail is a job written in the transaction of its cause, and the job runner delivers it.
  const mail = createMailQueue({ secret: config.jwtSecret });
  // Principals and access chains, cached per process and dropped on the database's NOTIFY (authz.cache.ts).
  const authzCache = createAuthzCache({ db: database.db, listen: database.listen, log: app.log });
  app.decorate('authzCache', authzCache);
  app.addHook('onReady', async () => authzCache.start());
  app.addHook('onClose', () => authzCache.close());
  const authz = createAuthzService({ db: database.db, cache: authzCache });

  await app.register(helmet, {
    contentSecurityPolicy: {
      directives: {
        defaultSrc: ["'self'"],
        imgSrc: ["'self'", 'data:'],
        styleSrc: ["'self'", "'unsafe-inline'"],
        scriptSrc: ["'self'"],
        frameAncestors: ["'none'"],
        upgradeInsecureRequests: null,
      },
    },
  });
  await app.register(cors, {
    origin: config.corsOrigins.includes('*') ? true : [...config.corsOrigins],
    exposedHeaders: ['x-request-id', 'ratelimit-limit', 'ratelimit-remaining', 'ratelimit-reset', 'retry-after'],
    // A strict preflight answers an OPTIONS without CORS headers with a plain-text 400, outside problem+json; an
    // OPTIONS is harmless, so it gets the plain 204 (with CORS headers only for an allowed origin).
    strictPreflight: false,
  });
  registerDraining(app);
  await registerRateLimits(app, config);
  registerAuth(app, { tokens, authz });
  await registerDocs(app, config);
  registerMetrics(app, { token: config.metricsToken });

  const limits = createLimitsService({ clock });
  const invitations = createInvitationsService({ db: database.db, clock, mail, limits, config });
  const verification = createEmailVerificationService({ db: database.db, clock, mail, config });
  const users = createUsersService({
    db: database.db,
    clock,
    joinInvitation: invitations.acceptOnSignup,
    verification,
  });
  await app.register(systemRoutes, { database });
  await app.register(referenceRoutes, { service: createReferenceService({ db: database.db }) });
  await app.register(authRoutes, {
    service: createAuthService({ db: database.db, tokens, mail, clock, secret: config.jwtSecret, config }),
    users,
    rateLimit: config.authRateLimit,
  });
  await app.register(emailVerificationRoutes, { service: verification, users, rateLimit: config.authRateLimit });
  await app.register(usersRoutes, { service: users, rateLimit: config.authRateLimit });
  const companies = createCompaniesService({ db: database.db, authz, limits });
  await app.register(companiesRoutes, { service: companies });
  await app.register(userAccessesRoutes, { service: createUserAccessesService({ db: database.db, users, limits }) });
  await app.register(legalTermsRoutes, { service: createLegalTermsService({ db: database.db, clock, users }) });
  await app.register(membershipsRoutes, {
    service: createMembershipsService({ db: database.db, clock, limits, planSelfService: config.planSelfService }),
  });
  await app.register(invitationsRoutes, { service: invitations, clock, rateLimit: config.authRateLimit });
  await app.register(companyUsersRoutes, { service: createCompanyUsersService({ db: database.db }) });
  await app.register(userProvidersRoutes, { service: createUserProvidersService({ db: database.db, users }) });
  await app.register(oidcRoutes, {
    service: createOidcService({ db: database.db, tokens, clock, config: config.oidc }),
    users,
    rateLimit: config.authRateLimit,
  });

  const storage = deps.storage ?? createStorage(config);
  if (!deps.storage) app.addHook('onClose', async () => storage.close?.());
  // The embedded shape's worker: it runs in this process unless WORKER=off (then only `worker` processes run jobs).
  const jobHandlers: JobHandlers = {
    ...createJobHandlers({ db: database.db, clock, config, storage, logger: app.log, secret: config.jwtSecret }),
    ...deps.jobHandlers,
  };
  const jobs = createJobRunner({
    db: database.db,
    handlers: jobHandlers,
    clock,
    logger: app.log,
    concurrency: config.workerConcurrency,
    leaseMs: config.jobLeaseMs,
    // SHUTDOWN_GRACE_MS, as for requests; a job still running after it is released for another worker.
    stopTimeoutMs: config.shutdownGraceMs,
  });
  if (config.worker === 'on') {
    app.addHook('onReady', async () => jobs.start());
    // Started in preClose and awaited in onClose: jobs wind down while in-flight requests finish, not after them,
    // and before storage and the database go away.
    let stopping: Promise<void> | undefined;
    app.addHook('preClose', async () => {
      stopping = jobs.stop();
    });
    app.addHook('onClose', async () => stopping);
  }
  await app.register(importsRoutes, {
    service: createImportsService({ db: database.db, storage, clock, limits, notify: () => jobs.notify() }),
  });
  await app.register(avatarsRoutes, {
    service: createAvatarsService({ db: database.db, storage, users, log: app.log }),
    companies,
  });

  await app.register(sourcesRoutes, { service: createSourcesService({ db: database.db }) });
  await app.register(cyclesRoutes, { service: createCyclesService({ db: database.db }), companies });
  await app.register(territoriesRoutes, { service: createTerritoriesService({ db: database.db }) });
  await app.register(campaignsRoutes, { service: createCampaignsService({ db: database.db }) });
  await app.register(questionsRoutes, {
    service: createQuestionsService({ db: database.db }),
    campaignQuestions: createCampaignQuestionsService({ db: database.db }),
  });

  const leads = createLeadsService({ db: database.db, clock, limits, preparedStatements: config.databasePrepare });
  const notes = createLeadNotesService({ db: database.db, leads });
  await app.register(leadsRoutes, { service: leads, notes });
  await app.register(leadNotesRoutes, { service: notes });
  await app.register(appointmentsRoutes, {
    service: createAppointmentsService({ db: database.db, clock, publicUrl: config.publicUrl }),
  });

  await app.ready();
  return app;
}
