import type { ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { CLI, SERVER, start, stop } from '../helpers/processes.ts';

/**
 * The scaled shape as real processes: N API processes (`dist/server.js`, WORKER=off) on fixed local ports and M
 * job workers (`dist/cli.js worker`), all on one PostgreSQL with the same JWT_SECRET and PUBLIC_URL. A node can be
 * killed and started again on its own port, as an orchestrator restarts a container behind its load balancer; each
 * process is in its own process group, killed at the end of the test file at the latest (processes.ts).
 *
 * `client()` spreads requests over the API nodes the way a real client behind a retrying balancer does: a
 * connection error or a 503 sends the request to the next node, until a deadline.
 */

export type ClusterOptions = {
  databaseUrl: string;
  jwtSecret: string;
  publicUrl: string;
  apis: number;
  workers: number;
  /** Given to every process (STORAGE_DRIVER, DATA_DIR, JOB_LEASE, …). */
  env: NodeJS.ProcessEnv;
};

export type Exit = { code: number | null; signal: NodeJS.Signals | null; expected: boolean; at: number };

export type ClusterNode = {
  kind: 'api' | 'worker';
  name: string;
  /** API nodes only: the port this node always listens on, across restarts. */
  port: number;
  child: ChildProcess | undefined;
  /** Every exit of this node's processes; `expected` when the test killed or stopped it. */
  exits: Exit[];
  /** The last lines its processes wrote (stdout and stderr), for failure messages. */
  output: string[];
  /** How many processes this node has had (1 + restarts). */
  starts: number;
};

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A port nobody listens on right now (the kernel's pick, released at once). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Polls `check` until it returns true; past `timeoutMs` it throws with `what`. Never a fixed sleep that races. */
export async function waitFor(
  what: string,
  check: () => Promise<boolean> | boolean,
  timeoutMs = 30_000,
  everyMs = 100,
) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (
      await Promise.resolve()
        .then(check)
        .catch(() => false)
    )
      return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** GET `path` on one port; the status, or 0 when the connection fails. */
export async function probe(port: number, path: string, timeoutMs = 2_000): Promise<number> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(timeoutMs) });
    await response.arrayBuffer();
    return response.status;
  } catch {
    return 0;
  }
}

export function alive(node: ClusterNode): boolean {
  const child = node.child;
  return child !== undefined && child.exitCode === null && child.signalCode === null;
}

export async function startCluster(options: ClusterOptions) {
  const apis: ClusterNode[] = [];
  const workers: ClusterNode[] = [];
  for (let i = 0; i < options.apis; i++) {
    apis.push({
      kind: 'api',
      name: `api-${i + 1}`,
      port: await freePort(),
      child: undefined,
      exits: [],
      output: [],
      starts: 0,
    });
  }
  for (let i = 0; i < options.workers; i++) {
    workers.push({
      kind: 'worker',
      name: `worker-${i + 1}`,
      port: 0,
      child: undefined,
      exits: [],
      output: [],
      starts: 0,
    });
  }
  /** Children the test is killing or stopping: their exit is not a crash. */
  const expectedExits = new WeakSet<ChildProcess>();

  function spawnNode(node: ClusterNode) {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      ...options.env,
      DATABASE_URL: options.databaseUrl,
      JWT_SECRET: options.jwtSecret,
      PUBLIC_URL: options.publicUrl,
      // node-postgres names its connections after PGAPPNAME: pg_stat_activity tells the nodes' backends apart.
      PGAPPNAME: `leadsy-${node.name}`,
    };
    if (node.kind === 'api') {
      Object.assign(env, { PORT: String(node.port), HOST: '127.0.0.1', WORKER: 'off' });
    }
    const child = node.kind === 'api' ? start(SERVER, [], env) : start(CLI, ['worker'], env);
    node.child = child;
    node.starts++;
    const keep = (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n')) if (line.trim()) node.output.push(line.slice(0, 2000));
      if (node.output.length > 200) node.output.splice(0, node.output.length - 200);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    child.once('exit', (code, signal) => {
      node.exits.push({ code, signal, expected: expectedExits.has(child), at: Date.now() });
    });
    return child;
  }

  async function ready(node: ClusterNode, timeoutMs = 60_000) {
    if (node.kind === 'worker') return;
    const child = node.child;
    await waitFor(
      `${node.name} (port ${node.port}) to answer /readyz 200`,
      async () => {
        if (child !== node.child || !alive(node)) {
          throw new Error(`${node.name} exited while starting:\n${node.output.slice(-30).join('\n')}`);
        }
        return (await probe(node.port, '/readyz')) === 200;
      },
      timeoutMs,
    ).catch((error: Error) => {
      throw new Error(`${error.message}\n${node.output.slice(-30).join('\n')}`);
    });
  }

  /** Waits for a node's process to be gone (it was killed or stopped). */
  function exited(child: ChildProcess): Promise<void> {
    if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => child.once('exit', () => resolve()));
  }

  const cluster = {
    apis,
    workers,
    nodes: [...apis, ...workers],
    /** Starts every node and waits until every API answers /readyz. */
    async start() {
      for (const node of cluster.nodes) spawnNode(node);
      await Promise.all(apis.map((node) => ready(node)));
    },
    /** Kills a node's process (SIGKILL by default) and waits until it is gone. */
    async kill(node: ClusterNode, signal: NodeJS.Signals = 'SIGKILL') {
      const child = node.child;
      if (!child || !alive(node)) return;
      expectedExits.add(child);
      stop(child, signal);
      await exited(child);
    },
    /** Starts a node again (on its own port for an API) and waits until it is ready. */
    async restart(node: ClusterNode) {
      if (alive(node)) await cluster.kill(node);
      spawnNode(node);
      await ready(node);
    },
    /** Restarts every node that is not running (one that crashed in an earlier case): each case starts whole. */
    async heal() {
      await Promise.all(cluster.nodes.filter((node) => !alive(node)).map((node) => cluster.restart(node)));
    },
    /** Exits the test did not cause, since `since` (a Date.now()). */
    crashes(since = 0) {
      return cluster.nodes.flatMap((node) =>
        node.exits
          .filter((exit) => !exit.expected && exit.at >= since)
          .map((exit) => ({ node: node.name, ...exit, output: node.output.slice(-40).join('\n') })),
      );
    },
    async stop() {
      await Promise.all(cluster.nodes.map((node) => cluster.kill(node)));
    },
    client: (clientOptions?: ClientOptions) => createClient(apis, clientOptions),
  };
  return cluster;
}

export type Cluster = Awaited<ReturnType<typeof startCluster>>;

export type ClientOptions = {
  /** How long one attempt may take before it counts as a connection failure (ms). */
  attemptTimeoutMs?: number;
  /** How long a request is retried over the nodes before it is given up (ms). */
  deadlineMs?: number;
};

/** What one attempt on one node came to: an HTTP status, or 0 for a connection error or timeout. */
export type Attempt = {
  node: string;
  status: number;
  /** The problem document's `code`, if the answer was one. */
  code?: string;
  contentType?: string;
  retryAfter?: string;
  /** A connection error's code (ECONNRESET, ECONNREFUSED, UND_ERR_SOCKET, TimeoutError, …). */
  error?: string;
  ms: number;
};

export type Outcome = {
  /** The last attempt's status; 0 when every attempt failed to connect or the deadline passed. */
  status: number;
  body: Record<string, any>;
  headers: Headers | undefined;
  attempts: Attempt[];
  /** True once an attempt failed in a way that may have done the work (the request reached a node). */
  ambiguous: boolean;
};

/** Errors a client retries on another node: the connection failed or dropped, or the attempt timed out. */
function connectionError(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (error as Error).name ?? String(error);
}

/** Refused connections never reached a node: nothing was done, a retry is not ambiguous. */
const NOT_SENT = new Set(['ECONNREFUSED']);

function createClient(apis: ClusterNode[], options: ClientOptions = {}) {
  const attemptTimeoutMs = options.attemptTimeoutMs ?? 20_000;
  const deadlineMs = options.deadlineMs ?? 60_000;
  let next = 0;

  async function attempt(
    node: ClusterNode,
    method: string,
    path: string,
    init: { token?: string; body?: unknown; raw?: { body: Buffer; headers: Record<string, string> } },
  ): Promise<{ attempt: Attempt; body: Record<string, any>; headers?: Headers }> {
    const began = Date.now();
    const headers: Record<string, string> = { ...(init.token ? { authorization: `Bearer ${init.token}` } : {}) };
    let body: Buffer | string | undefined;
    if (init.raw) {
      Object.assign(headers, init.raw.headers);
      body = init.raw.body;
    } else if (init.body !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(init.body);
    }
    try {
      const response = await fetch(`http://127.0.0.1:${node.port}${path}`, {
        method,
        headers,
        body,
        signal: AbortSignal.timeout(attemptTimeoutMs),
      });
      const text = await response.text();
      let parsed: Record<string, any> = {};
      try {
        parsed = text ? JSON.parse(text) : {};
      } catch {
        parsed = { text };
      }
      return {
        attempt: {
          node: node.name,
          status: response.status,
          code: parsed.code,
          contentType: response.headers.get('content-type') ?? undefined,
          retryAfter: response.headers.get('retry-after') ?? undefined,
          ms: Date.now() - began,
        },
        body: parsed,
        headers: response.headers,
      };
    } catch (error) {
      return {
        attempt: { node: node.name, status: 0, error: connectionError(error), ms: Date.now() - began },
        body: {},
      };
    }
  }

  return {
    /**
     * One logical request: sent to the next node in turn; a connection error or a 503 moves it to the next node
     * (after Retry-After, at most 1 s, on a 503) until it gets another answer or the deadline passes.
     */
    async send(
      method: string,
      path: string,
      init: { token?: string; body?: unknown; raw?: { body: Buffer; headers: Record<string, string> } } = {},
    ): Promise<Outcome> {
      const deadline = Date.now() + deadlineMs;
      const attempts: Attempt[] = [];
      let ambiguous = false;
      for (;;) {
        const node = apis[next++ % apis.length]!;
        const result = await attempt(node, method, path, init);
        attempts.push(result.attempt);
        const { status } = result.attempt;
        const retry = status === 0 || status === 503;
        if (!retry || Date.now() > deadline) {
          return { status, body: result.body, headers: result.headers, attempts, ambiguous };
        }
        if (status === 503 || !NOT_SENT.has(result.attempt.error ?? '')) ambiguous = true;
        const after = Number(result.headers?.get('retry-after') ?? 0);
        await sleep(status === 503 ? Math.min(Math.max(after, 0.05), 1) * 1000 * Math.random() : 20);
      }
    },
  };
}

export type Client = ReturnType<typeof createClient>;

/** A tally of every attempt's status (0: connection error), across many requests. */
export function tally(outcomes: Outcome[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const outcome of outcomes)
    for (const attempt of outcome.attempts) {
      const key = attempt.status === 0 ? `conn:${attempt.error}` : String(attempt.status);
      counts[key] = (counts[key] ?? 0) + 1;
    }
  return counts;
}

/** How long the logical requests took, retries included (ms): median, 99th percentile, slowest. */
export function latency(outcomes: Outcome[]): string {
  const times = outcomes.map((o) => o.attempts.reduce((sum, a) => sum + a.ms, 0)).sort((a, b) => a - b);
  const at = (q: number) => times[Math.min(times.length - 1, Math.floor(q * times.length))] ?? 0;
  return `p50 ${at(0.5)} ms, p99 ${at(0.99)} ms, max ${times.at(-1) ?? 0} ms`;
}

/**
 * Runs `work(n)` in `concurrency` loops until `until()` says stop; returns every result. Each loop starts its next
 * request when its previous one ends, as a client pool at full speed does.
 */
export async function load<T>(options: {
  concurrency: number;
  until: () => boolean;
  work: (n: number) => Promise<T>;
}): Promise<T[]> {
  const results: T[] = [];
  let n = 0;
  await Promise.all(
    Array.from({ length: options.concurrency }, async () => {
      while (!options.until()) results.push(await options.work(n++));
    }),
  );
  return results;
}
