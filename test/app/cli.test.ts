import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { eq } from 'drizzle-orm';
import { afterAll, describe, expect, it } from 'vitest';
import { companies, leads, users } from '../../src/db/schema/index.ts';
import { openDatabase } from '../../src/db/setup.ts';
import { resolveJwtSecret } from '../../src/lib/installation-secret.ts';
import { createMailQueue } from '../../src/modules/mail/mail.queue.ts';
import { CLI, run, SERVER, start } from '../helpers/processes.ts';

const dataDir = mkdtempSync(join(tmpdir(), 'leadsy-cli-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

/** The real, compiled command line, on its own embedded database in a temporary DATA_DIR; rejects on failure. */
async function cli(...args: string[]) {
  const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: dataDir, LOG_LEVEL: 'silent' };
  delete env.DATABASE_URL;
  const ran = await run(CLI, args, env);
  if (ran.code !== 0) throw Object.assign(new Error(`cli ${args.join(' ')} exited ${ran.code}`), ran);
  return ran;
}

// Each command starts a process that opens and migrates PGlite: seconds each on a loaded two-core machine.
describe('command line', { timeout: 180_000 }, () => {
  it('migrates, creates a superadmin and shows the outbox with each mail’s state', async () => {
    const migrated = await cli('migrate');
    expect(migrated.stdout).toContain('Migrations and reference data applied');
    expect(statSync(join(dataDir, 'db')).isDirectory()).toBe(true);

    const created = await cli('create-superadmin', '--email', 'Staff@Example.com', '--password', 'long enough pw');
    expect(created.stdout).toMatch(/Superadmin staff@example\.com created/);
    const again = await cli('create-superadmin', '--email', 'staff@example.com', '--password', 'long enough pw');
    expect(again.stdout).toMatch(/is now a superadmin/);
    // Promoting sets a new password: whatever credentials the account had end (token version bumped), and the
    // operator vouches for the address.
    const database = await openDatabase({ databaseUrl: undefined, dataDir });
    const [staff] = await database.db.select().from(users).where(eq(users.email, 'staff@example.com'));
    await database.close();
    expect(staff).toMatchObject({ superadmin: true, tokenVersion: 1 });
    expect(staff!.emailVerifiedAt).not.toBeNull();

    const outbox = await cli('outbox');
    expect(outbox.stdout).toContain('The outbox is empty.');

    // A mail queued by the API (here written as the API writes it) shows with its state and its opened text.
    const writer = await openDatabase({ databaseUrl: undefined, dataDir });
    const mail = createMailQueue({ secret: resolveJwtSecret({ jwtSecret: undefined, dataDir }) });
    await mail.enqueue(writer.db, { to: 'someone@example.com', subject: 'Hello', text: 'The text.' });
    await writer.close();
    const queued = await cli('outbox');
    expect(queued.stdout).toMatch(/--- mail #\d+ \S+ queued\nTo: someone@example\.com\nSubject: Hello\n\nThe text\./);
  });

  it('imports a file for a company with a progress bar and a summary', async () => {
    await cli('migrate');
    const database = await openDatabase({ databaseUrl: undefined, dataDir });
    const [company] = await database.db.insert(companies).values({ name: 'Cli Co', country: 'ES' }).returning();
    await database.close();
    const file = join(dataDir, 'leads.csv');
    const rows = Array.from({ length: 400 }, (_, i) => `Lead ${i},lead${i}@example.com,6${String(i).padStart(8, '0')}`);
    writeFileSync(file, `nombre,correo,teléfono\n${rows.join('\n')}\nBad,not-an-email,\n`);

    const done = await cli('import', '--company', String(company!.id), '--file', file);
    expect(done.stderr).toMatch(/\[#{30}\] 100% {2}401 rows/);
    expect(done.stdout).toContain('completed');
    expect(done.stdout).toContain('400 imported, 0 updated, 0 duplicate, 1 failed of 401 rows');
    expect(done.stdout).toContain('row 401: email is not an email address');

    const reopened = await openDatabase({ databaseUrl: undefined, dataDir });
    const stored = await reopened.db.select({ phone: leads.phone }).from(leads).where(eq(leads.companyId, company!.id));
    await reopened.close();
    expect(stored).toHaveLength(400);
    expect(stored).toContainEqual({ phone: '+34600000007' });

    await expect(
      cli('import', '--company', String(company!.id), '--file', join(dataDir, 'none.csv')),
    ).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringContaining('There is no file'),
    });
    await expect(
      cli('import', '--company', String(company!.id), '--file', file, '--on-duplicate', 'never'),
    ).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringContaining('on_duplicate: must be skip or update'),
    });
  });

  it('refuses a DATA_DIR another process holds, saying which and what to do, and takes over a dead one’s lock', async () => {
    const held = await openDatabase({ databaseUrl: undefined, dataDir });
    try {
      const refused = cli('create-superadmin', '--email', 'second@example.com', '--password', 'long enough pw');
      await expect(refused).rejects.toMatchObject({
        code: 1,
        stderr: expect.stringContaining(`in use by process ${process.pid}`),
      });
      await expect(refused).rejects.toMatchObject({ stderr: expect.stringContaining('stop that process first') });
    } finally {
      await held.close();
    }
    // A crashed holder: its lock names a process that no longer runs.
    const gone = start(process.execPath, ['-e', ''], process.env);
    await new Promise((resolve) => gone.once('exit', resolve));
    writeFileSync(
      join(dataDir, 'db.lock'),
      JSON.stringify({ pid: gone.pid, hostname: hostname(), command: 'crashed', since: new Date().toISOString() }),
    );
    const created = await cli('create-superadmin', '--email', 'second@example.com', '--password', 'long enough pw');
    expect(created.stdout).toMatch(/Superadmin second@example\.com created/);
    expect(existsSync(join(dataDir, 'db.lock'))).toBe(false);
  });

  it('prints usage and fails on an unknown command', async () => {
    await expect(cli('frobnicate')).rejects.toMatchObject({ code: 1, stdout: expect.stringContaining('Usage') });
  });
});

describe('start-up configuration', { timeout: 60_000 }, () => {
  it('stops with a message naming a bad variable', async () => {
    const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: dataDir, PORT: 'eighty', JWT_TTL: 'forever' };
    delete env.DATABASE_URL;
    const failure = await run(SERVER, [], env);
    expect(failure).toMatchObject({ code: 1 });
    expect(failure.stderr).toMatch(/PORT must be an integer/);
    expect(failure.stderr).toMatch(/JWT_TTL/);
  });
});
