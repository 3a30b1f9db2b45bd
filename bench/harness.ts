import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import autocannon from 'autocannon';
import pg from 'pg';

/** The database the benchmarks fill once and reuse: BENCH_DATABASE_URL, else a `leadsy_bench` next to the tests'. */
export const benchDatabaseUrl = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/leadsy_bench';

export const BENCH_JWT_SECRET = 'benchmark-secret-benchmark-secret-0123456789';

export async function ensureDatabase(url: string): Promise<void> {
  const target = new URL(url);
  const name = target.pathname.slice(1);
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    const exists = await client.query('select 1 from pg_database where datname = $1', [name]);
    if (exists.rowCount === 0) await client.query(`create database "${name.replace(/"/g, '')}"`);
  } finally {
    await client.end();
  }
}

/** Resolves with the port once the child's output matches `port` (its first group), rejects if it exits first. */
function whenListening(child: ChildProcess, port: RegExp, name: string) {
  return new Promise<{ port: number; child: ChildProcess }>((resolve, reject) => {
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = port.exec(output);
      if (match) resolve({ port: Number(match[1]), child });
    });
    child.once('exit', (code) => reject(new Error(`${name} exited with ${code}`)));
  });
}

const profile = () => (process.env.BENCH_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE}`] : []);

/**
 * Starts `tsx bench/servers.ts <kind>` (of the checkout in `cwd`) and resolves with its port once it prints `PORT n`.
 * BENCH_PROFILE=<dir> writes a CPU profile of each server into that directory when it stops.
 */
export function startServer(kind: 'app' | 'bare', env: Record<string, string>, cwd = process.cwd()) {
  const child = spawn(process.execPath, [...profile(), '--import', 'tsx', 'bench/servers.ts', kind], {
    cwd,
    // PUBLIC_URL: required with DATABASE_URL; the rate limits out of the way of the load.
    env: { ...process.env, PUBLIC_URL: 'http://127.0.0.1', API_RATE_LIMIT: '1000000', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return whenListening(child, /PORT (\d+)/, `${kind} server`);
}

/** Compiles Leadsy as `npm start` does, once before the runs that start it. */
export function buildProduct() {
  execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
}

/**
 * Starts Leadsy as `npm start` does (`node dist/server.js`, compiled by buildProduct) on a free port: the process
 * whose speed and memory an operator gets.
 */
export function startProduct(env: Record<string, string>) {
  const child = spawn(process.execPath, [...profile(), 'dist/server.js'], {
    env: {
      ...process.env,
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      PUBLIC_URL: 'http://127.0.0.1',
      API_RATE_LIMIT: '1000000',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return whenListening(child, /listening at http:\/\/127\.0\.0\.1:(\d+)/, 'Leadsy');
}

export type Load = { name: string; reqPerSec: number; p50: number; p99: number; errors: number; non2xx: number };

/** A bounded load on loopback: `connections` at once for `seconds`. */
export async function load(
  name: string,
  url: string,
  options: {
    headers?: Record<string, string>;
    seconds: number;
    connections?: number;
    method?: 'GET' | 'POST';
    body?: string;
  },
): Promise<Load> {
  const result = await autocannon({
    url,
    connections: options.connections ?? 10,
    duration: options.seconds,
    headers: options.headers ?? {},
    method: options.method ?? 'GET',
    ...(options.body ? { body: options.body } : {}),
  });
  return {
    name,
    reqPerSec: Math.round(result.requests.average),
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors,
    non2xx: result.non2xx,
  };
}

export function report(title: string, rows: string[][], file: string, data: unknown): void {
  const [head, ...body] = rows;
  const lines = [
    `### ${title}`,
    '',
    `| ${head!.join(' | ')} |`,
    `|${head!.map(() => '---').join('|')}|`,
    ...body.map((row) => `| ${row.join(' | ')} |`),
  ];
  console.log(`\n${lines.join('\n')}\n`);
  mkdirSync('bench/out', { recursive: true });
  writeFileSync(`bench/out/${file}.json`, JSON.stringify(data, null, 2));
}
