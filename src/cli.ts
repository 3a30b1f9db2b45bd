import { parseArgs } from 'node:util';
import { IMPORT_USAGE, importCommand } from './commands/import.ts';
import { OPENAPI_USAGE, openapiCommand } from './commands/openapi.ts';
import { runWorker } from './commands/worker.ts';
import { openDatabase } from './db/setup.ts';
import { normalizeEmail } from './lib/email.ts';
import { resolveJwtSecret } from './lib/installation-secret.ts';
import { hashPassword, PASSWORD_MAX, PASSWORD_MIN } from './lib/passwords.ts';
import { createMailQueue } from './modules/mail/mail.queue.ts';
import { newestMailJobs } from './modules/mail/mail.repository.ts';
import { revokeCredentials } from './modules/users/credentials.repository.ts';
import { findUserByEmail, insertUser } from './modules/users/users.repository.ts';
import { configFromEnv, serve } from './server.ts';

const USAGE = `Usage: npm run cli -- <command> [options]

Commands:
  serve                                   start the API (same as npm start)
  worker                                  run background jobs only (imports, mail); stops gracefully on SIGINT/SIGTERM
  migrate                                 apply migrations and reference data, then exit
  create-superadmin --email E --password P [--first-name F] [--last-name L]
                                          create platform staff, or promote an existing user
  outbox [--limit N]                      show the newest mails with their delivery state and text
  ${IMPORT_USAGE}
                                          import a CSV or XLSX file for a company, with a progress bar
  ${OPENAPI_USAGE}
`;

async function withDatabase<T>(fn: (db: Awaited<ReturnType<typeof openDatabase>>) => Promise<T>): Promise<T> {
  const database = await openDatabase(configFromEnv());
  try {
    return await fn(database);
  } finally {
    await database.close();
  }
}

async function createSuperadmin(args: string[]) {
  const { values } = parseArgs({
    args,
    options: {
      email: { type: 'string' },
      password: { type: 'string' },
      'first-name': { type: 'string', default: 'Platform' },
      'last-name': { type: 'string', default: 'Admin' },
    },
  });
  if (!values.email || !values.password) throw new Error('--email and --password are required');
  if (values.password.length < PASSWORD_MIN || values.password.length > PASSWORD_MAX) {
    throw new Error(`the password must be ${PASSWORD_MIN} to ${PASSWORD_MAX} characters`);
  }
  const email = normalizeEmail(values.email);
  const passwordHash = await hashPassword(values.password);
  await withDatabase(async ({ db }) => {
    const existing = await findUserByEmail(db, email);
    if (existing) {
      // A new password: whatever sessions, feeds and tokens the account had (someone may have signed up with this
      // address before the operator) end here, as with any password change. The operator vouches for the address.
      await revokeCredentials(db, existing.id, new Date(), {
        superadmin: true,
        passwordHash,
        status: 'active',
        emailVerifiedAt: new Date(),
        pendingEmail: null,
      });
      console.log(`User ${email} (id ${existing.id}) is now a superadmin.`);
    } else {
      const row = await insertUser(db, {
        email,
        passwordHash,
        firstName: values['first-name'],
        lastName: values['last-name'],
        superadmin: true,
        emailVerifiedAt: new Date(),
      });
      console.log(`Superadmin ${email} created (id ${row.id}).`);
    }
  });
}

function mailState(job: { status: string; attempts: number; maxAttempts: number; runAt: Date }): string {
  if (job.status === 'queued' && job.attempts > 0) {
    return `queued, attempt ${job.attempts + 1} of ${job.maxAttempts} at ${job.runAt.toISOString()}`;
  }
  if (job.status === 'running') return `sending (attempt ${job.attempts} of ${job.maxAttempts})`;
  if (job.status === 'failed') return `failed after ${job.attempts} attempts`;
  return job.status === 'done' ? 'delivered' : job.status;
}

/**
 * Every mail is a job: the newest ones with their delivery state (queued, running, done, failed after its last
 * attempt), opened with the installation's secret. Without SMTP_URL a "done" mail was kept rather than sent.
 */
async function showOutbox(args: string[]) {
  const { values } = parseArgs({ args, options: { limit: { type: 'string', default: '20' } } });
  const limit = Math.min(Math.max(Number(values.limit) || 20, 1), 1000);
  const config = configFromEnv();
  const mail = createMailQueue({ secret: resolveJwtSecret(config) });
  await withDatabase(async ({ db }) => {
    const rows = await newestMailJobs(db, limit);
    if (rows.length === 0) console.log('The outbox is empty.');
    for (const row of rows.reverse()) {
      const message = mail.open(row.payload);
      const state = mailState(row);
      console.log(`--- mail #${row.id} ${row.createdAt.toISOString()} ${state}`);
      if (row.lastError && row.status !== 'done') console.log(`Last error: ${row.lastError}`);
      if (!message) {
        console.log('(sealed under another JWT_SECRET: cannot be opened)');
        continue;
      }
      console.log(`To: ${message.to}\nSubject: ${message.subject}\n\n${message.text}`);
    }
  });
}

async function main(argv: string[]) {
  const [command, ...args] = argv;
  switch (command) {
    case 'serve':
      return serve();
    case 'worker':
      return runWorker(configFromEnv());
    case 'migrate':
      await withDatabase(async () => {});
      console.log('Migrations and reference data applied.');
      return;
    case 'create-superadmin':
      return createSuperadmin(args);
    case 'outbox':
      return showOutbox(args);
    case 'openapi':
      return openapiCommand(args);
    case 'import':
      process.exitCode = await importCommand(configFromEnv(), args);
      return;
    default:
      console.log(USAGE);
      if (command && command !== 'help' && command !== '--help') process.exitCode = 1;
  }
}

main(process.argv.slice(2)).catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
