import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { inject } from 'vitest';
import { type App, buildApp } from '../../src/app.ts';
import { type Config, loadConfig } from '../../src/config.ts';
import { connectPostgres, type Database } from '../../src/db/client.ts';
import { createPglite, wrapPglite } from '../../src/db/pglite.ts';
import type { Clock } from '../../src/lib/clock.ts';
import { adminQuery, databaseUrl } from './postgres.ts';

/** A clock tests can move forward (token and code expiry). */
export function testClock(): Clock & { advance(ms: number): void } {
  let offset = 0;
  return { now: () => new Date(Date.now() + offset), advance: (ms) => (offset += ms) };
}

export type TestContext = {
  app: App;
  database: Database;
  clock: ReturnType<typeof testClock>;
  config: Config & { jwtSecret: string };
  /** The PostgreSQL database of this test file, for processes a test starts (undefined on PGlite). */
  databaseUrl: string | undefined;
  close(): Promise<void>;
};

/** A fresh copy of the migrated template: PGlite from the dump, PostgreSQL through CREATE DATABASE … TEMPLATE. */
async function freshDatabase(): Promise<{ database: Database; url?: string; drop(): Promise<void> }> {
  const url = process.env.DATABASE_URL;
  const template = inject('pgTemplate');
  if (url && template) {
    const name = `${template.replace(/_tpl$/, '')}_t${randomBytes(5).toString('hex')}`;
    await adminQuery(url, `create database "${name}" template "${template}"`);
    const database = connectPostgres(databaseUrl(url, name), { max: 20 });
    return {
      database,
      url: databaseUrl(url, name),
      drop: () => adminQuery(url, `drop database if exists "${name}" with (force)`),
    };
  }
  const dump = new Blob([readFileSync(inject('pgliteTemplate'))]);
  const client = await createPglite({ loadDataDir: dump });
  return { database: wrapPglite(client), drop: async () => {} };
}

/** A destination for the app's log that keeps every line, for tests that read what was logged. */
function collectLines(lines: string[]): Writable {
  return new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
}

/** `options.logLines`: the app logs everything (level trace) into this array; otherwise it logs nothing. */
export async function buildTestApp(
  env: Record<string, string> = {},
  options: { logLines?: string[] } = {},
): Promise<TestContext> {
  const { database, url, drop } = await freshDatabase();
  const clock = testClock();
  // Stored files (avatars, imports) go to a directory of this test file's own, removed on close.
  const dataDir = env.DATA_DIR ?? mkdtempSync(join(tmpdir(), 'leadsy-data-'));
  const config = {
    ...loadConfig({
      LOG_LEVEL: 'silent',
      AUTH_RATE_LIMIT: '100000',
      API_RATE_LIMIT: '100000',
      PUBLIC_URL: 'http://leadsy.test',
      DATA_DIR: dataDir,
      // No polling worker unless a test asks for one: jobs then run only when a test runs them.
      WORKER: 'off',
      ...env,
    }),
    jwtSecret: 'test-secret-that-is-long-enough-for-hs256-0123456789',
  };
  const logger = options.logLines
    ? ({ level: 'trace', stream: collectLines(options.logLines) } as { level: string })
    : false;
  const app = await buildApp({ config, database, clock, logger });
  return {
    app,
    database,
    clock,
    config,
    databaseUrl: url,
    async close() {
      await app.close();
      await database.close();
      await drop();
      if (!env.DATA_DIR) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export type Json = Record<string, any>;
export type Response = LightMyRequestResponse & { body_json: Json };

/** One HTTP request through the real app; `token` becomes a bearer header. */
export async function call(
  app: App,
  method: InjectOptions['method'],
  url: string,
  options: { token?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<Response> {
  const response = await app.inject({
    method,
    url,
    headers: { ...(options.token ? { authorization: `Bearer ${options.token}` } : {}), ...options.headers },
    ...(options.body === undefined ? {} : { payload: options.body as InjectOptions['payload'] }),
  });
  let parsed: Json = {};
  try {
    parsed = response.body ? (JSON.parse(response.body) as Json) : {};
  } catch {
    parsed = {};
  }
  return Object.assign(response, { body_json: parsed });
}
