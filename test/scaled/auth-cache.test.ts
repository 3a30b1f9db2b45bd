import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestContext } from '../helpers/app.ts';
import { companyWithTeam, PASSWORD, type TestUser } from '../helpers/factories.ts';
import { SERVER, start } from '../helpers/processes.ts';

/**
 * Two API processes on one PostgreSQL, each with its own principal and access-chain cache: a change made through
 * one node is refused or seen on the other within a second (drizzle/0009_authz_notify.sql, authz.cache.ts).
 */

type Node = { child: ChildProcess; base: string; output: () => string };

let ctx: TestContext;
let dataDir: string;
let a: Node;
let b: Node;

/** Polls `check` until it holds; past `ms` it fails naming `what`. */
async function until(check: () => boolean | Promise<boolean>, ms: number, what: string) {
  const deadline = performance.now() + ms;
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`${what} did not hold within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** A compiled API process; resolves once it listens and its authorization cache is on. */
async function startNode(): Promise<Node> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DATABASE_URL: ctx.databaseUrl,
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'info',
    DATA_DIR: dataDir,
    PUBLIC_URL: ctx.config.publicUrl,
    JWT_SECRET: ctx.config.jwtSecret,
    WORKER: 'off',
    AUTH_RATE_LIMIT: '100000',
    API_RATE_LIMIT: '100000',
  };
  const child = start(SERVER, [], env);
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr!.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });
  await until(
    () => {
      if (exited) throw new Error(`server exited before it was ready:\n${output}`);
      return /listening at http:\/\/127\.0\.0\.1:\d+/.test(output) && output.includes('authorization cache on');
    },
    60_000,
    'a node listening with its cache on',
  );
  const port = /listening at http:\/\/127\.0\.0\.1:(\d+)/.exec(output)![1];
  return { child, base: `http://127.0.0.1:${port}`, output: () => output };
}

async function request(node: Node, method: string, path: string, token: string, body?: unknown) {
  const response = await fetch(`${node.base}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  await response.arrayBuffer();
  return response.status;
}

/** Fills the node's cache for `user` on `path`. */
async function warm(node: Node, user: TestUser, path: string) {
  for (let n = 0; n < 3; n++) expect(await request(node, 'GET', path, user.token)).toBe(200);
}

/** `path` answers `expected` on `node` within one second of now. */
async function within1s(node: Node, user: TestUser, path: string, expected: number) {
  let last = 0;
  await until(
    async () => {
      last = await request(node, 'GET', path, user.token);
      return last === expected;
    },
    1_000,
    `${path} answering ${expected} on the other node (last: ${last})`,
  );
}

beforeAll(async () => {
  ctx = await buildTestApp();
  if (!ctx.databaseUrl) throw new Error('the scaled suite runs on PostgreSQL (DATABASE_URL)');
  dataDir = mkdtempSync(join(tmpdir(), 'leadsy-auth-cache-'));
  [a, b] = await Promise.all([startNode(), startNode()]);
});
afterAll(async () => {
  await ctx.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('authorization cache across processes', () => {
  it('serves from each node’s cache: a change made with the triggers off goes unseen', async () => {
    const { company, agent } = await companyWithTeam(ctx);
    const path = `/api/v1/companies/${company.id}`;
    await warm(a, agent, path);
    await warm(b, agent, path);
    // Without its NOTIFY, the bump reaches neither cache: the old token still passes on both, from memory.
    await ctx.database.db.transaction(async (tx) => {
      await tx.execute(sql`alter table users disable trigger users_authz_update`);
      await tx.execute(sql`update users set token_version = token_version + 1 where id = ${agent.id}`);
      await tx.execute(sql`alter table users enable trigger users_authz_update`);
    });
    expect(await request(a, 'GET', path, agent.token)).toBe(200);
    expect(await request(b, 'GET', path, agent.token)).toBe(200);
  });

  it('refuses the old token on node B within a second of a password change through node A', async () => {
    const { company, agent } = await companyWithTeam(ctx);
    const path = `/api/v1/companies/${company.id}`;
    await warm(a, agent, path);
    await warm(b, agent, path);
    await warm(b, agent, '/api/v1/users/validate_jwt');
    const changed = await request(a, 'PATCH', `/api/v1/users/${agent.id}`, agent.token, {
      password: 'an entirely new passphrase',
      current_password: PASSWORD,
    });
    expect(changed).toBe(200);
    await within1s(b, agent, path, 401);
    await within1s(b, agent, '/api/v1/users/validate_jwt', 401);
  });

  it('sees on node B within a second an access removed through node A', async () => {
    const { company, admin, agent } = await companyWithTeam(ctx);
    const path = `/api/v1/companies/${company.id}`;
    await warm(a, agent, path);
    await warm(b, agent, path);
    const removed = await request(
      a,
      'DELETE',
      `/api/v1/users/${agent.id}/user_access/${agent.userAccessId}`,
      admin.token,
    );
    expect(removed).toBe(204);
    await within1s(b, agent, path, 404);
    await within1s(a, agent, path, 404);
  });

  it('keeps both nodes up and their caches on', () => {
    expect(a.child.exitCode).toBeNull();
    expect(b.child.exitCode).toBeNull();
    expect(b.output()).not.toContain('authorization cache off');
  });
});
