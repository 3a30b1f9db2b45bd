import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { eq } from 'drizzle-orm';
import { afterAll, describe, expect, it } from 'vitest';
import { companies, leads, users } from '../../src/db/schema/index.ts';
import { openDatabase } from '../../src/db/setup.ts';

const run = promisify(execFile);
const dataDir = mkdtempSync(join(tmpdir(), 'leadsy-cli-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

/** The real command line, on its own embedded database in a temporary DATA_DIR. */
function cli(...args: string[]) {
  const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: dataDir, LOG_LEVEL: 'silent' };
  delete env.DATABASE_URL;
  return run(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], { env, timeout: 60_000 });
}

describe('command line', () => {
  it('migrates, creates a superadmin and shows an empty outbox', async () => {
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

  it('prints usage and fails on an unknown command', async () => {
    await expect(cli('frobnicate')).rejects.toMatchObject({ code: 1, stdout: expect.stringContaining('Usage') });
  });
});

describe('start-up configuration', () => {
  it('stops with a message naming a bad variable', async () => {
    const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: dataDir, PORT: 'eighty', JWT_TTL: 'forever' };
    delete env.DATABASE_URL;
    const failure = await run(process.execPath, ['--import', 'tsx', 'src/server.ts'], { env, timeout: 60_000 }).catch(
      (error: { code: number; stderr: string }) => error,
    );
    expect(failure).toMatchObject({ code: 1 });
    expect((failure as { stderr: string }).stderr).toMatch(/PORT must be an integer/);
    expect((failure as { stderr: string }).stderr).toMatch(/JWT_TTL/);
  });
});
