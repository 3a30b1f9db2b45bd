import { parseArgs } from 'node:util';
import { desc, eq } from 'drizzle-orm';
import { outboxMessages, users } from './db/schema/index.ts';
import { openDatabase } from './db/setup.ts';
import { runWorker } from './jobs/worker.ts';
import { normalizeEmail } from './lib/email.ts';
import { hashPassword, PASSWORD_MAX, PASSWORD_MIN } from './lib/passwords.ts';
import { revokeCredentials } from './modules/auth/credentials.repository.ts';
import { IMPORT_USAGE, importCommand } from './modules/imports/imports.command.ts';
import { configFromEnv, serve } from './server.ts';

const USAGE = `Usage: npm run cli -- <command> [options]

Commands:
  serve                                   start the API (same as npm start)
  worker                                  run background jobs only (imports, mail); stops gracefully on SIGINT/SIGTERM
  migrate                                 apply migrations and reference data, then exit
  create-superadmin --email E --password P [--first-name F] [--last-name L]
                                          create platform staff, or promote an existing user
  outbox [--limit N]                      show the mail the embedded default kept instead of sending
  ${IMPORT_USAGE}
                                          import a CSV or XLSX file for a company, with a progress bar
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
    const [existing] = await db.select({ id: users.id }).from(users).where(eq(users.email, email));
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
      const [row] = await db
        .insert(users)
        .values({
          email,
          passwordHash,
          firstName: values['first-name'],
          lastName: values['last-name'],
          superadmin: true,
          emailVerifiedAt: new Date(),
        })
        .returning({ id: users.id });
      console.log(`Superadmin ${email} created (id ${row!.id}).`);
    }
  });
}

async function showOutbox(args: string[]) {
  const { values } = parseArgs({ args, options: { limit: { type: 'string', default: '20' } } });
  const limit = Math.min(Math.max(Number(values.limit) || 20, 1), 1000);
  await withDatabase(async ({ db }) => {
    const rows = await db.select().from(outboxMessages).orderBy(desc(outboxMessages.id)).limit(limit);
    if (rows.length === 0) console.log('The outbox is empty.');
    for (const row of rows.reverse()) {
      console.log(
        `--- #${row.id} ${row.createdAt.toISOString()}\nTo: ${row.to}\nSubject: ${row.subject}\n\n${row.text}`,
      );
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
