import { type Config, sharedStorageWarning } from '../config.ts';
import { openDatabase } from '../db/setup.ts';
import { createJobRunner } from '../jobs/runner.ts';
import { systemClock } from '../lib/clock.ts';
import { createConsoleLogger } from '../lib/console-logger.ts';
import { resolveJwtSecret } from '../lib/installation-secret.ts';
import { createStorage } from '../lib/storage/index.ts';
import { createMetrics, serveMetrics } from '../plugins/metrics.ts';
import { createServices, metricsReaders } from '../services.ts';

/**
 * The `worker` command: only the job runner, no HTTP. Any number of these (and of API processes with WORKER=on)
 * share the queue. SIGINT/SIGTERM stop it gracefully: running jobs get their signal aborted and time to wind down.
 */
export async function runWorker(config: Config): Promise<void> {
  const logger = createConsoleLogger(config.logLevel);
  const warning = sharedStorageWarning(config);
  if (warning) logger.warn({}, warning);
  const database = await openDatabase(config);
  const storage = createStorage(config);
  const clock = systemClock;
  const metrics = createMetrics({
    database,
    clock,
    read: metricsReaders(database.db),
  });
  const services = createServices({
    config: { ...config, jwtSecret: resolveJwtSecret(config) },
    database,
    clock,
    storage,
    log: logger,
    telemetry: metrics.telemetry,
  });
  const runner = createJobRunner({
    db: database.db,
    handlers: services.jobs,
    clock,
    logger,
    concurrency: config.workerConcurrency,
    leaseMs: config.jobLeaseMs,
    observe: metrics.observeJob,
  });
  const scraped =
    config.workerMetricsPort === undefined
      ? undefined
      : await serveMetrics(metrics, { port: config.workerMetricsPort, host: config.host, token: config.metricsToken });
  // The runner's timers are unref'd on purpose; this is what keeps the worker process up until it is told to stop.
  const keepAlive = setInterval(() => {}, 1 << 30);
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'worker shutting down');
    // The runner waits SHUTDOWN_GRACE_MS for its jobs, then releases those still running for another worker.
    const force = setTimeout(() => process.exit(1), config.shutdownGraceMs + 10_000).unref();
    try {
      await runner.stop(config.shutdownGraceMs);
      await scraped?.close();
      await storage.close?.();
      await database.close();
      process.exit(0);
    } catch (error) {
      logger.error({ err: error }, 'worker shutdown failed');
      process.exit(1);
    } finally {
      clearTimeout(force);
      clearInterval(keepAlive);
    }
  };
  process.once('SIGINT', () => void shutdown('SIGINT'));
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  await services.ensureRecurringJobs();
  runner.start();
  logger.info(
    { database: database.kind, workerId: runner.workerId, metricsPort: scraped?.port },
    'Leadsy worker started',
  );
}
