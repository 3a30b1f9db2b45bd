import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { Config } from '../config.ts';
import { openDatabase } from '../db/setup.ts';
import { createJobRunner, type JobRunner } from '../jobs/runner.ts';
import { systemClock } from '../lib/clock.ts';
import { createConsoleLogger } from '../lib/console-logger.ts';
import { normalizeEmail } from '../lib/email.ts';
import { AppError } from '../lib/errors.ts';
import { resolveJwtSecret } from '../lib/installation-secret.ts';
import { createStorage } from '../lib/storage/index.ts';
import { findCompany } from '../modules/companies/companies.repository.ts';
import { findImport, type ImportRow } from '../modules/imports/imports.repository.ts';
import { presentImport } from '../modules/imports/imports.schemas.ts';
import type { Fields } from '../modules/imports/imports.service.ts';
import { findUserByEmail } from '../modules/users/users.repository.ts';
import { createServices } from '../services.ts';

export const IMPORT_USAGE = `import --company ID --file PATH [--user EMAIL] [--source-id N] [--campaign-id N]
         [--mapping JSON] [--on-duplicate skip|update]`;

const FINISHED = new Set(['completed', 'failed', 'canceled']);
const BAR = 30;

/** `[#########.....]  31%  310,000 rows  15,211 rows/s` */
export function progressLine(row: ImportRow, seconds: number): string {
  const { progress } = presentImport(row);
  const filled = Math.round(progress * BAR);
  const rate = seconds > 0 ? Math.round(row.processedRows / seconds) : 0;
  return `[${'#'.repeat(filled)}${'.'.repeat(BAR - filled)}] ${String(Math.round(progress * 100)).padStart(3)}%  ${row.processedRows.toLocaleString('en')} rows  ${rate.toLocaleString('en')} rows/s`;
}

function summary(row: ImportRow, seconds: number): string {
  const counts = `${row.importedRows} imported, ${row.updatedRows} updated, ${row.duplicateRows} duplicate, ${row.failedRows} failed`;
  const lines = [`Import ${row.id} ${row.status} in ${seconds.toFixed(1)} s: ${counts} of ${row.processedRows} rows.`];
  if (row.errorMessage) lines.push(row.errorMessage);
  for (const error of row.firstErrors) lines.push(`  row ${error.row}: ${error.reason}`);
  if (row.failedRows + row.duplicateRows > row.firstErrors.length) {
    lines.push(`Every rejected row: GET /api/v1/companies/${row.companyId}/imports/${row.id}/errors`);
  }
  return lines.join('\n');
}

function options(args: string[]) {
  const { values } = parseArgs({
    args,
    options: {
      company: { type: 'string' },
      file: { type: 'string' },
      user: { type: 'string' },
      'source-id': { type: 'string' },
      'campaign-id': { type: 'string' },
      mapping: { type: 'string' },
      'on-duplicate': { type: 'string' },
    },
  });
  const companyId = Number(values.company);
  if (!Number.isSafeInteger(companyId) || companyId < 1 || !values.file) {
    throw new Error(`--company and --file are required\nUsage: npm run cli -- ${IMPORT_USAGE}`);
  }
  if (!existsSync(values.file)) throw new Error(`There is no file ${values.file}.`);
  const fields: Fields = {};
  if (values['source-id']) fields.source_id = values['source-id'];
  if (values['campaign-id']) fields.campaign_id = values['campaign-id'];
  if (values.mapping) fields.mapping = values.mapping;
  if (values['on-duplicate']) fields.on_duplicate = values['on-duplicate'];
  return { companyId, file: values.file, user: values.user, fields };
}

/**
 * `import`: queues a file for a company exactly as an upload does, then works the queue in this process (any other
 * worker may take part) and draws the import's progress until it ends. Exit code 0 when it completed. On the
 * embedded database, stop the API first: PGlite's data directory is one process's at a time.
 */
export async function importCommand(config: Config, args: string[]): Promise<number> {
  const { companyId, file, user, fields } = options(args);
  const database = await openDatabase(config);
  const storage = createStorage(config);
  const logger = createConsoleLogger(config.logLevel === 'info' ? 'warn' : config.logLevel);
  let runner: JobRunner | undefined;
  const services = createServices({
    config: { ...config, jwtSecret: resolveJwtSecret(config) },
    database,
    clock: systemClock,
    storage,
    log: logger,
    notifyJobs: () => runner?.notify(),
  });
  runner = createJobRunner({
    db: database.db,
    handlers: services.jobs,
    clock: systemClock,
    logger,
    concurrency: 1,
    leaseMs: config.jobLeaseMs,
  });
  try {
    const company = await findCompany(database.db, companyId);
    if (!company) throw new Error(`There is no company ${companyId}.`);
    const actor = user ? await findUserByEmail(database.db, normalizeEmail(user)) : undefined;
    if (user && !actor) throw new Error(`There is no user ${user}.`);
    const queued = await services.imports
      .importFile({ companyId, userId: actor?.id ?? null }, file, fields)
      .catch(explain);
    runner.start();
    const started = performance.now();
    const seconds = () => (performance.now() - started) / 1000;
    let row = queued;
    let shown = -1;
    while (!FINISHED.has(row.status)) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      row = (await findImport(database.db, companyId, queued.id))!;
      // A terminal redraws one line; a log gets a line every tenth.
      const tenth = Math.floor(presentImport(row).progress * 10);
      if (process.stderr.isTTY) process.stderr.write(`\r${progressLine(row, seconds())}`);
      else if (tenth > shown) process.stderr.write(`${progressLine(row, seconds())}\n`);
      shown = Math.max(shown, tenth);
    }
    if (process.stderr.isTTY) process.stderr.write(`\r${progressLine(row, seconds())}\n`);
    console.log(summary(row, seconds()));
    return row.status === 'completed' ? 0 : 1;
  } finally {
    await runner.stop();
    await storage.close?.();
    await database.close();
  }
}

/** The service's 4xx answers, as a command line says them. */
function explain(error: unknown): never {
  if (!(error instanceof AppError)) throw error;
  const fields = (error.errors ?? []).map((e) => `\n  ${e.field}: ${e.message}`).join('');
  throw new Error(`${error.message}${fields}`);
}
