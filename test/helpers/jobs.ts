import { createJobRunner } from '../../src/jobs/runner.ts';
import { createStorage } from '../../src/lib/storage/index.ts';
import { createServices } from '../../src/services.ts';
import type { TestContext } from './app.ts';

const quiet = { info: () => {}, warn: () => {}, error: () => {} };

/** Runs due jobs to completion, one at a time, with the handlers every worker has (test apps run no worker). */
export async function runJobs(ctx: TestContext, max = 50): Promise<number> {
  const storage = createStorage(ctx.config);
  const { jobs } = createServices({
    config: ctx.config,
    database: ctx.database,
    clock: ctx.clock,
    storage,
    log: quiet,
  });
  const runner = createJobRunner({ db: ctx.database.db, handlers: jobs, clock: ctx.clock, logger: quiet });
  let ran = 0;
  while (ran < max && (await runner.runOnce())) ran++;
  await storage.close?.();
  return ran;
}
