import type { AddressInfo } from 'node:net';
import { eq } from 'drizzle-orm';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobs } from '../../src/db/schema/index.ts';
import { buildTestApp, call, type TestContext } from '../helpers/app.ts';
import { accessId, companyWithTeam, createUser, uniqueEmail } from '../helpers/factories.ts';
import { runJobs } from '../helpers/jobs.ts';

/**
 * Mail through a real SMTP server (npm smtp-server) on a random local port: the app is built with SMTP_URL
 * pointing at it, exactly as production is, and the messages are read back as they arrived on the wire.
 */
type Received = { from: string; to: string[]; headers: Map<string, string>; body: string };

function decodeBody(headers: Map<string, string>, body: string): string {
  const encoding = headers.get('content-transfer-encoding')?.toLowerCase();
  if (encoding === 'base64') return Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
  if (encoding === 'quoted-printable') {
    const bytes = body.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/gi, (_m, hex: string) => `%${hex}`);
    return decodeURIComponent(bytes);
  }
  return body;
}

function parseMessage(raw: string): { headers: Map<string, string>; body: string } {
  const split = raw.indexOf('\r\n\r\n');
  const head = raw.slice(0, split).replace(/\r\n[ \t]+/g, ' '); // unfold continued header lines
  const headers = new Map<string, string>();
  for (const line of head.split('\r\n')) {
    const colon = line.indexOf(':');
    headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  return { headers, body: decodeBody(headers, raw.slice(split + 4)) };
}

async function startSmtpServer(port = 0) {
  const received: Received[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const { headers, body } = parseMessage(Buffer.concat(chunks).toString('utf8'));
        const envelope = session.envelope;
        received.push({
          from: envelope.mailFrom ? envelope.mailFrom.address : '',
          to: envelope.rcptTo.map((rcpt) => rcpt.address),
          headers,
          body,
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const address = server.server.address() as AddressInfo;
  return { received, port: address.port, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

let smtp: Awaited<ReturnType<typeof startSmtpServer>>;
let ctx: TestContext;
beforeAll(async () => {
  smtp = await startSmtpServer();
  ctx = await buildTestApp({ SMTP_URL: `smtp://127.0.0.1:${smtp.port}` });
});
afterAll(async () => {
  await ctx.close();
  await smtp.close();
});

/** Mail is a queued job: run what is due, then wait (bounded) for the `nth` message to `to` to be received. */
async function waitForMessage(to: string, nth = 1): Promise<Received> {
  await runJobs(ctx);
  for (let attempt = 0; attempt < 200; attempt++) {
    const messages = smtp.received.filter((message) => message.to.includes(to));
    if (messages.length >= nth) return messages[nth - 1]!;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`no message #${nth} to ${to} reached the SMTP server`);
}

describe('mail over SMTP', () => {
  it('delivers the invitation, whose emailed code lets the invitee join', async () => {
    const { company, admin } = await companyWithTeam(ctx);
    const email = uniqueEmail('invitee');
    const created = await call(ctx.app, 'POST', `/api/v1/companies/${company.id}/invitations`, {
      token: admin.token,
      body: { email, access_id: await accessId(ctx, 'agent') },
    });
    expect(created.statusCode).toBe(201);

    const message = await waitForMessage(email);
    expect(message.to).toEqual([email]);
    expect(message.from).toBe('no-reply@leadsy.local');
    expect(message.headers.get('subject')).toContain(company.name);
    const code = /\/invitations\/([A-Za-z0-9_-]+)/.exec(message.body)?.[1];
    expect(code).toBe(created.body_json.invitation.code);
    expect(message.body).toContain(`http://leadsy.test/invitations/${code}`);

    const invitee = await createUser(ctx, { email });
    const accepted = await call(ctx.app, 'POST', `/api/v1/invitations/${code}/accept`, { token: invitee.token });
    expect(accepted.statusCode).toBe(201);
    expect(accepted.body_json.user_access.company.id).toBe(company.id);
  });

  it('delivers the password-reset token, which then sets a new password', async () => {
    const user = await createUser(ctx);
    const requested = await call(ctx.app, 'POST', '/api/v1/users/reset_password', { body: { email: user.email } });
    expect(requested.statusCode).toBe(202);

    const message = await waitForMessage(user.email);
    expect(message.to).toEqual([user.email]);
    expect(message.headers.get('subject')).toMatch(/reset/i);
    const token = /token=([A-Za-z0-9_-]+)/.exec(message.body)?.[1];
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);

    const password = 'a brand new passphrase';
    const reset = await call(ctx.app, 'PUT', '/api/v1/users/reset_password', { body: { token, password } });
    expect(reset.statusCode).toBe(200);
    const login = await call(ctx.app, 'POST', '/api/v1/users/login', { body: { email: user.email, password } });
    expect(login.statusCode).toBe(200);
  });

  it('keeps a mail queued while SMTP is down and delivers it on a later attempt, sealed at rest meanwhile', async () => {
    // A port that was free a moment ago: nothing listens there until the test starts a server on it.
    const probe = await startSmtpServer();
    const port = probe.port;
    await probe.close();
    const down = await buildTestApp({ SMTP_URL: `smtp://127.0.0.1:${port}` });
    let later: Awaited<ReturnType<typeof startSmtpServer>> | undefined;
    try {
      const user = await createUser(down);
      const requested = await call(down.app, 'POST', '/api/v1/users/reset_password', { body: { email: user.email } });
      expect(requested.statusCode).toBe(202);
      await runJobs(down); // the reset job queues its mail; the mail's first attempt fails
      const [queued] = await down.database.db.select().from(jobs).where(eq(jobs.kind, 'mail'));
      expect(queued).toMatchObject({ status: 'queued', attempts: 1 });
      expect(queued!.lastError).not.toContain(user.email);
      // The message waits sealed: neither the address nor the token is readable in the jobs table.
      expect(JSON.stringify(queued!.payload)).not.toContain(user.email);

      later = await startSmtpServer(port);
      down.clock.advance(10 * 60_000); // past the retry's backoff
      await runJobs(down);
      const [done] = await down.database.db.select().from(jobs).where(eq(jobs.id, queued!.id));
      expect(done).toMatchObject({ status: 'done', attempts: 2 });
      expect(later.received.map((message) => message.to)).toEqual([[user.email]]);
    } finally {
      await down.close();
      await later?.close();
    }
  });
});
