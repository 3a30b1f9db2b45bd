import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll } from 'vitest';
import { freePort, waitFor } from './cluster.ts';

/**
 * A throw-away PgBouncer in front of one test database: its own config in a temporary directory, its own port,
 * transaction pooling, trust authentication. It runs in a process group of its own, killed when the test file ends
 * (or the test process exits) at the latest. PgBouncer refuses to run as root: as root it is started with
 * `-u postgres`, and its directory is made readable by that user.
 */

const running = new Set<ChildProcess>();
function kill(child: ChildProcess) {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}
afterAll(() => {
  for (const child of running) kill(child);
});
process.once('exit', () => {
  for (const child of running) kill(child);
});

export function pgbouncerBinary(): string | undefined {
  const candidates = [process.env.PGBOUNCER, '/usr/sbin/pgbouncer', '/usr/bin/pgbouncer', '/usr/local/bin/pgbouncer'];
  return candidates.find((path): path is string => !!path && existsSync(path));
}

export type PgBouncer = Awaited<ReturnType<typeof startPgBouncer>>;

export async function startPgBouncer(options: {
  /** The PostgreSQL database to put PgBouncer in front of (its user must be allowed in by the server). */
  databaseUrl: string;
  /** Server connections per database and user (default_pool_size). */
  poolSize: number;
  /** More `[pgbouncer]` settings. */
  settings?: Record<string, string | number>;
}) {
  const binary = pgbouncerBinary();
  if (!binary) throw new Error('pgbouncer is not installed (apt-get install pgbouncer, or set PGBOUNCER=<path>)');
  const target = new URL(options.databaseUrl);
  const database = target.pathname.slice(1);
  const user = decodeURIComponent(target.username || 'postgres');
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'leadsy-pgbouncer-'));
  const settings: Record<string, string | number> = {
    listen_addr: '127.0.0.1',
    listen_port: port,
    unix_socket_dir: '',
    auth_type: 'trust',
    auth_file: join(dir, 'users.txt'),
    admin_users: user,
    pool_mode: 'transaction',
    max_client_conn: 200,
    default_pool_size: options.poolSize,
    // node-postgres sends none of these, but a client that does must not be turned away.
    ignore_startup_parameters: 'extra_float_digits,options',
    ...options.settings,
  };
  writeFileSync(join(dir, 'users.txt'), `"${user}" ""\n`);
  writeFileSync(
    join(dir, 'pgbouncer.ini'),
    [
      '[databases]',
      `${database} = host=${target.hostname} port=${target.port || 5432} dbname=${database}`,
      '[pgbouncer]',
      ...Object.entries(settings).map(([key, value]) => `${key} = ${value}`),
      '',
    ].join('\n'),
  );
  const root = process.getuid?.() === 0;
  if (root) {
    chmodSync(dir, 0o755);
    for (const file of ['users.txt', 'pgbouncer.ini']) chmodSync(join(dir, file), 0o644);
  }
  const child = spawn(binary, [...(root ? ['-u', 'postgres'] : []), join(dir, 'pgbouncer.ini')], {
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  const output: string[] = [];
  const keep = (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n')) if (line.trim()) output.push(line);
    if (output.length > 400) output.splice(0, output.length - 400);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => {
      running.delete(child);
      resolve();
    }),
  );
  child.once('error', (error) => output.push(`spawn failed: ${error.message}`));

  const url = new URL(options.databaseUrl);
  url.hostname = '127.0.0.1';
  url.port = String(port);

  /** A query through PgBouncer's admin console (SHOW STATS, SHOW POOLS, …): simple protocol, one statement. */
  async function admin(statement: string): Promise<Record<string, unknown>[]> {
    const adminClient = new pg.Client({ host: '127.0.0.1', port, user, database: 'pgbouncer' });
    await adminClient.connect();
    try {
      return (await adminClient.query(statement)).rows;
    } finally {
      await adminClient.end();
    }
  }

  await waitFor(
    `pgbouncer on port ${port}`,
    async () => {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(`pgbouncer exited:\n${output.join('\n')}`);
      }
      const client = new pg.Client({ connectionString: url.toString() });
      try {
        await client.connect();
        await client.query('select 1');
        return true;
      } finally {
        await client.end().catch(() => {});
      }
    },
    15_000,
  ).catch((error: Error) => {
    kill(child);
    throw new Error(`${error.message}\n${output.slice(-20).join('\n')}`);
  });

  return {
    /** DATABASE_URL through PgBouncer. */
    url: url.toString(),
    port,
    output,
    admin,
    /** Transactions and queries PgBouncer relayed to the database (SHOW STATS). */
    async stats(): Promise<{ transactions: number; queries: number }> {
      const row = (await admin('SHOW STATS')).find((r) => r.database === database);
      return { transactions: Number(row?.total_xact_count ?? 0), queries: Number(row?.total_query_count ?? 0) };
    },
    async close() {
      kill(child);
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
