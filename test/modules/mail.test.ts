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
type Received = { from: string; to: string[]; headers: Map<string, string>; body: string; html: string | undefined };

function decodeBody(headers: Map<string, string>, body: string): string {
  const encoding = headers.get('content-transfer-encoding')?.toLowerCase();
  if (encoding === 'base64') return Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
  if (encoding === 'quoted-printable') {
    const bytes = body.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/gi, (_m, hex: string) => `%${hex}`);
    return decodeURIComponent(bytes);
  }
  return body;
}

function parseMessage(raw: string): { headers: Map<string, string>; body: string; html: string | undefined } {
  const split = raw.indexOf('\r\n\r\n');
  const head = raw.slice(0, split).replace(/\r\n[ \t]+/g, ' '); // unfold continued header lines
  const headers = new Map<string, string>();
  for (const line of head.split('\r\n')) {
    const colon = line.indexOf(':');
    headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  const content = raw.slice(split + 4);
  const boundary = /multipart\/alternative;\s*boundary="?([^";]+)"?/i.exec(headers.get('content-type') ?? '')?.[1];
  if (!boundary) return { headers, body: decodeBody(headers, content), html: undefined };
  // Text and HTML alternatives: the text part is the body the tests read; the HTML part is checked on its own.
  const parts = content
    .split(`--${boundary}`)
    .slice(1, -1)
    .map((part) => parseMessage(part.replace(/^\r\n/, '')));
  const part = (type: string) => parts.find((p) => p.headers.get('content-type')?.startsWith(type))?.body;
  return { headers, body: part('text/plain') ?? '', html: part('text/html') };
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
        const { headers, body, html } = parseMessage(Buffer.concat(chunks).toString('utf8'));
        const envelope = session.envelope;
        received.push({
          from: envelope.mailFrom ? envelope.mailFrom.address : '',
          to: envelope.rcptTo.map((rcpt) => rcpt.address),
          headers,
          body,
          html,
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
  ctx = await buildTestApp({ SMTP_URL: `smtp://127.0.0.1:${smtp.port}`, APP_URL: 'https://app.leadsy.test/' });
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
    // Links go to the web app (APP_URL), not to the API's host; the HTML part says the same, with the link clickable.
    expect(message.body).toContain(`https://app.leadsy.test/invitations/${code}`);
    expect(message.html).toContain(`<a href="https://app.leadsy.test/invitations/${code}">`);
    expect(message.html).toContain(`join ${company.name} on Leadsy`);

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
    expect(message.body).toContain(`https://app.leadsy.test/reset-password?token=${token}`);
    expect(message.html).toContain(`<a href="https://app.leadsy.test/reset-password?token=${token}">`);

    const password = 'a brand new passphrase';
    const reset = await call(ctx.app, 'PUT', '/api/v1/users/reset_password', { body: { token, password } });
    expect(reset.statusCode).toBe(200);
    const login = await call(ctx.app, 'POST', '/api/v1/users/login', { body: { email: user.email, password } });
    expect(login.statusCode).toBe(200);
  });

  it('keeps mail queued while SMTP is down and delivers every message exactly once when it is back', async () => {
    // A port of our own: its server is stopped and started again during the test.
    const first = await startSmtpServer();
    const port = first.port;
    const flaky = await buildTestApp({ SMTP_URL: `smtp://127.0.0.1:${port}` });
    let second: Awaited<ReturnType<typeof startSmtpServer>> | undefined;
    try {
      const before = await createUser(flaky);
      await call(flaky.app, 'POST', '/api/v1/users/reset_password', { body: { email: before.email } });
      await runJobs(flaky); // the reset job, then its mail
      expect(first.received.map((message) => message.to)).toEqual([[before.email]]);
      await first.close();

      // SMTP down: a reset, a sign-up's verification and an invitation are made meanwhile.
      const { company, admin } = await companyWithTeam(flaky);
      const resetFor = await createUser(flaky);
      await call(flaky.app, 'POST', '/api/v1/users/reset_password', { body: { email: resetFor.email } });
      const newcomer = uniqueEmail('newcomer');
      const signup = await call(flaky.app, 'POST', '/api/v1/users', {
        body: { first_name: 'New', last_name: 'Comer', email: newcomer, password: 'long enough password' },
      });
      expect(signup.statusCode).toBe(201);
      const invitee = uniqueEmail('invitee');
      const invitation = await call(flaky.app, 'POST', `/api/v1/companies/${company.id}/invitations`, {
        token: admin.token,
        body: { email: invitee, access_id: await accessId(flaky, 'agent') },
      });
      expect(invitation.statusCode).toBe(201);
      await runJobs(flaky);
      const waiting = await flaky.database.db.select().from(jobs).where(eq(jobs.kind, 'mail'));
      expect(waiting.filter((job) => job.status === 'queued' && job.attempts === 1)).toHaveLength(3);
      // The failure is recorded without the recipient, and the message waits sealed.
      for (const job of waiting) {
        expect(job.lastError ?? '').not.toMatch(/@example\.com/);
        expect(JSON.stringify(job.payload)).not.toMatch(/@example\.com/);
      }

      second = await startSmtpServer(port);
      flaky.clock.advance(10 * 60_000); // past the retries' backoff
      await runJobs(flaky);
      flaky.clock.advance(10 * 60_000);
      await runJobs(flaky); // nothing is sent twice
      const recipients = second.received.flatMap((message) => message.to).sort();
      expect(recipients).toEqual([resetFor.email, newcomer, invitee].sort());
    } finally {
      await flaky.close();
      await second?.close();
    }
  });

  it('marks a mail failed once its attempts run out, with the last error', async () => {
    const probe = await startSmtpServer();
    await probe.close(); // nothing listens on this port any more
    const down = await buildTestApp({ SMTP_URL: `smtp://127.0.0.1:${probe.port}` });
    try {
      const user = await createUser(down);
      await call(down.app, 'POST', '/api/v1/users/reset_password', { body: { email: user.email } });
      for (let attempt = 0; attempt < 20; attempt++) {
        await runJobs(down);
        down.clock.advance(10 * 60_000);
      }
      const [mail] = await down.database.db.select().from(jobs).where(eq(jobs.kind, 'mail'));
      expect(mail).toMatchObject({ status: 'failed', attempts: mail!.maxAttempts });
      expect(mail!.lastError).toMatch(/ECONNREFUSED|connect/i);
    } finally {
      await down.close();
    }
  });
});
