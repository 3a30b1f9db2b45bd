import type { Config } from '../config.ts';
import type { Db } from '../db/client.ts';
import type { Clock } from '../lib/clock.ts';
import type { Storage } from '../lib/storage/index.ts';
import { createPasswordResetJob, PASSWORD_RESET_JOB } from '../modules/auth/password-reset.job.ts';
import { createImportJob, IMPORT_JOB } from '../modules/imports/import.job.ts';
import { importGivenUp } from '../modules/imports/import-give-up.ts';
import { createLimitsService } from '../modules/limits/limits.service.ts';
import { createMailJob } from '../modules/mail/mail.job.ts';
import { createMailQueue, MAIL_JOB } from '../modules/mail/mail.queue.ts';
import type { JobHandlers, JobLogger } from './runner.ts';

/** What job handlers may use: the same in the API process (buildApp) and in the `worker` command. */
export type JobHandlerDeps = {
  db: Db;
  clock: Clock;
  config: Config;
  storage: Storage;
  logger: JobLogger;
  /** The installation's secret (JWT_SECRET, or the embedded one in DATA_DIR): it opens sealed job payloads. */
  secret: string;
};

/**
 * The one registry of job kinds and their handlers. Both the embedded worker (buildApp) and the standalone
 * `worker` command build it here, so a kind added once runs wherever workers run.
 */
export function createJobHandlers(deps: JobHandlerDeps): JobHandlers {
  const { db, clock, config, secret } = deps;
  const limits = createLimitsService({ clock });
  const mail = createMailQueue({ secret });
  return {
    [IMPORT_JOB]: { run: createImportJob({ db, storage: deps.storage, clock, limits }), onGiveUp: importGivenUp },
    [MAIL_JOB]: createMailJob({ db, secret, smtpUrl: config.smtpUrl, from: config.mailFrom }),
    [PASSWORD_RESET_JOB]: createPasswordResetJob({ db, clock, mail, secret, config }),
  };
}
