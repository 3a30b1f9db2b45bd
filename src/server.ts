import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { buildApp } from './app.ts';
import { type Config, ConfigError, loadConfig, sharedStorageWarning } from './config.ts';
import { DataDirInUse } from './db/data-dir-lock.ts';
import { openDatabase } from './db/setup.ts';
import { resolveJwtSecret } from './lib/installation-secret.ts';
import { sweepTemporaryFiles } from './lib/storage/index.ts';

export { resolveJwtSecret };

/** Reads the environment once; a bad value ends the process with a message naming the variable. */
export function configFromEnv(): Config {
  try {
    return loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(1);
    }
    throw error;
  }
}

/** Temporary files of uploads that a killed process left behind (the local driver's DATA_DIR/files/.tmp). */
export async function sweepUploadLeftovers(config: Config, log: { info(obj: unknown, msg?: string): void }) {
  if (config.storageDriver !== 'local') return;
  const removed = await sweepTemporaryFiles(join(config.dataDir, 'files'));
  if (removed > 0) log.info({ removed }, 'removed temporary upload files left by an earlier process');
}

/** How long past SHUTDOWN_GRACE_MS closing may take (cut requests cleaning up, the database) before exit(1). */
const CLOSE_MARGIN_MS = 10_000;

/**
 * The API process. SIGTERM/SIGINT: stop taking connections, answer requests that still come on open ones with
 * problem+json 503, let in-flight requests and running jobs finish for SHUTDOWN_GRACE_MS, then cut what is left (a
 * cut upload removes its temporary file; a job still running is released for another worker), close, exit 0.
 */
export async function serve(config: Config = configFromEnv()): Promise<void> {
  const database = await openDatabase(config);
  const app = await buildApp({ config: { ...config, jwtSecret: resolveJwtSecret(config) }, database });
  const warning = sharedStorageWarning(config);
  if (warning) app.log.warn(warning);
  await sweepUploadLeftovers(config, app.log);
  let closing = false;
  const shutdown = async (signal: string) => {
    if (closing) return;
    closing = true;
    const graceMs = config.shutdownGraceMs;
    app.log.info({ signal, graceMs }, 'shutting down: finishing in-flight requests and jobs');
    const cut = setTimeout(() => {
      app.log.warn({ graceMs }, 'shutdown grace over: cutting the requests still running');
      app.server.closeAllConnections();
    }, graceMs).unref();
    const force = setTimeout(() => {
      app.log.error('shutdown did not finish in time; exiting');
      process.exit(1);
    }, graceMs + CLOSE_MARGIN_MS).unref();
    let code = 0;
    try {
      await app.close();
      await database.close();
    } catch (error) {
      app.log.error({ err: error }, 'shutdown failed');
      code = 1;
    }
    clearTimeout(cut);
    clearTimeout(force);
    app.log.info('stopped');
    process.exit(code);
  };
  process.once('SIGINT', () => void shutdown('SIGINT'));
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  await app.listen({ port: config.port, host: config.host });
  const where = database.kind === 'pglite' ? `embedded database in ${join(config.dataDir, 'db')}` : 'PostgreSQL';
  app.log.info(`Leadsy API on ${where}; interactive reference at ${config.publicUrl}/docs`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  serve().catch((error: unknown) => {
    // A known refusal (the DATA_DIR is another process's) is a sentence for the operator, not a stack trace.
    console.error('Leadsy failed to start:', error instanceof DataDirInUse ? error.message : error);
    process.exit(1);
  });
}
