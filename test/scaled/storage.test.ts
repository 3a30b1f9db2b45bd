import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestContext } from '../helpers/app.ts';
import { PASSWORD } from '../helpers/factories.ts';
import { avatarUpload, multipart } from '../helpers/multipart.ts';
import { startS3 } from '../helpers/s3.ts';
import { type Cluster, startCluster, waitFor } from './cluster.ts';

/**
 * Issue 12, repro 5: files in the scaled shape. Each process here has a DATA_DIR of its own, as separate hosts or
 * containers without a shared volume would. With STORAGE_DRIVER=s3 every node sees every file; with the local
 * driver the nodes warn at start, and an import whose file its worker cannot see fails saying what to fix.
 */
const SECRET = 'storage-test-secret-that-is-long-enough-0123456789';

let ctx: TestContext;
const dirs: string[] = [];
const dataDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'leadsy-node-'));
  dirs.push(dir);
  return dir;
};
beforeAll(async () => {
  // Only for its migrated PostgreSQL database: the processes below are the system under test.
  ctx = await buildTestApp();
});
afterAll(async () => {
  await ctx.close();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** One API node and, separately, one worker, each with its own DATA_DIR; `env` for both. */
async function nodes(env: NodeJS.ProcessEnv, apis = 2): Promise<Cluster[]> {
  const common = { databaseUrl: ctx.databaseUrl!, jwtSecret: SECRET, publicUrl: 'http://leadsy.test' };
  const started: Cluster[] = [];
  for (let i = 0; i < apis; i++) {
    started.push(await startCluster({ ...common, apis: 1, workers: 0, env: { ...env, DATA_DIR: dataDir() } }));
  }
  started.push(await startCluster({ ...common, apis: 0, workers: 1, env: { ...env, DATA_DIR: dataDir() } }));
  for (const cluster of started) await cluster.start();
  return started;
}

/** An admin with a company, through node `api`. */
async function admin(api: Cluster) {
  const client = api.client({ deadlineMs: 0 });
  const email = `storage.${Date.now()}.${Math.random().toString(36).slice(2, 8)}@example.com`;
  await client.send('POST', '/api/v1/users', {
    body: { first_name: 'Stor', last_name: 'Age', email, password: PASSWORD },
  });
  const login = await client.send('POST', '/api/v1/users/login', { body: { email, password: PASSWORD } });
  const token = login.body.token as string;
  const company = await client.send('POST', '/api/v1/companies', { token, body: { name: 'Storage Co' } });
  return { token, companyId: company.body.company.id as number };
}

const csv = () =>
  Buffer.from(['email', ...Array.from({ length: 50 }, (_, i) => `row${i}@storage.example.com`)].join('\n'));

async function upload(api: Cluster, token: string, companyId: number) {
  const form = await multipart({ file: { data: csv(), filename: 'leads.csv', type: 'text/csv' } });
  const answer = await api.client({ deadlineMs: 0 }).send('POST', `/api/v1/companies/${companyId}/imports`, {
    token,
    raw: form,
  });
  expect(answer.status, JSON.stringify(answer.body)).toBe(202);
  return answer.body.import_file.id as number;
}

async function finished(api: Cluster, token: string, companyId: number, importId: number) {
  const client = api.client({ deadlineMs: 0 });
  let last: Record<string, any> = {};
  await waitFor(
    'the import to end',
    async () => {
      last = (await client.send('GET', `/api/v1/companies/${companyId}/imports/${importId}`, { token })).body
        .import_file;
      return ['completed', 'failed', 'canceled'].includes(last.status);
    },
    60_000,
    200,
  );
  return last;
}

describe('several nodes without a shared volume', () => {
  it('with STORAGE_DRIVER=s3, an avatar uploaded through one node is served by another, and imports complete', async () => {
    const s3 = await startS3();
    try {
      const [one, two] = await nodes(s3.env);
      const { token, companyId } = await admin(one!);
      const avatar = await one!.client({ deadlineMs: 0 }).send('POST', `/api/v1/companies/${companyId}/avatar`, {
        token,
        raw: await avatarUpload(),
      });
      expect(avatar.status, JSON.stringify(avatar.body)).toBe(200);
      const route = avatar.body.company.avatar_route as string;
      const served = await fetch(`http://127.0.0.1:${two!.apis[0]!.port}${route}`);
      expect(served.status).toBe(200);
      expect(served.headers.get('content-type')).toMatch(/^image\//);

      const importId = await upload(two!, token, companyId);
      const result = await finished(one!, token, companyId, importId);
      expect(result).toMatchObject({ status: 'completed', imported_rows: 50 });
    } finally {
      await s3.close();
    }
  });

  it('with the local driver, nodes warn at start and an import whose file its worker cannot see says why it failed', async () => {
    const [api, worker] = await nodes({ STORAGE_DRIVER: 'local', LOG_LEVEL: 'warn' }, 1);
    for (const node of [...api!.nodes, ...worker!.nodes]) {
      await waitFor(`${node.name}'s warning`, () =>
        node.output.join('\n').includes('every API and worker process must share'),
      );
    }
    const { token, companyId } = await admin(api!);
    const importId = await upload(api!, token, companyId);
    const result = await finished(api!, token, companyId, importId);
    expect(result.status).toBe('failed');
    expect(result.error_message).toMatch(/not in storage where this worker looks.*STORAGE_DRIVER=s3/s);
  });
});
