import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDatabase } from '../../src/db/client.ts';
import { jobs } from '../../src/db/schema/index.ts';
import { sweepTemporaryFiles } from '../../src/lib/storage/index.ts';
import { buildTestApp, type TestContext } from '../helpers/app.ts';
import { SERVER, start, stop } from '../helpers/processes.ts';

/**
 * Issue 12, repro 8: during close the 503s were Fastify's own JSON (no problem+json, no request id); a request still
 * running 10 s after SIGTERM was cut by process.exit(1); a partial upload's temporary file stayed in storage; and a
 * job running in the process waited for its lease to run out. The compiled server, as a real process.
 */
const GRACE_MS = 3_000;

let ctx: TestContext;
let dataDir: string;
let smtp: Server;
let smtpPort = 0;
const smtpSockets: Socket[] = [];
let smtpConnected: Promise<void>;
beforeAll(async () => {
  ctx = await buildTestApp();
  dataDir = mkdtempSync(join(tmpdir(), 'leadsy-shutdown-'));
  // An SMTP server that accepts and then never says a word: the mail job hangs in its handler.
  let connected!: () => void;
  smtpConnected = new Promise((resolve) => {
    connected = resolve;
  });
  smtp = createServer((socket) => {
    smtpSockets.push(socket);
    connected();
  });
  await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
  smtpPort = (smtp.address() as { port: number }).port;
});
afterAll(async () => {
  for (const socket of smtpSockets) socket.destroy();
  await new Promise((resolve) => smtp.close(resolve));
  await ctx.close();
  rmSync(dataDir, { recursive: true, force: true });
});

function startServer(): { child: ChildProcess; port: Promise<number>; output: () => string } {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'info',
    DATA_DIR: dataDir,
    PUBLIC_URL: 'http://leadsy.test',
    JWT_SECRET: ctx.config.jwtSecret,
    SHUTDOWN_GRACE_MS: String(GRACE_MS),
    SMTP_URL: `smtp://127.0.0.1:${smtpPort}`,
    WORKER: 'on',
    WORKER_CONCURRENCY: '1',
    // Long: a job handed back must be so by the shutdown, not by its lease running out.
    JOB_LEASE: '5m',
    AUTH_RATE_LIMIT: '1000',
  };
  if (ctx.databaseUrl) env.DATABASE_URL = ctx.databaseUrl;
  else delete env.DATABASE_URL;
  const child = start(SERVER, [], env);
  let output = '';
  const port = new Promise<number>((resolve, reject) => {
    const seen = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening at http:\/\/127\.0\.0\.1:(\d+)/.exec(output);
      if (match) resolve(Number(match[1]));
    };
    child.stdout!.on('data', seen);
    child.stderr!.on('data', seen);
    child.once('exit', (code) => reject(new Error(`server exited ${code} before listening:\n${output}`)));
  });
  return { child, port, output: () => output };
}

/** A raw HTTP/1.1 connection: what it has received so far, and a way to send more. */
function rawConnection(port: number) {
  const socket = connect(port, '127.0.0.1');
  let received = '';
  socket.on('data', (chunk) => {
    received += chunk.toString('latin1');
  });
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.on('error', () => {});
  return {
    socket,
    closed,
    received: () => received,
    send: (text: string | Buffer) => new Promise<void>((resolve) => socket.write(text, () => resolve())),
  };
}

async function json(port: number, method: string, path: string, body?: unknown, token?: string) {
  const response = await fetch(`http://127.0.0.1:${port}${path}`, {
    method,
    headers: {
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, any> };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('graceful shutdown of the API process', () => {
  it('finishes in-flight requests, answers problem+json 503 meanwhile, cuts uploads cleanly, hands jobs back', async () => {
    // Leftovers of a process killed mid-upload: an old one (swept at start) and a fresh one (maybe another node's).
    const temp = join(dataDir, 'files', '.tmp');
    mkdirSync(temp, { recursive: true });
    writeFileSync(join(temp, 'stale-upload'), 'x');
    const old = new Date(Date.now() - 2 * 3600_000);
    utimesSync(join(temp, 'stale-upload'), old, old);
    writeFileSync(join(temp, 'recent-upload'), 'y');

    const server = startServer();
    const port = await server.port;
    expect(readdirSync(temp)).toEqual(['recent-upload']);

    // A sign-up queues a verification mail; the worker in this process takes it and hangs on the silent SMTP server.
    const email = `shutdown.${Date.now()}@example.com`;
    const password = 'correct horse battery staple';
    const signup = await json(port, 'POST', '/api/v1/users', { first_name: 'Ada', last_name: 'Shut', email, password });
    expect(signup.status).toBe(201);
    await smtpConnected;
    const login = await json(port, 'POST', '/api/v1/users/login', { email, password });
    expect(login.status).toBe(200);
    const token = login.body.token as string;
    const company = await json(port, 'POST', '/api/v1/companies', { name: 'Shutdown Co' }, token);
    expect(company.status).toBe(201);

    // An upload that will never finish: its headers and a first part of the file, then nothing.
    const upload = rawConnection(port);
    const boundary = 'leadsyboundary';
    const head =
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.csv"\r\n` +
      'Content-Type: text/csv\r\n\r\nemail\n';
    await upload.send(
      `POST /api/v1/companies/${company.body.company.id}/imports HTTP/1.1\r\nHost: x\r\n` +
        `Authorization: Bearer ${token}\r\nContent-Type: multipart/form-data; boundary=${boundary}\r\n` +
        `Content-Length: 10000000\r\n\r\n${head}`,
    );
    await upload.send(Buffer.from(Array.from({ length: 2000 }, (_, i) => `row${i}@example.com\n`).join('')));
    // A login whose body is still arriving when the signal comes.
    const slow = rawConnection(port);
    const loginBody = JSON.stringify({ email, password });
    await slow.send(
      `POST /api/v1/users/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${loginBody.length}\r\n\r\n${loginBody.slice(0, 10)}`,
    );
    // A keep-alive connection with a request in flight (the slow login's sibling) that sends another one later.
    const keepAlive = rawConnection(port);
    await keepAlive.send(`POST /api/v1/users/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n`);
    await sleep(300);
    // The upload's temporary file exists now.
    await expect.poll(() => readdirSync(temp).length).toBe(2);

    const signaled = Date.now();
    const exited = new Promise<number | null>((resolve) => server.child.once('exit', (code) => resolve(code)));
    stop(server.child, 'SIGTERM');
    await sleep(500);

    // No new connection is taken.
    await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();
    // The in-flight login finishes with its real answer.
    await slow.send(loginBody.slice(10));
    await expect.poll(() => slow.received(), { timeout: 2_000 }).toMatch(/^HTTP\/1\.1 200/);
    expect(slow.received()).toMatch(/connection: close/i);
    // A request that arrives on an open connection meanwhile: problem+json 503 with its request id.
    await keepAlive.send(`Content-Length: ${loginBody.length}\r\nX-Request-Id: late-request-1\r\n\r\n${loginBody}`);
    await expect.poll(() => keepAlive.received(), { timeout: 2_000 }).toMatch(/^HTTP\/1\.1 503/);
    const late = keepAlive.received();
    expect(late).toMatch(/content-type: application\/problem\+json/i);
    expect(late).toMatch(/x-request-id: late-request-1/i);
    expect(late).toMatch(/retry-after: 1/i);
    expect(late).toMatch(/"status":503/);

    // The upload is cut at the end of the grace; the process ends by itself, with 0.
    expect(await exited).toBe(0);
    const took = Date.now() - signaled;
    expect(took).toBeGreaterThanOrEqual(GRACE_MS - 100);
    expect(took).toBeLessThan(GRACE_MS + 8_000);
    await upload.closed;
    expect(upload.received()).not.toMatch(/^HTTP\/1\.1 202/);
    // The cut upload left nothing: its temporary file is gone, no import file was stored.
    expect(readdirSync(temp)).toEqual(['recent-upload']);
    expect(readdirSync(join(dataDir, 'files')).filter((name) => name !== '.tmp' && name !== '.meta')).toEqual([]);
    const meta = join(dataDir, 'files', '.meta');
    const metaFiles = readdirSync(meta, { recursive: true }).filter((name) => String(name).endsWith('.json'));
    // No metadata either: the cut upload's goes with its data.
    expect(metaFiles).toEqual([]);
    expect(server.output()).toMatch(/released/);

    // The mail job the worker was stuck on was handed back, its attempt not counted.
    const database = ctx.databaseUrl ? ctx.database : await connectDatabase({ dataDir, databaseUrl: undefined });
    try {
      const mails = await database.db.select().from(jobs).where(eq(jobs.kind, 'mail'));
      expect(mails).toHaveLength(1);
      expect(mails[0]).toMatchObject({ status: 'queued', lockedBy: null, leaseUntil: null, attempts: 0 });
    } finally {
      if (!ctx.databaseUrl) await database.close();
    }
  }, 120_000);
});

describe('sweeping temporary upload files', () => {
  it('removes only the old ones', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'leadsy-sweep-'));
    try {
      expect(await sweepTemporaryFiles(directory)).toBe(0);
      const temp = join(directory, '.tmp');
      mkdirSync(temp, { recursive: true });
      for (const [name, ageMs] of [
        ['a', 2 * 3600_000],
        ['b', 61 * 60_000],
        ['c', 10 * 60_000],
      ] as const) {
        writeFileSync(join(temp, name), name);
        const at = new Date(Date.now() - ageMs);
        utimesSync(join(temp, name), at, at);
      }
      expect(await sweepTemporaryFiles(directory)).toBe(2);
      expect(readdirSync(temp)).toEqual(['c']);
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });
});
