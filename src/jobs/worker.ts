import { hostname } from 'node:os';
import { type Config, sharedStorageWarning } from '../config.ts';
import { openDatabase } from '../db/setup.ts';
import { systemClock } from '../lib/clock.ts';
import { resolveJwtSecret } from '../lib/installation-secret.ts';
import { createStorage } from '../lib/storage/index.ts';
import { createJobHandlers } from './handlers.ts';
import { createJobRunner, type JobLogger } from './runner.ts';

const LEVELS = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: Number.POSITIVE_INFINITY };

/**
 * JSON lines in pino's shape (level, time, pid, hostname, msg), so the worker's logs read like the API's without
 * building an HTTP server for its logger.
 */
export function createConsoleLogger(level: Config['logLevel']): JobLogger {
  const threshold = LEVELS[level];
  const base = { pid: process.pid, hostname: hostname() };
  const write = (value: number) => (obj: unknown, msg?: string) => {
    if (value < threshold) return;
    const fields: Record<string, unknown> = typeof obj === 'object' && obj !== null ? { ...obj } : { msg: obj };
    if (fields.err instanceof Error) {
      fields.err = { type: fields.err.name, message: fields.err.message, stack: fields.err.stack };
    }
    const line = { level: value, time: Date.now(), ...base, ...fields, ...(msg === undefined ? {} : { msg }) };
    process.stdout.write(`${JSON.stringify(line)}\n`);
  };
  return { info: write(LEVELS.info), warn: write(LEVELS.warn), error: write(LEVELS.error) };
}

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
  const runner = createJobRunner({
    db: database.db,
    handlers: createJobHandlers({ db: database.db, clock, config, storage, logger, secret: resolveJwtSecret(config) }),
    clock,
    logger,
    concurrency: config.workerConcurrency,
    leaseMs: config.jobLeaseMs,
  });
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
  runner.start();
  logger.info({ database: database.kind, workerId: runner.workerId }, 'Leadsy worker started');
}
