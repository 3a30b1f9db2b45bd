import { createJobHandlers } from '../../src/jobs/handlers.ts';
import { createJobRunner } from '../../src/jobs/runner.ts';
import { createStorage } from '../../src/lib/storage/index.ts';
import type { TestContext } from './app.ts';

const quiet = { info: () => {}, warn: () => {}, error: () => {} };

/** Runs due jobs to completion, one at a time, with the handlers the worker has (test apps run no worker). */
export async function runJobs(ctx: TestContext, max = 50): Promise<number> {
  const storage = createStorage(ctx.config);
  const runner = createJobRunner({
    db: ctx.database.db,
    handlers: createJobHandlers({
      db: ctx.database.db,
      clock: ctx.clock,
      config: ctx.config,
      storage,
      logger: quiet,
      secret: ctx.config.jwtSecret,
    }),
    clock: ctx.clock,
    logger: quiet,
  });
  let ran = 0;
  while (ran < max && (await runner.runOnce())) ran++;
  await storage.close?.();
  return ran;
}
