import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { buildApp } from './app.ts';
import { type Config, ConfigError, loadConfig } from './config.ts';
import { DataDirInUse } from './db/data-dir-lock.ts';
import { openDatabase } from './db/setup.ts';
import { resolveJwtSecret } from './lib/installation-secret.ts';

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

export async function serve(config: Config = configFromEnv()): Promise<void> {
  const database = await openDatabase(config);
  const app = await buildApp({ config: { ...config, jwtSecret: resolveJwtSecret(config) }, database });
  let closing = false;
  const shutdown = async (signal: string) => {
    if (closing) return;
    closing = true;
    app.log.info({ signal }, 'shutting down');
    const force = setTimeout(() => process.exit(1), 10_000).unref();
    await app.close();
    await database.close();
    clearTimeout(force);
    process.exit(0);
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
