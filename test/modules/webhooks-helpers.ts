import { createHmac } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { Webhook } from 'standardwebhooks';
import type { NewEvent } from '../../src/modules/outbox/outbox.repository.ts';
import { appendEvents } from '../../src/modules/outbox/outbox.repository.ts';
import type { TestContext } from '../helpers/app.ts';
import { runJobs } from '../helpers/jobs.ts';

export type Received = { headers: http.IncomingHttpHeaders; body: string; path: string };
export type Answer = { status: number; body?: string | Buffer; headers?: Record<string, string>; delayMs?: number };

/**
 * A real HTTP receiver. `respond` decides each answer (by the request and how many came before); every request is
 * kept, and verified with the Standard Webhooks library against `secrets` (each one must verify on its own).
 */
export async function startReceiver(respond: (request: Received, index: number) => Answer = () => ({ status: 204 })) {
  const received: Received[] = [];
  const failures: string[] = [];
  const secrets: string[] = [];
  const hanging = new Set<() => void>();
  /** Requests being answered now, and the most at once: deliveries to one endpoint never overlap. */
  const state = { inFlight: 0, maxInFlight: 0 };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', async () => {
      const request = { headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), path: req.url ?? '' };
      const index = received.push(request) - 1;
      state.inFlight++;
      state.maxInFlight = Math.max(state.maxInFlight, state.inFlight);
      for (const secret of secrets) {
        try {
          new Webhook(secret).verify(request.body, request.headers as Record<string, string>);
        } catch (error) {
          failures.push(`delivery ${index} does not verify with ${secret.slice(0, 12)}…: ${String(error)}`);
        }
      }
      const answer = respond(request, index);
      if (answer.delayMs) {
        await new Promise<void>((resolve) => {
          const done = () => {
            hanging.delete(done);
            clearTimeout(timer);
            resolve();
          };
          const timer = setTimeout(done, answer.delayMs);
          hanging.add(done);
        });
      }
      state.inFlight--;
      if (res.destroyed) return;
      res.writeHead(answer.status, answer.headers ?? {});
      res.end(answer.body ?? '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    port,
    received,
    failures,
    secrets,
    state,
    async close() {
      for (const done of [...hanging]) done();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export type Receiver = Awaited<ReturnType<typeof startReceiver>>;

/** Appends events to a company's outbox directly (the delivery mechanics do not depend on who wrote them). */
export async function append(ctx: TestContext, companyId: number, items: NewEvent[]): Promise<void> {
  await ctx.database.db.transaction((tx) => appendEvents(tx, companyId, items));
}

export const leadCreated = (id: number): NewEvent => ({ type: 'lead.created', data: { id, email: `l${id}@x.test` } });

/** Runs due jobs until `done()` holds, or fails after `timeoutMs` (retries are scheduled a fraction of a second out). */
export async function deliverUntil(ctx: TestContext, done: () => boolean | Promise<boolean>, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error('deliveries did not reach the expected state in time');
    await runJobs(ctx);
    await sleep(25);
  }
}

/** Each `v1,` signature of a header, checked by hand (for a timestamp the library's tolerance would refuse). */
export function signaturesMatching(secret: string, received: Received): boolean[] {
  const id = String(received.headers['webhook-id']);
  const timestamp = String(received.headers['webhook-timestamp']);
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  const expected = createHmac('sha256', key).update(`${id}.${timestamp}.${received.body}`).digest('base64');
  return String(received.headers['webhook-signature'])
    .split(' ')
    .map((part) => part === `v1,${expected}`);
}
