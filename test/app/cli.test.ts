import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

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

    const outbox = await cli('outbox');
    expect(outbox.stdout).toContain('The outbox is empty.');
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
