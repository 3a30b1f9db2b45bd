import type { Config } from '../config.ts';
import type { Db } from '../db/client.ts';
import type { Clock } from '../lib/clock.ts';
import type { Storage } from '../lib/storage/index.ts';
import { createImportJob, IMPORT_JOB } from '../modules/imports/import.job.ts';
import { createLimitsService } from '../modules/limits/limits.service.ts';
import type { JobHandlers, JobLogger } from './runner.ts';

/** What job handlers may use: the same in the API process (buildApp) and in the `worker` command. */
export type JobHandlerDeps = {
  db: Db;
  clock: Clock;
  config: Config;
  storage: Storage;
  logger: JobLogger;
};

/**
 * The one registry of job kinds and their handlers. Both the embedded worker (buildApp) and the standalone
 * `worker` command build it here, so a kind added once runs wherever workers run.
 */
export function createJobHandlers(deps: JobHandlerDeps): JobHandlers {
  const limits = createLimitsService({ clock: deps.clock });
  return {
    [IMPORT_JOB]: createImportJob({ db: deps.db, storage: deps.storage, clock: deps.clock, limits }),
  };
}
