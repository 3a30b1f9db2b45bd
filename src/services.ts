import type { Config } from './config.ts';
import type { Database, Db } from './db/client.ts';
import { queueStats } from './jobs/queue.ts';
import type { JobHandlers, JobLogger } from './jobs/runner.ts';
import type { Clock } from './lib/clock.ts';
import { createSealer } from './lib/sealed.ts';
import type { Storage } from './lib/storage/index.ts';
import { noTelemetry, type Telemetry } from './lib/telemetry.ts';
import { createTokenService } from './lib/tokens.ts';
import { createApiKeysService } from './modules/api-keys/api-keys.service.ts';
import { createAppointmentsService } from './modules/appointments/appointments.service.ts';
import { createAuthService } from './modules/auth/auth.service.ts';
import { createPasswordResetJob, PASSWORD_RESET_JOB } from './modules/auth/password-reset.job.ts';
import { createAuthzCache } from './modules/authz/authz.cache.ts';
import { createAuthzService } from './modules/authz/authz.service.ts';
import { createAvatarsService } from './modules/avatars/avatars.service.ts';
import { createCampaignsService } from './modules/campaigns/campaigns.service.ts';
import { createCompaniesService } from './modules/companies/companies.service.ts';
import { createCompanyUsersService } from './modules/company-users/company-users.service.ts';
import { createCyclesService } from './modules/cycles/cycles.service.ts';
import { createEmailVerificationService } from './modules/email-verification/email-verification.service.ts';
import { createEventHub } from './modules/events/event-hub.ts';
import { createEventsService } from './modules/events/events.service.ts';
import { createIdempotencyService } from './modules/idempotency/idempotency.service.ts';
import { createImportJob, IMPORT_JOB } from './modules/imports/import.job.ts';
import { importGivenUp } from './modules/imports/import-give-up.ts';
import { createImportsService } from './modules/imports/imports.service.ts';
import { createInvitationsService } from './modules/invitations/invitations.service.ts';
import { createLeadNotesService } from './modules/leads/lead-notes.service.ts';
import { createLeadsService } from './modules/leads/leads.service.ts';
import { createLegalTermsService } from './modules/legal-terms/legal-terms.service.ts';
import { createLimitsService } from './modules/limits/limits.service.ts';
import { createMailJob } from './modules/mail/mail.job.ts';
import { createMailQueue, MAIL_JOB } from './modules/mail/mail.queue.ts';
import { createMembershipsService } from './modules/memberships/memberships.service.ts';
import { createOidcService } from './modules/oidc/oidc.service.ts';
import { createCampaignQuestionsService } from './modules/questions/campaign-questions.service.ts';
import { createQuestionsService } from './modules/questions/questions.service.ts';
import { createReferenceService } from './modules/reference/reference.service.ts';
import { createSourcesService } from './modules/sources/sources.service.ts';
import { createTerritoriesService } from './modules/territories/territories.service.ts';
import { createUserAccessesService } from './modules/user-accesses/user-accesses.service.ts';
import { createUserProvidersService } from './modules/user-providers/user-providers.service.ts';
import { createUsersService } from './modules/users/users.service.ts';
import {
  createEventRetentionJob,
  EVENT_RETENTION_JOB,
  ensureRetentionJob,
} from './modules/webhooks/event-retention.job.ts';
import { createWebhookDeliveryJob, DELIVER_JOB } from './modules/webhooks/webhook-delivery.job.ts';
import { createWebhookSender } from './modules/webhooks/webhook-send.ts';
import { webhookBacklog } from './modules/webhooks/webhooks.repository.ts';
import { createWebhooksService } from './modules/webhooks/webhooks.service.ts';

export type ServicesDeps = {
  /** `jwtSecret` resolved (JWT_SECRET, or the embedded installation's own, see lib/installation-secret.ts). */
  config: Config & { jwtSecret: string };
  database: Database;
  clock: Clock;
  storage: Storage;
  log: JobLogger;
  /** Wakes this process's job runner when a request queues a job, instead of waiting for its next poll. */
  notifyJobs?: () => void;
  /** Where import batches and webhook attempts are counted (the process's /metrics); nowhere by default. */
  telemetry?: Telemetry;
};

/** What /metrics reads from the database at each scrape (the API's and a worker's alike). */
export const metricsReaders = (db: Db) => ({ queue: () => queueStats(db), webhooks: () => webhookBacklog(db) });

/**
 * The composition root of every process: the API (app.ts), the worker (worker.ts), the command line and the tests
 * build the same services and the same job handlers here, so a service or a job kind added once is wired
 * everywhere. Building is cheap and touches no database; nothing runs until a route or the job runner calls it.
 */
export function createServices(deps: ServicesDeps) {
  const { config, database, clock, storage, log } = deps;
  const telemetry = deps.telemetry ?? noTelemetry;
  const db = database.db;
  const secret = config.jwtSecret;

  const tokens = createTokenService({ secret, issuer: config.publicUrl, ttlSeconds: config.jwtTtlSeconds, clock });
  // Every mail is a job written in the transaction of its cause, and the job runner delivers it.
  const mail = createMailQueue({ secret });
  // Principals and access chains, cached per process and dropped on the database's NOTIFY (authz.cache.ts).
  const authzCache = createAuthzCache({ db, listen: database.listen, log });
  const authz = createAuthzService({ db, cache: authzCache, clock, log });
  const limits = createLimitsService({ clock });

  const invitations = createInvitationsService({ db, clock, mail, limits, config });
  const verification = createEmailVerificationService({ db, clock, mail, config });
  const users = createUsersService({ db, clock, joinInvitation: invitations.acceptOnSignup, verification });
  const companies = createCompaniesService({ db, authz, limits });
  const leads = createLeadsService({ db, clock, limits, preparedStatements: config.databasePrepare });

  // Webhook signing secrets, sealed at rest with the installation secret (they sign, so they cannot be hashed).
  const webhookSealer = createSealer(secret, 'webhook secret v1');
  const webhooks = createWebhooksService({
    db,
    clock,
    sealer: webhookSealer,
    allowPrivate: config.webhookAllowPrivate,
    notify: () => deps.notifyJobs?.(),
  });
  const webhookDelivery = createWebhookDeliveryJob({
    db,
    clock,
    sealer: webhookSealer,
    sender: createWebhookSender({ allowPrivate: config.webhookAllowPrivate, timeoutMs: config.webhookTimeoutMs }),
    retryScheduleMs: config.webhookRetryScheduleMs,
    timeoutMs: config.webhookTimeoutMs,
    disableAfterMs: config.webhookDisableAfterMs,
    telemetry,
  });

  const jobs: JobHandlers = {
    [IMPORT_JOB]: { run: createImportJob({ db, storage, clock, limits, telemetry }), onGiveUp: importGivenUp },
    [MAIL_JOB]: createMailJob({ db, secret, smtpUrl: config.smtpUrl, from: config.mailFrom }),
    [PASSWORD_RESET_JOB]: createPasswordResetJob({ db, clock, mail, secret, config }),
    [DELIVER_JOB]: webhookDelivery,
    [EVENT_RETENTION_JOB]: createEventRetentionJob({ db, clock, retentionMs: config.eventRetentionMs }),
  };

  return {
    tokens,
    authz,
    authzCache,
    limits,
    invitations,
    verification,
    users,
    companies,
    leads,
    reference: createReferenceService({ db }),
    auth: createAuthService({ db, tokens, mail, clock, secret, config }),
    userAccesses: createUserAccessesService({ db, users, limits }),
    legalTerms: createLegalTermsService({ db, clock, users }),
    memberships: createMembershipsService({ db, clock, limits, planSelfService: config.planSelfService }),
    companyUsers: createCompanyUsersService({ db }),
    userProviders: createUserProvidersService({ db, users }),
    oidc: createOidcService({ db, tokens, clock, config: config.oidc }),
    imports: createImportsService({ db, storage, clock, limits, notify: () => deps.notifyJobs?.() }),
    avatars: createAvatarsService({ db, storage, users, log }),
    sources: createSourcesService({ db }),
    cycles: createCyclesService({ db }),
    territories: createTerritoriesService({ db }),
    campaigns: createCampaignsService({ db }),
    questions: createQuestionsService({ db }),
    campaignQuestions: createCampaignQuestionsService({ db }),
    notes: createLeadNotesService({ db, leads }),
    appointments: createAppointmentsService({ db, clock, publicUrl: config.publicUrl }),
    // The event stream's hub listens only once a stream opens: workers and the command line never do.
    events: createEventsService({
      db,
      hub: createEventHub({
        db,
        listen: database.listen,
        log,
        redis: config.redisUrl ? { url: config.redisUrl, prefix: config.redisKeyPrefix } : undefined,
      }),
    }),
    webhooks,
    apiKeys: createApiKeysService({ db, clock }),
    // A claim older than a request can live (cut at REQUEST_TIMEOUT_MS, or at shutdown after SHUTDOWN_GRACE_MS)
    // belongs to a process that died mid-request: another request may take its key over.
    idempotency: createIdempotencyService({
      db,
      clock,
      secret,
      staleAfterMs: config.requestTimeoutMs + config.shutdownGraceMs,
    }),
    /** Every job kind and its handler: what a job runner in any process runs. */
    jobs,
    /** Makes sure the recurring jobs (event retention) are queued: every process that runs jobs calls it at start. */
    ensureRecurringJobs: () => ensureRetentionJob(db, clock),
  };
}

export type Services = ReturnType<typeof createServices>;
