import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { openDatabase } from '../src/db/setup.ts';
import { appendEvents } from '../src/modules/outbox/outbox.repository.ts';
import { BENCH_JWT_SECRET, benchDatabaseUrl, ensureDatabase, type Load, load, report, startServer } from './harness.ts';
import { BENCH_PASSWORD, ensureCompany } from './seed.ts';

/**
 * Issue 14's webhook figures, on PostgreSQL, with the API process's own worker delivering to a fast local receiver:
 * lead creations per second in a company with one webhook subscribed to `lead.created` next to one without (same
 * run; the target is ≥ 0.9×), then BENCH_WEBHOOK_EVENTS events (10,000) appended in batches of 100 and timed from
 * each batch's commit to the receiver's 2xx: throughput and lag (p50, p99).
 */
export async function webhookBenchmark(options: { seconds: number; events: number }) {
  await ensureDatabase(benchDatabaseUrl);
  const database = await openDatabase({ databaseUrl: benchDatabaseUrl, dataDir: './data' });
  const none = await ensureCompany(database.db, 'bench-webhooks-none');
  const one = await ensureCompany(database.db, 'bench-webhooks-one');

  const arrivals = new Map<number, number>();
  let received = 0;
  const receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      received++;
      const n = (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { data: { bench_n?: number } }).data.bench_n;
      if (n !== undefined && !arrivals.has(n)) arrivals.set(n, performance.now());
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;

  const app = await startServer('app', {
    DATABASE_URL: benchDatabaseUrl,
    JWT_SECRET: BENCH_JWT_SECRET,
    BENCH_COMPANY_ID: '0',
    BENCH_STAGE_ID: '0',
    WEBHOOK_ALLOW_PRIVATE: 'true',
    WORKER_CONCURRENCY: '4',
  });
  const base = `http://127.0.0.1:${app.port}/api/v1/companies`;
  const results: Load[] = [];
  let events: { throughput: number; p50: number; p99: number; seconds: number } | undefined;
  try {
    const tokens = new Map<number, string>();
    for (const company of [none, one]) {
      const login = await fetch(`http://127.0.0.1:${app.port}/api/v1/users/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: company.adminEmail, password: BENCH_PASSWORD }),
      });
      tokens.set(company.companyId, ((await login.json()) as { token: string }).token);
      await removeWebhooks(base, company.companyId, tokens.get(company.companyId)!);
    }
    const auth = (companyId: number) => ({ authorization: `Bearer ${tokens.get(companyId)}` });
    const created = await fetch(`${base}/${one.companyId}/webhooks`, {
      method: 'POST',
      headers: { ...auth(one.companyId), 'content-type': 'application/json' },
      body: JSON.stringify({ url: receiverUrl, events: ['lead.created'] }),
    });
    if (created.status !== 201) throw new Error(`webhook creation failed: ${await created.text()}`);

    for (const [label, company] of [
      ['creations, no webhook', none],
      ['creations, one subscribed webhook', one],
    ] as const) {
      results.push(
        await load(label, `${base}/${company.companyId}/leads`, {
          seconds: options.seconds,
          method: 'POST',
          headers: { ...auth(company.companyId), 'content-type': 'application/json' },
          body: JSON.stringify({ first_name: 'Bench', email: 'bench.lead@example.com', phone: '612345678' }),
        }),
      );
    }
    // The creations' deliveries drain first, so the timed events have the receiver to themselves.
    const expected = results[1]!.reqPerSec * options.seconds * 0.9;
    const drainUntil = Date.now() + 300_000;
    while (received < expected && Date.now() < drainUntil) await sleep(200);
    await sleep(2_000);

    const commits = new Map<number, number>();
    const started = performance.now();
    for (let first = 0; first < options.events; first += 100) {
      const batch = Array.from({ length: Math.min(100, options.events - first) }, (_, i) => first + i);
      await database.db.transaction((tx) =>
        appendEvents(
          tx,
          one.companyId,
          batch.map((n) => ({ type: 'lead.created' as const, data: { id: n, bench_n: n } })),
        ),
      );
      const committed = performance.now();
      for (const n of batch) commits.set(n, committed);
    }
    const deadline = Date.now() + 600_000;
    while (arrivals.size < options.events && Date.now() < deadline) await sleep(100);
    const lags = [...commits]
      .map(([n, at]) => (arrivals.get(n) ?? Number.POSITIVE_INFINITY) - at)
      .sort((a, b) => a - b);
    const last = Math.max(...arrivals.values());
    events = {
      throughput: Math.round(arrivals.size / ((last - started) / 1000)),
      p50: Math.round(lags[Math.floor(lags.length * 0.5)]!),
      p99: Math.round(lags[Math.floor(lags.length * 0.99)]!),
      seconds: Number(((last - started) / 1000).toFixed(1)),
    };
    if (arrivals.size < options.events) console.log(`only ${arrivals.size} of ${options.events} events arrived`);
  } finally {
    app.child.kill();
    receiver.close();
    await database.close();
  }
  const [withoutRun, withRun] = results as [Load, Load];
  report(
    `Lead creations with and without a subscribed webhook (PostgreSQL, 10 connections, ${options.seconds} s each)`,
    [
      ['scenario', 'creations/s', 'p50 ms', 'p99 ms', 'errors', 'ratio'],
      ...results.map((r) => [
        r.name,
        String(r.reqPerSec),
        String(r.p50),
        String(r.p99),
        String(r.errors + r.non2xx),
        (r.reqPerSec / withoutRun.reqPerSec).toFixed(2),
      ]),
    ],
    'webhooks',
    { results, ratio: withRun.reqPerSec / withoutRun.reqPerSec, events },
  );
  if (events) {
    report(
      `${options.events.toLocaleString('en')} events to one local receiver (commit → 2xx)`,
      [
        ['events/s', 'p50 lag ms', 'p99 lag ms', 'seconds'],
        [String(events.throughput), String(events.p50), String(events.p99), String(events.seconds)],
      ],
      'webhooks-delivery',
      events,
    );
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Reruns start clean: the previous run's webhooks (and their backlog) go. */
async function removeWebhooks(base: string, companyId: number, token: string) {
  const headers = { authorization: `Bearer ${token}` };
  const list = await fetch(`${base}/${companyId}/webhooks?limit=100`, { headers });
  const { webhooks } = (await list.json()) as { webhooks: { id: number }[] };
  for (const webhook of webhooks) {
    await fetch(`${base}/${companyId}/webhooks/${webhook.id}`, { method: 'DELETE', headers });
  }
}
